"""Tables of the record store (SQLAlchemy Core). Only ``ece.store`` writes them.

- ``resource``: the current version of every resource (deleted ones kept as tombstones).
- ``resource_history``: every version, in commit order (``seq``), for vread and _history.
- ``search_*``: search-index rows of current versions, one table per parameter type
  (R4 search.html#ptypes), written in the same transaction as the resource; ``search_text`` holds one row
  per resource for the full-text parameters ``_text`` and ``_content`` (R4 search.html#text).

``content`` is the client's JSON text with the server's id and meta spliced in (lossless storage).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    MetaData,
    Numeric,
    Table,
    Text,
    UniqueConstraint,
    case,
    func,
    literal_column,
)
from sqlalchemy.dialects.postgresql import TSVECTOR

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

resource = Table(
    "resource",
    metadata,
    Column("resource_type", Text, primary_key=True),
    Column("id", Text, primary_key=True),
    Column("version_id", Integer, nullable=False),
    Column("last_updated", DateTime(timezone=True), nullable=False),
    Column("deleted", Boolean, nullable=False),
    Column("content", Text, nullable=True),
    Index(None, "resource_type", "last_updated"),
)

resource_history = Table(
    "resource_history",
    metadata,
    Column("seq", BigInteger, Identity(always=True), primary_key=True),
    Column("resource_type", Text, nullable=False),
    Column("id", Text, nullable=False),
    Column("version_id", Integer, nullable=False),
    Column("last_updated", DateTime(timezone=True), nullable=False),
    # The interaction that made this version: POST, PUT, PATCH or DELETE (Bundle.entry.request.method).
    Column("method", Text, nullable=False),
    Column("deleted", Boolean, nullable=False),
    Column("content", Text, nullable=True),
    UniqueConstraint("resource_type", "id", "version_id"),
    Index(None, "last_updated"),
    Index(None, "resource_type", "seq"),
)


def _index_table(name: str, *columns: Column, indexes: tuple[tuple[str, ...], ...],
                 per_resource: Index | None = None) -> Table:
    """``per_resource``: the index that finds a resource's rows, (resource_type, resource_id) unless given."""
    table = Table(
        name,
        metadata,
        Column("resource_type", Text, nullable=False),
        Column("resource_id", Text, nullable=False),
        Column("param", Text, nullable=False),
        *columns,
        per_resource if per_resource is not None else Index(None, "resource_type", "resource_id"),
    )
    for cols in indexes:
        Index(None, *(table.c[c] for c in cols))
    return table


search_token = _index_table(
    "search_token",
    Column("system", Text, nullable=True),
    Column("code", Text, nullable=True),
    # Folded CodeableConcept.text / Coding.display / Identifier.type.text, for :text.
    Column("text", Text, nullable=True),
    indexes=(("resource_type", "param", "code", "system"),),
)

search_string = _index_table(
    "search_string",
    # ``value`` is folded (lower case, no accents) for the default and :contains matches;
    # ``exact`` is the value as written, for :exact.
    Column("value", Text, nullable=False),
    Column("exact", Text, nullable=False),
    # False for the extra rows of a name's later words ("zelaya" of "Pérez Zelaya"): _sort uses whole values.
    Column("whole", Boolean, nullable=False, server_default="true"),
    indexes=(),
)
# Migration 0012: prefix matches (text_pattern_ops) that name their resources from the index alone.
Index("ix_search_string_resource_type_param_value", search_string.c.resource_type, search_string.c.param,
      search_string.c.value, postgresql_ops={"value": "text_pattern_ops"}, postgresql_include=["resource_id"])

