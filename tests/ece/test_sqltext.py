"""Statements assembled at run time are parsed once (ece.sqltext)."""

from __future__ import annotations

from ece.sqltext import sql_text


def test_the_same_statement_is_one_object_with_its_bind_parameters():
    sql = "SELECT 1 FROM resource r WHERE r.resource_type = :p0 AND r.id = ANY(CAST(:p1 AS text[]))"

    first, again = sql_text(sql), sql_text(" ".join(sql.split(" ")))

    assert first is again
    assert set(first._bindparams) == {"p0", "p1"}
    assert sql_text(sql + " LIMIT :limit") is not first
