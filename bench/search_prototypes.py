"""Prototypes tried on the bench database only (never on ece/): what a query shape or a setting would change.

* 1, scalar type: ``filters_sql`` restricts the rows with ``r.resource_type = ANY(CAST(:types AS text[]))``,
  which is no equality for the planner, so the constant type never reaches the index tables' EXISTS
  (``x.resource_type = r.resource_type``) and their ``(resource_type, param, ...)`` indexes are scanned
  whole, or not used. With one type, ``r.resource_type = :type`` lets the equivalence class carry it.
  The statements are rewritten here and explained before and after.
* 2, a date index: ``search_date (resource_type, param, high)`` for the ``ge``/``gt`` prefixes, with the
  bound that ``ge`` implies written out.
* 3, a date range: both bounds of the birthdate range in one EXISTS, and a GiST index over
  tstzrange(low, high).
* 4, custom plans: ``plan_cache_mode = force_custom_plan`` set on the bench database (what
  ``prepare_threshold=None`` or that option in the server's connection would do), the server restarted
  and the mix measured again (``bench.search.custom_plans``).
"""

from __future__ import annotations

import random
import re
import time
from dataclasses import dataclass
from urllib.parse import urlencode

from bench import population, search_mix, search_plans
from bench.search_plans import Statement

_ANY_TYPE = re.compile(r"r\.resource_type = ANY\(CAST\(:(\w+) AS text\[\]\)\)")


@dataclass(frozen=True)
class Sample:
    label: str
    resource_type: str
    pairs: list[tuple[str, str]]

    @property
    def query(self) -> str:
        return urlencode(self.pairs)


def samples(seed: int, patients: int) -> list[Sample]:
    """One request of each type, about patients drawn (seeded) from the loaded ones."""
    rng = random.Random(seed + 7)
    out = []
    for label, resource_type in search_mix.QUERIES:
        key = population.patient_key(seed, rng.randrange(patients))
        out.append(Sample(label, resource_type, search_mix.params(label, key, rng)))
    return out


def scalar_type(statement: Statement) -> Statement | None:
    """The statement with ``r.resource_type = :type`` for a single type; None when it does not apply."""
    match = _ANY_TYPE.search(statement.sql)
    if not match or len(statement.params.get(match.group(1)) or []) != 1:
        return None
    name = match.group(1)
    params = {**statement.params, name: statement.params[name][0]}
    return Statement(statement.label, _ANY_TYPE.sub(f"r.resource_type = :{name}", statement.sql), params)


Measured = dict[tuple[str, str], tuple[Statement, search_plans.Plan, search_plans.Plan]]


def scalar_type_block(url: str, measured: Measured, timeout_s: float) -> list[str]:
    """Prototype 1 on every statement of ``measured`` ((query, statement) -> statement, custom, prepared)."""
    lines = ["Prototype 1 (query shape, SQL rewritten here; ece/ unchanged): r.resource_type = :type instead of "
             "r.resource_type = ANY(CAST(:types AS text[])) for a single type. Execution ms of the custom plan and "
             "of the prepared one (G = generic plan, C = custom plan kept):",
             f"    {'query':<20} {'stmt':<6} {'custom now':>11} {'-> scalar':>10} {'prepared now':>13} "
             f"{'-> scalar':>10}  seq scans now -> scalar"]
    shown: list[str] = []
    with search_plans.connect(url, timeout_s) as conn:
        for (label, _stmt), (statement, now_custom, now_prepared) in measured.items():
            rewritten = scalar_type(statement)
            if rewritten is None:
                continue
            new_custom, new_prepared = search_plans.measure(conn, rewritten)
            scans = (f"{len(now_custom.seq_scans) + len(now_prepared.seq_scans)} -> "
                     f"{len(new_custom.seq_scans) + len(new_prepared.seq_scans)}")
            lines.append(f"    {label:<20} {statement.label:<6} {now_custom.execution_ms:11.2f} "
                         f"{new_custom.execution_ms:10.2f} {_kind(now_prepared):>13} {_kind(new_prepared):>10}  "
                         f"{scans}")
            if label in ("identifier", "birthdate") and statement.label == "count":
                shown += [f"      {label} count with the scalar type (custom plan):",
                          *search_plans.compact(new_custom, top=12)]
    return lines + shown


DATE_INDEX = "bench_proto_search_date_high"
# ece.search.clauses.date_condition's ``ge``: (high > :e OR (low >= :s AND high <= :e)). Both branches imply
# high > :s (a range is never empty), which an index on high can range-scan.
_GE = re.compile(r"\((x\d+)\.high > (:\w+) OR \(\1\.low >= (:\w+) AND \1\.high <= \2\)\)")


