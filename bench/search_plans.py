"""``EXPLAIN (ANALYZE, BUFFERS)`` of the SQL the server runs for a search, reproduced in-process.

The statements are built the way ``ece.search.search`` builds them (``parse_request``, ``filters_sql``,
``page_sql``; then ``ece.search.include``'s statements for ``_include``/``_revinclude``) and run directly
on the database with their bound values rendered as literals (the planner's "custom plan"). The server's
driver (psycopg 3, ``prepare_threshold`` 5) prepares a statement after five executions on a connection and
PostgreSQL may then switch to a generic plan: ``auto_plan`` reproduces that choice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import psycopg
from psycopg import sql as pgsql

from ece.search import COUNT_COST_LIMIT, DEFAULT_COUNT_CAP, count_sql, page_count_scan
from ece.search import include as inc
from ece.search.query import filters_sql, page_sql, parse_request
from ece.search.terminology import TerminologyCache

BIG_TABLES = ("resource", "resource_history", "search_token", "search_string", "search_date", "search_reference",
              "search_number", "search_quantity", "search_uri", "search_composite", "search_text")
SEQ_SCAN_ROWS = 5000  # a sequential scan reading more rows than this is flagged
_BIND = re.compile(r"(?<![:\w]):(\w+)")
_SEQ = re.compile(r"(Parallel )?Seq Scan on (\w+)")
_ROWS = re.compile(r"actual time=[\d.]+\.\.[\d.]+ rows=(\d+) loops=(\d+)")
_REMOVED = re.compile(r"Rows Removed by Filter: (\d+)")


@dataclass
class Statement:
    label: str  # page, count, include, revinclude
    sql: str
    params: dict
    generic: bool = False  # the server runs it on a generic plan (ece.search.query.Statement.generic_plan)


@dataclass
class Plan:
    label: str
    lines: list[str]
    execution_ms: float
    planning_ms: float
    seq_scans: list[str] = field(default_factory=list)  # "table: N rows read"
    generic: bool = False


def connect(url: str, timeout_s: float = 0) -> psycopg.Connection:
    """A connection of the bench's own, with its own statement timeout (0: none; not the database's)."""
    conn = psycopg.connect(url, autocommit=True,
                           options=f"-c TimeZone=UTC -c statement_timeout={int(timeout_s * 1000)}")
    conn.prepare_threshold = None  # only the explicit PREPARE of auto_plan: psycopg prepares nothing itself
    return conn


def statements(conn: psycopg.Connection, resource_type: str, pairs: list[tuple[str, str]]) -> list[Statement]:
    """The statements of one search request, in the order the server runs them."""
    request = parse_request([resource_type], pairs, strict=False)
    statement = filters_sql(request, strict=False, terminology=TerminologyCache())  # the mix uses no :in
    count_scan = page_count_scan(request, statement, None)
    page = Statement("page", page_sql(request, statement, count_scan=count_scan), dict(statement.sql.params),
                     statement.generic_plan)
    out = [page]
    rows = [(r[0], r[1]) for r in conn.execute(render(conn, page.sql, page.params)).fetchall()]
    count = None if count_scan is not None else _count(conn, request, statement,
                                        whole=request.cursor is None and len(rows) <= request.count)
    out += [count] if count is not None else []
    if request.includes or request.revincludes:
        matches = rows[: request.count]
        for include, reverse in [*((i, False) for i in request.includes), *((i, True) for i in request.revincludes)]:
            text, params = inc.include_statement(include, matches, reverse=reverse)
            out.append(Statement("revinclude" if reverse else "include", text, params, generic=True))
    return out


def _count(conn: psycopg.Connection, request, statement, *, whole: bool) -> Statement | None:
    """The count ``ece.search._total`` runs after the page, when the page did not count (``page_count_scan``): none
    by default when the page holds every match or when the planner expects the capped count to cost more than
    ``COUNT_COST_LIMIT``."""
    if request.total == "none":
        return None
    if request.total == "accurate":
        return Statement("count", count_sql(statement), dict(statement.sql.params))
    if whole:
        return None
    capped = Statement("count", count_sql(statement, capped=True),
                       {**statement.sql.params, "count_cap": DEFAULT_COUNT_CAP + 1})
    plan = conn.execute("EXPLAIN (FORMAT JSON) " + render(conn, capped.sql, capped.params)).fetchone()[0]
    return capped if plan[0]["Plan"]["Total Cost"] <= COUNT_COST_LIMIT else None


def render(conn: psycopg.Connection, text: str, params: dict) -> str:
    """The statement with its bound values as SQL literals."""
    def literal(match: re.Match) -> str:
        name = match.group(1)
        return pgsql.Literal(params[name]).as_string(conn) if name in params else match.group(0)

    return _BIND.sub(literal, text)


def _numbered(text: str, params: dict) -> tuple[str, list[str]]:
    order: list[str] = []

    def number(match: re.Match) -> str:
        name = match.group(1)
        if name not in params:
            return match.group(0)
        if name not in order:
            order.append(name)
        return f"${order.index(name) + 1}"

    return _BIND.sub(number, text), order


def explain(conn: psycopg.Connection, statement: Statement) -> Plan:
    """The custom plan: values known to the planner, as on the first executions on a connection."""
    rows = conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + render(conn, statement.sql, statement.params)).fetchall()
    return _plan(statement.label, [r[0] for r in rows])


def auto_plan(conn: psycopg.Connection, statement: Statement, *, forced: bool = False) -> Plan:
    """The plan PostgreSQL settles on for a prepared statement (plan_cache_mode auto) after the five custom
    plans it always tries first: what a server connection would run once psycopg has prepared the statement,
    were its sessions not held to custom plans (app.db). Plain ``EXPLAIN EXECUTE`` goes through the plan cache
    too, so the five tries cost planning only. ``forced``: the generic plan, as the server runs the statements
    that ask for one (ece.sqltext.fetch_rows)."""
    text, order = _numbered(statement.sql, statement.params)
    arguments = ", ".join(pgsql.Literal(statement.params[name]).as_string(conn) for name in order)
    conn.execute(f"PREPARE bench_q AS {text}")
    try:
        conn.execute(f"SET plan_cache_mode = {'force_generic_plan' if forced else 'auto'}")
        for _ in range(0 if forced else 5):
            conn.execute(f"EXPLAIN EXECUTE bench_q({arguments})").fetchall()
        rows = conn.execute(f"EXPLAIN (ANALYZE, BUFFERS) EXECUTE bench_q({arguments})").fetchall()
    finally:
        conn.execute("RESET plan_cache_mode")
        conn.execute("DEALLOCATE bench_q")
    plan = _plan(statement.label, [r[0] for r in rows])
    plan.generic = any(re.search(r"\$\d", line) for line in plan.lines)
    return plan


def _plan(label: str, lines: list[str]) -> Plan:
    execution = planning = 0.0
    for line in lines:
        if line.startswith("Execution Time:"):
            execution = float(line.split()[2])
        elif line.startswith("Planning Time:"):
            planning = float(line.split()[2])
    return Plan(label, lines, execution, planning, _seq_scans(lines))


def _seq_scans(lines: list[str]) -> list[str]:
    found = []
    for position, line in enumerate(lines):
        seq = _SEQ.search(line)
        rows = _ROWS.search(line)
        if not seq or not rows or seq.group(2) not in BIG_TABLES:
            continue
        removed = 0
        indent = len(line) - len(line.lstrip())
        for detail in lines[position + 1:]:
            if len(detail) - len(detail.lstrip()) <= indent:
                break
            if m := _REMOVED.search(detail):
                removed = int(m.group(1))
        read = (int(rows.group(1)) + removed) * int(rows.group(2))
        if read >= SEQ_SCAN_ROWS:
            found.append(f"{seq.group(2)}: {read:,} rows read")
    return found


def measure(conn: psycopg.Connection, statement: Statement) -> tuple[Plan, Plan]:
    """(custom plan, prepared plan) of a statement, the prepared one being the generic plan the server runs for a
    ``generic`` statement and auto's otherwise; the custom one on a warm cache unless it is slow; a statement
    cancelled by the connection's statement timeout gives a plan that says so."""
    try:
        custom = explain(conn, statement)
        if custom.execution_ms < 1000:
            custom = explain(conn, statement)
    except psycopg.errors.QueryCanceled:
        custom = _timed_out(conn, statement.label)
    try:
        prepared = auto_plan(conn, statement, forced=statement.generic)
    except psycopg.errors.QueryCanceled:
        prepared = _timed_out(conn, statement.label)
    return custom, prepared


def _timed_out(conn: psycopg.Connection, label: str) -> Plan:
    timeout = conn.execute("SHOW statement_timeout").fetchone()[0]
    return Plan(label, [f"(cancelled by statement_timeout = {timeout}: no plan)"], float("inf"), 0.0)


_NOISE = ("Buffers:", "I/O Timings:", "Batches:", "Cache Key:", "Cache Mode:", "Hits:", "Sort Method:", "Planning",
          "Execution")


def compact(plan: Plan, top: int = 22, width: int = 180) -> list[str]:
    """The first ``top`` lines of the plan (without buffers, cache and sort details), then the timings."""
    body = [line for line in plan.lines if not line.strip().startswith(_NOISE)]
    shown = [("      " + line)[:width] for line in body[:top]]
    if len(body) > top:
        shown.append(f"      … {len(body) - top} more plan lines")
    return shown
