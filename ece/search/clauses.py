"""SQL conditions for search parameters (R4 search.html): one ``EXISTS`` over the parameter's index table
per parameter, modifiers per parameter type (prefixed values: ece.search.prefixes), chains and reverse chains
(``_has``).

Everything is bound, never interpolated: only table and column names that come from code reach the SQL.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from ece.dates import fold
from ece.errors import BadRequest, Issue
from ece.fulltext import PARAMETERS as FULL_TEXT_PARAMETERS
from ece.fulltext import supports as supports_full_text
from ece.indexing import OF_TYPE, IndexedParam, identifier_valued, indexed_param
from ece.references import local_reference
from ece.resource_types import is_served
from ece.search.prefixes import date_condition, date_span, number_value, quantity_condition
from ece.search.values import bad, split_escaped, split_or, unescape

TABLES = {"token": "search_token", "string": "search_string", "date": "search_date",
          "reference": "search_reference", "number": "search_number", "quantity": "search_quantity",
          "uri": "search_uri", "composite": "search_composite"}
MODIFIERS = {
    "token": {"missing", "not", "text", "in", "not-in", "below", "above", "of-type"},
    "string": {"missing", "exact", "contains"},
    "date": {"missing"},
    "reference": {"missing", "identifier"},
    "number": {"missing"},
    "quantity": {"missing"},
    "uri": {"missing", "above", "below"},
    "composite": {"missing"},
}
MAX_CHAIN_DEPTH = 4


class UnknownParameter(BadRequest):
    """A parameter this server does not know: ignored under ``Prefer: handling=lenient``."""


@dataclass
class Sql:
    """Bound parameters and fresh aliases for one statement."""

    params: dict[str, Any] = field(default_factory=dict)
    aliases: int = 0

    def bind(self, value: Any) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f":{name}"

    def alias(self, prefix: str) -> str:
        self.aliases += 1
        return f"{prefix}{self.aliases}"


class Terminology(Protocol):
    """What the token modifiers need, loaded before the SQL is built (ece.search.terminology)."""

    def codes(self, value_set: str, raw_name: str) -> frozenset[str]:
        """The "system|code" strings a ValueSet reference expands to (``:in``, ``:not-in``)."""

    def subsumed(self, value: str, modifier: str, raw_name: str) -> tuple[str, list[str]]:
        """The system and codes ``system|code`` subsumes (``:below``) or is subsumed by (``:above``)."""


# (bind, alias, the row's possible types or None) -> the SQL condition under which the ``resource`` row ``alias``
# may be shown to the actor (ece.access.policy); joined resources of chains and ``_has`` obey it too, or they
# would reveal what a read refuses. It reads the row's resource_type and id only: a search on one condition gives
# it the rows of an index table under that alias (ece.search.query.Statement.rows).
Visibility = Callable[[Callable[[Any], str], str, Sequence[str] | None], str]


@dataclass
class Context:
    sql: Sql
    terminology: Terminology
    visible: Visibility | None = None

    def visible_sql(self, alias: str, resource_type: str) -> str:
        return "" if self.visible is None else f" AND {self.visible(self.sql.bind, alias, [resource_type])}"


def _or(conditions: list[str]) -> str:
    return conditions[0] if len(conditions) == 1 else "(" + " OR ".join(conditions) + ")"


def lookup(resource_types: list[str], name: str, raw_name: str) -> IndexedParam:
    """The parameter ``name`` as defined on every one of ``resource_types`` (one type but for system search)."""
    found = [indexed_param(t, name) for t in resource_types]
    if not found or any(p is None for p in found) or len({p.type for p in found if p}) != 1:
        raise unknown(resource_types, raw_name)
    if len({p.ordered_spans for p in found if p}) > 1:  # system search: one type's dates may be Periods
        return replace(found[0], ordered_spans=False)  # type: ignore[arg-type]
    return found[0]  # type: ignore[return-value]


def unknown(resource_types: list[str], raw_name: str) -> UnknownParameter:
    return UnknownParameter([Issue("not-supported", f"Parámetro de búsqueda '{raw_name}': desconocido o no admitido "
                                                    f"para {', '.join(resource_types[:5])} / unknown or unsupported "
                                                    "parameter", (raw_name,))])


@dataclass(frozen=True)
class Condition:
    """The condition of one search pair on a ``resource`` row, and whether it holds only for a resource with index
    rows of its own that match (an EXISTS over them, not a NOT EXISTS, a column or other resources' rows). A
    deletion removes a resource's index rows in the same statement (ece.store), so such a condition implies a live
    resource and the search can leave ``NOT deleted`` out (ece.search.query.Statement)."""

    sql: str
    on_own_rows: bool
    # For an EXISTS over one index table: the SELECT of (resource_type, id) of its matching rows, one per row,
    # from which a search on this condition alone reads its resources directly (ece.search.query.Statement.rows).
    index_rows: str | None = None
    # Whether it matches a handful of resources whatever the size of the record: ids, one identifier, the
    # resources of given patients. A search sorted under such a condition sorts its few matches rather than
    # walking the sort key's index (ece.search.query.page_sql).
    bounded: bool = False
    # Whether it reads columns of the ``resource`` row beyond its type and id (``_lastUpdated``): then index rows
    # cannot stand for the row (ece.search.query.Statement.keyed_where).
    reads_row: bool = False
    # Whether it names its resources by a key of their own (ids, an identifier, a patient's reference), not through
    # a chain: a search on such conditions alone has one sensible plan, whatever the values
    # (query.Statement.generic_plan).
    keyed: bool = False


def clause(ctx: Context, alias: str, resource_types: list[str], raw_name: str, value: str,
           depth: int = 0) -> Condition:
    """The condition on row ``alias`` (a ``resource``) for one ``name[:modifier]=value`` pair."""
    if depth > MAX_CHAIN_DEPTH:
        raise bad(raw_name, f"cadena de más de {MAX_CHAIN_DEPTH} niveles / chain deeper than {MAX_CHAIN_DEPTH}")
    if raw_name.startswith("_has:"):
        return Condition(_has(ctx, alias, resource_types, raw_name, value, depth), False)
    head, dot, rest = raw_name.partition(".")
    if dot:
        chained, of_patients = _chain(ctx, alias, resource_types, head, rest, raw_name, value, depth)
        return Condition(chained, True, bounded=of_patients)
    if raw_name == "_id":
        ids = [unescape(v) for v in split_or(value) if v]
        return Condition(f"{alias}.id = ANY(CAST({ctx.sql.bind(ids)} AS text[]))", False, bounded=True, keyed=True)
    if raw_name.startswith("_lastUpdated"):
        if raw_name != "_lastUpdated":
            raise bad(raw_name, "modificador no admitido / unsupported modifier")
        return Condition(_or([date_condition(ctx, f"{alias}.last_updated",
                                             f"{alias}.last_updated + interval '1 microsecond'", v, raw_name)
                              for v in split_or(value) if v]), False, reads_row=True)
    name, _, modifier = raw_name.partition(":")
    if name in FULL_TEXT_PARAMETERS:
        return Condition(_full_text(ctx, alias, resource_types, name, modifier, value, raw_name), True)
    param = lookup(resource_types, name, raw_name)
    if modifier == "of-type":
        return Condition(_of_type(ctx, alias, resource_types, param, value, raw_name), True, bounded=True, keyed=True)
    condition = _parameter(ctx, alias, _type_of(ctx, alias, resource_types), param, modifier, value, raw_name)
    if condition.on_own_rows and not modifier and _bounded(resource_types, param, value):
        return replace(condition, bounded=True, keyed=True)
    return condition


def _bounded(resource_types: list[str], param: IndexedParam, value: str) -> bool:
    """Every value names one identifier (a code, with or without its system) or one patient (a reference to a
    Patient, or an id where the parameter can only point at patients)."""
    values = split_or(value)
    if param.type == "token":
        return all(identifier_valued(t, param.name) for t in resource_types) and \
            all(split_escaped(v, "|", 1)[-1] for v in values)
    if param.type == "reference":
        # A bare id is a patient's when every path keeps Patient targets only (``.where(resolve() is Patient)``).
        patients_only = list(param.targets) == ["Patient"] or bool(param.paths) and all(
            p.target == "Patient" for p in param.paths)
        return all((local_reference(v) or ("Patient" if patients_only else "", ""))[0] == "Patient"
                   for v in values)
    return False


def _of_type(ctx: Context, alias: str, resource_types: list[str], param: IndexedParam, value: str,
             raw_name: str) -> str:
    """``identifier:of-type=system|code|value`` (R4 search.html#token): an Identifier whose type has that coding
    and whose value is that value, from the index rows kept for it (ece.indexing.typed_identifiers)."""
    if not all(identifier_valued(t, param.name) for t in resource_types):
        raise bad(raw_name, ":of-type solo se aplica a identificadores / applies to Identifier parameters only")
    x, bind, alternatives = ctx.sql.alias("x"), ctx.sql.bind, []
    for alternative in split_or(value):
        parts = [unescape(p) for p in split_escaped(alternative, "|", 2)]
        if len(parts) != 3 or not all(parts):
            raise bad(raw_name, ":of-type se escribe sistema|código|valor / is written system|code|value")
        system, code, identifier = parts
        alternatives.append(f"({x}.system = {bind(system)} AND {x}.code = {bind(f'{code}|{identifier}')})")
    return own_rows(x, "search_token", _type_of(ctx, alias, resource_types), alias,
                    f"{x}.param = {bind(param.name + OF_TYPE)} AND {_or(alternatives)}")[0]


def _type_of(ctx: Context, alias: str, resource_types: list[str]) -> str:
    """The type of row ``alias`` as SQL: a bound constant when there is one type, so the planner can use
    it in the index conditions of every EXISTS (a correlated column hides it)."""
    return ctx.sql.bind(resource_types[0]) if len(resource_types) == 1 else f"{alias}.resource_type"


def _full_text(ctx: Context, alias: str, resource_types: list[str], name: str, modifier: str, value: str,
               raw_name: str) -> str:
    """``_text`` / ``_content`` (R4 search.html#text, #content): a search-engine expression per value, as
    PostgreSQL's websearch_to_tsquery reads it (words all required, ``or``, "quoted phrases", ``-word``), over
    folded text as the index holds it (ece.fulltext). Commas separate alternatives, as for every parameter."""
    if not any(supports_full_text(t, name) for t in resource_types):
        raise unknown(resource_types, raw_name)
    if modifier:  # R4 defines none for these parameters
        raise bad(raw_name, f"modificador no admitido / unsupported modifier ':{modifier}'")
    expressions = [fold(unescape(v)) for v in split_or(value)]
    if not all(any(ch.isalnum() for ch in e) for e in expressions):
        raise bad(raw_name, "expresión sin palabras / the expression has no words")
    query = " || ".join(f"websearch_to_tsquery('simple', {ctx.sql.bind(e)})" for e in expressions)
    column = "narrative" if name == "_text" else "content"
    x = ctx.sql.alias("x")
    return own_rows(x, "search_text", _type_of(ctx, alias, resource_types), alias, f"{x}.{column} @@ ({query})")[0]


def _parameter(ctx: Context, alias: str, type_sql: str, param: IndexedParam, modifier: str, value: str,
               raw_name: str) -> Condition:
    kind = param.type
    if modifier and modifier not in MODIFIERS[kind] and not (kind == "reference" and is_served(modifier)):
        raise bad(raw_name, f"modificador no admitido / unsupported modifier ':{modifier}'")
    if modifier == "missing":
        if value not in ("true", "false"):
            raise bad(raw_name, ":missing admite true o false / takes true or false")
        x = ctx.sql.alias("x")
        exists = own_rows(x, TABLES[kind], type_sql, alias, f"{x}.param = {ctx.sql.bind(param.name)}")[0]
        return Condition(exists, True) if value == "false" else Condition("NOT " + exists, False)
    values = [v for v in split_or(value) if v != ""]
    if not values:
        raise bad(raw_name, "valor vacío / empty value")
    x = ctx.sql.alias("x")
    builders = {"token": _token, "string": _string, "date": _date, "reference": _reference, "number": _number,
                "quantity": _quantity, "uri": _uri, "composite": _composite}
    condition = _or([builders[kind](ctx, x, param, modifier, v, raw_name) for v in values])
    exists, rows = own_rows(x, TABLES[kind], type_sql, alias, f"{x}.param = {ctx.sql.bind(param.name)} AND {condition}")
    if kind == "token" and modifier in ("not", "not-in"):  # R4 search.html#token: :not includes the missing
        return Condition("NOT " + exists, False)
    return Condition(exists, True, rows)


def own_rows(x: str, table: str, type_sql: str, alias: str, condition: str) -> tuple[str, str]:
    """The EXISTS over ``table`` rows ``x`` of the resource ``alias`` that meet ``condition``, and the resources of
    those rows, once per row (``Condition.index_rows``)."""
    exists = (f"EXISTS (SELECT 1 FROM {table} {x} WHERE {x}.resource_type = {type_sql} "
              f"AND {x}.resource_id = {alias}.id AND {condition})")
    return exists, (f"SELECT {x}.resource_type, {x}.resource_id AS id FROM {table} {x} "
                    f"WHERE {x}.resource_type = {type_sql} AND {condition}")


# --- value conditions per type -----------------------------------------------------------------------


def _token(ctx: Context, x: str, param: IndexedParam, modifier: str, value: str, raw_name: str) -> str:
    bind = ctx.sql.bind
    if modifier == "text":
        return f"{x}.text LIKE {bind('%' + _like(fold(value)) + '%')}"
    if modifier in ("in", "not-in"):
        codes = ctx.terminology.codes(value, raw_name)
        return f"(coalesce({x}.system, '') || '|' || {x}.code) = ANY(CAST({bind(sorted(codes))} AS text[]))"
    if modifier in ("below", "above"):  # subsumption, the code itself included (R4 search.html#token)
        system, codes = ctx.terminology.subsumed(value, modifier, raw_name)
        return f"({x}.system = {bind(system)} AND {x}.code = ANY(CAST({bind(codes)} AS text[])))"
    parts = split_escaped(value, "|", 1)
    if len(parts) == 1:
        return f"{x}.code = {bind(unescape(value))}"
    system, code = unescape(parts[0]), unescape(parts[1])
    if system == "":
        return f"({x}.system IS NULL AND {x}.code = {bind(code)})"
    if code == "":
        return f"{x}.system = {bind(system)}"
    return f"({x}.system = {bind(system)} AND {x}.code = {bind(code)})"


def _like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _string(ctx: Context, x: str, param: IndexedParam, modifier: str, value: str, raw_name: str) -> str:
    value = unescape(value)
    if modifier == "exact":
        return f"{x}.exact = {ctx.sql.bind(value)}"
    folded = _like(fold(value))
    if modifier == "contains":
        return f"{x}.value LIKE {ctx.sql.bind('%' + folded + '%')}"
    return f"{x}.value LIKE {ctx.sql.bind(folded + '%')}"


def _date(ctx: Context, x: str, param: IndexedParam, modifier: str, value: str, raw_name: str) -> str:
    return date_condition(ctx, f"{x}.low", f"{x}.high", value, raw_name, date_span(x), param.ordered_spans)


def _number(ctx: Context, x: str, param: IndexedParam, modifier: str, value: str, raw_name: str) -> str:
    return number_value(value, raw_name).condition(ctx.sql.bind, f"{x}.value")


def _quantity(ctx: Context, x: str, param: IndexedParam, modifier: str, value: str, raw_name: str) -> str:
    return quantity_condition(ctx, x, value, raw_name)


def _uri(ctx: Context, x: str, param: IndexedParam, modifier: str, value: str, raw_name: str) -> str:
    if modifier == "below":
        return f"{x}.value LIKE {ctx.sql.bind(_like(value) + '%')}"
    if modifier == "above":
        return f"{ctx.sql.bind(value)} LIKE (replace(replace({x}.value, '%', '\\%'), '_', '\\_') || '%')"
    return f"{x}.value = {ctx.sql.bind(value)}"


def _reference(ctx: Context, x: str, param: IndexedParam, modifier: str, value: str, raw_name: str) -> str:
    bind = ctx.sql.bind
    if modifier == "identifier":  # token forms of R4 search.html#token on Reference.identifier
        parts = split_escaped(value, "|", 1)
        if len(parts) == 1:
            return f"{x}.id_value = {bind(unescape(value))}"
        system, code = unescape(parts[0]), unescape(parts[1])
        if not system:
            return f"({x}.id_system IS NULL AND {x}.id_value = {bind(code)})"
        if not code:
            return f"({x}.id_system = {bind(system)} AND {x}.id_value IS NOT NULL)"
        return f"({x}.id_system = {bind(system)} AND {x}.id_value = {bind(code)})"
    type_modifier = modifier or None
    target = local_reference(value)
    if target is None and ("://" in value or value.startswith("urn:")):
        return f"{x}.url = {bind(value)}"
    if target is not None:
        if type_modifier and type_modifier != target[0]:
            raise bad(raw_name, f"el tipo {type_modifier} no coincide con {target[0]} / type mismatch")
        return f"({x}.target_type = {bind(target[0])} AND {x}.target_id = {bind(target[1])})"
    if type_modifier and param.targets and type_modifier not in param.targets:
        raise bad(raw_name, f"{type_modifier} no es un destino de este parámetro / is not one of its targets")
    target_type = type_modifier or (param.targets[0] if len(param.targets) == 1 else None)
    if target_type is None:
        return f"{x}.target_id = {bind(value)}"
    return f"({x}.target_type = {bind(target_type)} AND {x}.target_id = {bind(value)})"


def _composite(ctx: Context, x: str, param: IndexedParam, modifier: str, value: str, raw_name: str) -> str:
    """``code$value`` (R4 search.html#composite): both parts must match the same element."""
    parts = split_escaped(value, "$", 1)
    first, second = (parts + [""])[:2]
    if len(parts) != 2 or not first or not second:
        raise bad(raw_name, "un compuesto se escribe parte1$parte2 / a composite value is part1$part2")
    token = _token(ctx, x, param, "", first, raw_name).replace(f"{x}.system", f"{x}.c1_system") \
        .replace(f"{x}.code", f"{x}.c1_code")
    kind = param.components[1].type
    if kind == "token":
        part = _token(ctx, x, param, "", second, raw_name).replace(f"{x}.system", f"{x}.t2_system") \
            .replace(f"{x}.code", f"{x}.t2_code")
    elif kind == "quantity":
        part = quantity_condition(ctx, x, second, raw_name, columns="q2_")
    elif kind == "date":
        part = date_condition(ctx, f"{x}.d2_low", f"{x}.d2_high", second, raw_name)
    else:
        part = f"{x}.s2_value LIKE {ctx.sql.bind(_like(fold(second)) + '%')}"
    return f"({token} AND {part})"


# --- chains (R4 search.html#chaining) ------------------------------------------------------------------


def _chain(ctx: Context, alias: str, resource_types: list[str], head: str, rest: str, raw_name: str, value: str,
           depth: int) -> tuple[str, bool]:
    """The chain's EXISTS, and whether it reaches only patients named by a bounded condition
    (``subject:Patient.identifier=...``): the resources of a handful of patients (``Condition.bounded``)."""
    name, _, type_modifier = head.partition(":")
    param = lookup(resource_types, name, raw_name)
    if param.type != "reference":
        raise bad(raw_name, f"'{name}' no es una referencia; no se puede encadenar / is not a reference parameter")
    if type_modifier and not is_served(type_modifier):
        raise bad(raw_name, f"tipo desconocido en la cadena / unknown type '{type_modifier[:40]}'")
    candidates = [type_modifier] if type_modifier else list(param.targets)
    next_name = rest.partition(".")[0].partition(":")[0]
    usable = [t for t in candidates if next_name in ("_has", "_id", "_lastUpdated")
              or indexed_param(t, next_name) is not None or supports_full_text(t, next_name)]
    if not usable:
        raise bad(raw_name, f"ningún destino de '{name}' admite '{next_name}' / no target of '{name}' supports it")
    x, target = ctx.sql.alias("x"), ctx.sql.alias("t")
    alternatives, of_patients = [], usable == ["Patient"]
    for target_type in usable:
        inner = clause(ctx, target, [target_type], rest, value, depth + 1)
        of_patients = of_patients and inner.bounded
        visible = ctx.visible_sql(target, target_type)
        alternatives.append(f"({x}.target_type = {ctx.sql.bind(target_type)} AND EXISTS (SELECT 1 FROM resource "
                            f"{target} WHERE {target}.resource_type = {x}.target_type AND {target}.id = "
                            f"{x}.target_id AND NOT {target}.deleted{visible} AND {inner.sql}))")
    return (f"EXISTS (SELECT 1 FROM search_reference {x} WHERE {x}.resource_type = "
            f"{_type_of(ctx, alias, resource_types)} AND "
            f"{x}.resource_id = {alias}.id AND {x}.param = {ctx.sql.bind(name)} AND {_or(alternatives)})",
            of_patients)


def _has(ctx: Context, alias: str, resource_types: list[str], raw_name: str, value: str, depth: int) -> str:
    """``_has:Observation:patient:code=x``: resources that an Observation matching ``code=x`` references
    through its ``patient`` parameter (R4 search.html#has); the last part may itself be a ``_has``."""
    parts = raw_name.split(":", 3)
    if len(parts) != 4 or not all(parts):
        raise bad(raw_name, "forma esperada / expected form _has:Tipo:referencia:parámetro")
    _, other_type, reference_name, rest = parts
    if not is_served(other_type):
        raise bad(raw_name, f"tipo desconocido / unknown type '{other_type[:40]}'")
    reference = indexed_param(other_type, reference_name)
    if reference is None or reference.type != "reference":
        raise bad(raw_name, f"'{reference_name}' no es una referencia de {other_type} / is not a reference")
    other, x = ctx.sql.alias("h"), ctx.sql.alias("x")
    inner = clause(ctx, other, [other_type], rest, value, depth + 1).sql
    visible = ctx.visible_sql(other, other_type)
    return (f"EXISTS (SELECT 1 FROM search_reference {x} JOIN resource {other} ON {other}.resource_type = "
            f"{x}.resource_type AND {other}.id = {x}.resource_id AND NOT {other}.deleted{visible} "
            f"WHERE {x}.resource_type = {ctx.sql.bind(other_type)} AND {x}.param = {ctx.sql.bind(reference_name)} "
            f"AND {x}.target_type = {_type_of(ctx, alias, resource_types)} AND {x}.target_id = {alias}.id AND {inner})")