def bounded_ge(statement: Statement) -> Statement:
    """The statement with the implied ``high > :s`` added in front of every ``ge`` date condition."""
    return Statement(statement.label, _GE.sub(r"(\1.high > \3 AND (\1.high > \2 OR (\1.low >= \3 AND "
                                              r"\1.high <= \2)))", statement.sql), statement.params)


def date_index_block(url: str, measured: Measured, timeout_s: float) -> list[str]:
    """Prototype 2: an index on search_date (resource_type, param, high) for the ge/gt prefixes, whose
    condition ``high > :e OR (low >= :s AND high <= :e)`` cannot range-scan the (…, low, high) index, with
    the scalar type of prototype 1 and the implied bound ``high > :s`` written out."""
    dated = {k: v for k, v in measured.items() if k[0] in ("birthdate", "obs code+date")}
    if not dated:
        return []
    lines = [f"Prototype 2 (index + query shape, bench database only, index dropped afterwards): CREATE INDEX "
             f"{DATE_INDEX} ON search_date (resource_type, param, high), and ge written with its implied bound "
             "(x.high > :start AND (x.high > :end OR (x.low >= :start AND x.high <= :end))); custom-plan ms, "
             "then the prepared plan of the last column:",
             f"    {'query':<20} {'stmt':<6} {'now':>9} {'scalar':>9} {'+index':>9} {'+ge bound':>10} {'prepared':>10}"]
    with search_plans.connect(url, timeout_s) as conn:
        scalar = {k: search_plans.measure(conn, scalar_type(v[0]) or v[0])[0] for k, v in dated.items()}
        began = time.perf_counter()
        conn.execute(f"CREATE INDEX {DATE_INDEX} ON search_date (resource_type, param, high)")
        conn.execute("ANALYZE search_date")
        built = time.perf_counter() - began
        shown: list[str] = []
        try:
            for key, (statement, now_custom, _prepared) in dated.items():
                indexed = search_plans.measure(conn, scalar_type(statement) or statement)[0]
                bounded, prepared = search_plans.measure(conn, bounded_ge(scalar_type(statement) or statement))
                lines.append(f"    {key[0]:<20} {statement.label:<6} {now_custom.execution_ms:9.2f} "
                             f"{scalar[key].execution_ms:9.2f} {indexed.execution_ms:9.2f} "
                             f"{bounded.execution_ms:10.2f} {_kind(prepared):>10}")
                if statement.label == "count":
                    shown += [f"      {key[0]} count, scalar type + index + ge bound (custom plan):",
                              *search_plans.compact(bounded, top=14)]
        finally:
            conn.execute(f"DROP INDEX IF EXISTS {DATE_INDEX}")
    return [*lines, f"    (index built in {built:.1f} s)", *shown]


RANGE_INDEX = "bench_proto_search_date_range"


def merged_range(resource_type: str, pairs: list[tuple[str, str]]) -> list[Statement]:
    """count and page of a search whose only filters are ``ge``/``lt`` bounds of one single-valued date
    parameter, written as ONE EXISTS whose rows must overlap [ge start, lt start) (what both bounds imply),
    an overlap a GiST index over tstzrange(low, high) answers in proportion to the matches."""
    from ece.dates import date_range
    from ece.search.clauses import Context, Sql, date_condition
    from ece.search.query import Statement as QueryStatement
    from ece.search.query import page_sql, parse_request

    request = parse_request([resource_type], pairs, strict=False)
    name = request.filters[0][0]
    sql = Sql()
    ctx = Context(sql, None)
    starts = {v[:2]: date_range(v[2:])[0] for _n, v in request.filters}  # type: ignore[index]
    conditions = [date_condition(ctx, "x.low", "x.high", v, name) for _n, v in request.filters]
    where = (f"r.resource_type = {sql.bind(resource_type)} AND NOT r.deleted AND EXISTS (SELECT 1 FROM search_date x "
             f"WHERE x.resource_type = r.resource_type AND x.resource_id = r.id AND x.param = {sql.bind(name)} "
             f"AND tstzrange(x.low, x.high) && tstzrange({sql.bind(starts['ge'])}, {sql.bind(starts['lt'])}) "
             f"AND {' AND '.join(conditions)})")
    count = Statement("count", f"SELECT count(*) FROM resource r WHERE {where}", dict(sql.params))
    page = page_sql(request, QueryStatement(sql, where))
    return [count, Statement("page", page, dict(sql.params))]