search_date = _index_table(
    "search_date",
    # Half-open range [low, high) implied by the value's precision (R4 search.html#date).
    Column("low", DateTime(timezone=True), nullable=False),
    Column("high", DateTime(timezone=True), nullable=False),
    indexes=(),
    # Migration 0012: a resource's date conditions checked from the index alone (index-only scans).
    per_resource=Index(None, "resource_type", "resource_id", "param", postgresql_include=["low", "high"]),
)
# Migration 0007_search_date_spans: a GiST index over each row's closed span (NULL when low > high), for the
# range operators of ece.search.clauses, and the rows without a span. Migration 0013: it carries the row's
# resource and ends, so a range on a parameter without Periods is an index-only scan.
Index("ix_search_date_resource_type_param_span", search_date.c.resource_type, search_date.c.param,
      case((search_date.c.low <= search_date.c.high,
            func.tstzrange(search_date.c.low, search_date.c.high, literal_column("'[]'")))),
      postgresql_using="gist", postgresql_include=["resource_id", "low", "high"])
Index("ix_search_date_resource_type_param_inverted", search_date.c.resource_type, search_date.c.param,
      postgresql_where=search_date.c.low > search_date.c.high)
# Migration 0014: each end in key order, for searches sorted on a date (ece.search.walk.page_sql).
for _end in ("low", "high"):
    Index(f"ix_search_date_resource_type_param_{_end}_resource_id", search_date.c.resource_type,
          search_date.c.param, search_date.c[_end], search_date.c.resource_id)

search_reference = _index_table(
    "search_reference",
    Column("target_type", Text, nullable=True),
    Column("target_id", Text, nullable=True),
    # Absolute or canonical references that do not point into this server.
    Column("url", Text, nullable=True),
    # Reference.identifier, for :identifier (R4 search.html#modifiers).
    Column("id_system", Text, nullable=True),
    Column("id_value", Text, nullable=True),
    indexes=(("resource_type", "param", "target_id", "target_type"), ("target_type", "target_id")),
)

search_number = _index_table("search_number", Column("value", Numeric, nullable=False),
                             indexes=(("resource_type", "param", "value"),))

search_quantity = _index_table(
    "search_quantity",
    Column("value", Numeric, nullable=False),
    Column("system", Text, nullable=True),
    Column("code", Text, nullable=True),
    Column("unit", Text, nullable=True),
    # The value in UCUM base units and those units (ece.ucum), for a UCUM code the server reads; NULL otherwise,
    # and for rows written before migration 0010 until ``ece reindex``.
    Column("canonical_value", Numeric, nullable=True),
    Column("canonical_code", Text, nullable=True),
    indexes=(("resource_type", "param", "code", "value"),),
)
# Migration 0010_quantity_canonical; named, as the convention's name would pass PostgreSQL's 63 characters.
Index("ix_search_quantity_canonical", search_quantity.c.resource_type, search_quantity.c.param,
      search_quantity.c.canonical_code, search_quantity.c.canonical_value)

search_uri = _index_table("search_uri", Column("value", Text, nullable=False),
                          indexes=(("resource_type", "param", "value"),))

# Two-part composites (code$value): the first part a token, the second in the columns of its type.
search_composite = _index_table(
    "search_composite",
    Column("c1_system", Text), Column("c1_code", Text),
    Column("t2_system", Text), Column("t2_code", Text),
    Column("q2_value", Numeric), Column("q2_system", Text), Column("q2_code", Text),
    Column("q2_canonical_value", Numeric), Column("q2_canonical_code", Text),
    Column("d2_low", DateTime(timezone=True)), Column("d2_high", DateTime(timezone=True)),
    Column("s2_value", Text),
    indexes=(("resource_type", "param", "c1_code"),),
)

# One row per current resource (ece.fulltext): its narrative's words (_text) and all its text's words, the
# narrative included (_content), as tsvectors of the ``simple`` configuration over folded text. The GIN indexes
# answer ``@@`` (migration 0011_full_text).
search_text = Table(
    "search_text",
    metadata,
    Column("resource_type", Text, nullable=False),
    Column("resource_id", Text, nullable=False),
    Column("narrative", TSVECTOR, nullable=False),
    Column("content", TSVECTOR, nullable=False),
    Index(None, "resource_type", "resource_id"),
)
Index("ix_search_text_narrative", search_text.c.narrative, postgresql_using="gin")
Index("ix_search_text_content", search_text.c.content, postgresql_using="gin")