def range_index_block(url: str, measured: Measured, seed: int, patients: int, timeout_s: float,
                      extra: int = 2) -> list[str]:
    """Prototype 3: the birthdate range as one EXISTS + a GiST index (resource_type, param, tstzrange), on the
    sample of the plans above and ``extra`` more (which plan wins depends on the year)."""
    chosen = [c for c in samples(seed, patients) if c.label == "birthdate"]
    if not chosen:
        return []
    rng = random.Random(seed + 11)
    for _ in range(extra):
        key = population.patient_key(seed, rng.randrange(patients))
        chosen.append(Sample("birthdate", "Patient", search_mix.params("birthdate", key, rng)))
    lines = ["Prototype 3 (query shape + index, bench database only, dropped afterwards): the two bounds of "
             "Patient?birthdate=ge..&birthdate=lt.. in ONE EXISTS (valid for a single-valued parameter) with the "
             "overlap both imply, tstzrange(x.low, x.high) && tstzrange(:ge, :lt), and CREATE INDEX "
             f"{RANGE_INDEX} ON search_date USING gist (resource_type, param, tstzrange(low, high)) (btree_gist); "
             "custom-plan ms, then the prepared plan of the last column:",
             f"    {'range':<27} {'stmt':<6} {'now':>9} {'one EXISTS':>11} {'+gist':>9} {'prepared':>10}"]
    with search_plans.connect(url, timeout_s) as conn:
        merged = [(c, m) for c in chosen for m in merged_range(c.resource_type, c.pairs)]
        now = {}
        for position, (sample, statement) in enumerate(merged):
            known = measured.get(("birthdate", statement.label)) if position < 2 else None  # the sample above
            now[id(statement)] = known[1] if known else \
                search_plans.measure(conn, _unmerged(conn, sample, statement.label))[0]
        before = {id(m): search_plans.measure(conn, m)[0] for _c, m in merged}
        created = not conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'btree_gist'").fetchone()
        conn.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        began = time.perf_counter()
        conn.execute(f"CREATE INDEX {RANGE_INDEX} ON search_date USING gist (resource_type, param, "
                     "tstzrange(low, high))")
        conn.execute("ANALYZE search_date")
        built = time.perf_counter() - began
        shown: list[str] = []
        try:
            for sample, statement in merged:
                custom, prepared = search_plans.measure(conn, statement)
                span = f"{sample.pairs[0][1]}..{sample.pairs[1][1]}"
                lines.append(f"    {span:<27} {statement.label:<6} {now[id(statement)].execution_ms:9.2f} "
                             f"{before[id(statement)].execution_ms:11.2f} {custom.execution_ms:9.2f} "
                             f"{_kind(prepared):>10}")
                if statement.label == "count" and (not shown or custom.execution_ms < 1):
                    shown = [f"      {span} count, one EXISTS + GiST (custom plan):",
                             *search_plans.compact(custom, top=12)]
        finally:
            conn.execute(f"DROP INDEX IF EXISTS {RANGE_INDEX}")
            if created:
                conn.execute("DROP EXTENSION IF EXISTS btree_gist")
    return [*lines, f"    (index built in {built:.1f} s)", *shown]


def _unmerged(conn, sample: Sample, label: str) -> Statement:
    return next(s for s in search_plans.statements(conn, sample.resource_type, sample.pairs) if s.label == label)


def _kind(plan: search_plans.Plan) -> str:
    return f"{'G' if plan.generic else 'C'} {plan.execution_ms:.2f}"


def set_plan_cache_mode(url: str, mode: str | None) -> None:
    """``ALTER DATABASE … SET plan_cache_mode`` (new sessions only); None resets it."""
    with search_plans.connect(url) as conn:
        database = conn.execute("SELECT current_database()").fetchone()[0]
        if mode is None:
            conn.execute(f'ALTER DATABASE "{database}" RESET plan_cache_mode')
        else:
            conn.execute(f'ALTER DATABASE "{database}" SET plan_cache_mode = {mode}')


def compare_block(before, after) -> list[str]:
    """Per query type and for the mix, before -> after (``bench.search.SizeResult`` each): p50 / p95 in the
    mix, and the median latency alone (one client, after the mix: the plans a warm server keeps)."""
    lines = [f"    {'query':<20} {'p50 now':>8} {'-> custom':>10} {'p95 now':>8} {'-> custom':>10} "
             f"{'alone now':>10} {'-> custom':>10}"]
    for label in [*(q for q, _ in search_mix.QUERIES), "whole mix"]:
        a = before.mix.mix if label == "whole mix" else before.mix.per_query[label]
        b = after.mix.mix if label == "whole mix" else after.mix.per_query[label]
        alone = ""
        if label in before.shapes and label in after.shapes:
            alone = f" {before.shapes[label].alone_ms:10.1f} {after.shapes[label].alone_ms:10.1f}"
        lines.append(f"    {label:<20} {a.percentile(50):8.1f} {b.percentile(50):10.1f} {a.percentile(95):8.1f} "
                     f"{b.percentile(95):10.1f}{alone}")
    lines.append(f"    requests/s {before.mix.mix.requests_per_s:,.1f} -> {after.mix.mix.requests_per_s:,.1f}; "
                 f"errors {before.mix.mix.errors} -> {after.mix.mix.errors}")
    return lines
