"""Translate the common shapes of FHIRPath invariants into plain Python closures, at compile time.

fhirpathpy costs 60-150 µs per invariant evaluation (a tree walk building wrapper nodes for every value);
the closures here cost a few µs. They mirror **fhirpathpy 2.2.4's** behaviour, quirks included (evaluation
of both sides of ``and``/``or``, first-item equality, string ``<`` on dates, paths typed as fhirpathpy types
them), not the FHIRPath specification: refusals must not change when a check gets faster.

Two escape hatches keep that promise. ``translate`` answers None for an expression using anything not
mirrored here, and the invariant keeps running on fhirpathpy. At run time a closure raises ``Fallback``
when the data leaves the shapes mirrored (primitive extensions ``_x``, null array items, a collection where
fhirpathpy wants one value, a non-boolean operand...): the caller then asks fhirpathpy, which gives its own
answer or error. Raising ``Fallback`` needlessly only costs time, so the guards err that way.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any, NamedTuple

from fhirpathpy import apply_parsed_path
from fhirpathpy.engine.invocations import logic
from fhirpathpy.engine.util import arraify
from fhirpathpy.models import models
from fhirpathpy.parser import parse

_MODEL = models["r4"]
# Types fhirpathpy turns into its own date/time objects before ``+`` (ResourceNode.convert_data).
_CONVERTED_TYPES = frozenset({"date", "dateTime", "time"})
_LITERAL_NODES = frozenset({"TermExpression", "LiteralTerm", "StringLiteral", "NumberLiteral", "BooleanLiteral",
                            "ParenthesizedTerm", "UnionExpression"})
_LOGIC = {"and": logic.and_op, "or": logic.or_op, "implies": logic.implies_op}
_ORDER = {"<": lambda a, b: a < b, ">": lambda a, b: a > b, "<=": lambda a, b: a <= b, ">=": lambda a, b: a >= b}

Fn = Callable[[list, dict], list]  # (focus collection, root resource) -> collection


class Unsupported(Exception):
    """The expression uses something not mirrored here: it stays on fhirpathpy."""


class Fallback(Exception):
    """This evaluation's data is outside what the closure mirrors: ask fhirpathpy."""


class _E(NamedTuple):
    fn: Fn
    types: frozenset[str] | None  # the fhirpathpy node paths of the values; None for plain (System) values
    choice: tuple | None = None  # (source, fields) when the values come from a choice element, for ofType


class _Scope(NamedTuple):
    types: frozenset[str] | None  # of the focus
    resource_type: str | None  # of %resource; None where it is not known (extension definitions)
    this_ok: bool  # $this is the focus (inside an operand or a where/all/select body)


def translate(expression: str, type_name: str, resource_type: str | None) -> Fn | None:
    """A closure ``fn([item], root)`` equal to fhirpathpy's answer for ``item`` typed ``type_name``, or None."""
    try:
        return _expr(parse(expression)["children"][0], _Scope(frozenset({type_name}), resource_type, False)).fn
    except Unsupported:
        return None


def _expr(node: dict, scope: _Scope) -> _E:
    kind = node["type"]
    if kind in _LITERAL_NODES and _literal_only(node):
        return _constant(node)
    if kind in ("TermExpression", "ParenthesizedTerm", "InvocationTerm"):
        return _expr(node["children"][0], scope)
    if kind == "InvocationExpression":
        left, right = node["children"]
        return _invoke(_expr(left, scope), right, scope)
    if kind in ("MemberInvocation", "FunctionInvocation"):
        return _invoke(_E(_identity, scope.types), node, scope)
    if kind == "ThisInvocation" and scope.this_ok:
        return _E(_identity, scope.types)
    if kind == "ExternalConstantTerm":
        return _resource(node, scope)
    if kind in ("AndExpression", "OrExpression", "ImpliesExpression", "EqualityExpression",
                "InequalityExpression", "AdditiveExpression", "MembershipExpression"):
        operand = scope._replace(this_ok=True)  # fhirpathpy sets $this to the focus for each operand
        return _infix(node["terminalNodeText"][0], *(_expr(c, operand) for c in node["children"]))
    raise Unsupported(kind)


def _identity(focus: list, root: dict) -> list:
    return focus


def _literal_only(node: dict) -> bool:
    return node["type"] in _LITERAL_NODES and all(_literal_only(c) for c in node.get("children", []))


def _constant(node: dict) -> _E:
    """Literals and unions of literals, evaluated once by fhirpathpy itself."""
    value = apply_parsed_path({}, {"children": [node]}, {}, _MODEL)
    if not all(type(v) in (str, int, bool, Decimal) for v in value):
        raise Unsupported("literal type")
    return _E(lambda focus, root: value, None)


def _resource(node: dict, scope: _Scope) -> _E:
    name = node["children"][0]["children"][0]["text"]
    expected = scope.resource_type
    if name != "resource" or expected is None:
        raise Unsupported(f"%{name}")

    def fn(focus: list, root: dict) -> list:
        if not isinstance(root, dict) or root.get("resourceType") != expected:
            raise Fallback
        return [root]

    return _E(fn, frozenset({expected}))


def _invoke(source: _E, node: dict, scope: _Scope) -> _E:
    if node["type"] == "MemberInvocation":
        return _member(source, node["children"][0]["text"])
    if node["type"] != "FunctionInvocation":
        raise Unsupported(node["type"])
    functn = node["children"][0]
    name = functn["children"][0]["text"]
    params = functn["children"][1]["children"] if len(functn["children"]) > 1 else []
    if name in ("where", "all", "select"):
        if len(params) != 1:
            raise Unsupported(name)
        body = _expr(params[0], scope._replace(types=source.types, this_ok=True)).fn
        return _MACROS[name](source, body)
    if name == "ofType":
        return _of_type(source, params)
    if name == "intersect":
        return _intersect(source, params, scope)
    if params and not all(_literal_only(p) for p in params):
        raise Unsupported(f"{name} with a computed argument")
    args = [_constant(p).fn([], {}) for p in params]
    if name in _SIMPLE and not args:
        return _E(_SIMPLE[name](source.fn), None if name != "first" else source.types)
    if name == "matches" and len(args) == 1 and len(args[0]) == 1 and type(args[0][0]) is str and args[0][0]:
        return _E(_matches(source.fn, re.compile(args[0][0], re.DOTALL)), None)
    if name == "substring" and len(args) in (1, 2) and all(len(a) == 1 and type(a[0]) is int for a in args):
        return _E(_substring(source.fn, args[0][0], args[1][0] if len(args) == 2 else None), None)
    raise Unsupported(name)


# -- navigation, typed the way fhirpathpy's create_reduce_member_invocation types its nodes

def _child_path(parent: str, key: str) -> str:
    child = f"{parent}.{key}"
    return _MODEL["pathsDefinedElsewhere"].get(child, child)


def _typed(path: str) -> str:
    return _MODEL["path2Type"].get(path, path)


def _member(source: _E, key: str) -> _E:
    if source.types is None or not key[:1].islower() or key == "length" or "`" in key:
        raise Unsupported(f"member {key}")
    children = {_child_path(p, key) for p in source.types}
    choices = {tuple(_MODEL["choiceTypePaths"].get(c) or ()) for c in children}
    if choices == {()}:
        types = frozenset("Extension" if key == "extension" else _typed(c) for c in children)
        if types & {"Resource", "DomainResource"}:
            raise Unsupported("contained resources are typed by their resourceType")
        return _E(_navigate(source.fn, key), types)
    if len(children) != 1:
        raise Unsupported(f"choice {key} from several types")
    child, candidates = children.pop(), choices.pop()
    fields = tuple((key + t, "_" + key + t, _typed(child + t)) for t in candidates)
    return _E(_first_present(source.fn, tuple((f, u, True) for f, u, _t in fields)),
              frozenset(t for _f, _u, t in fields), (source.fn, fields))


def _add(out: list, value: Any) -> None:
    if type(value) is list:
        if None in value:
            raise Fallback
        out.extend(value)
    else:
        out.append(value)


def _navigate(source: Fn, key: str) -> Fn:
    underscored = "_" + key

    def fn(focus: list, root: dict) -> list:
        out: list = []
        for item in source(focus, root):
            if type(item) is dict:
                if underscored in item:
                    raise Fallback
                value = item.get(key)
                if value is not None:
                    _add(out, value)
        return out

    return fn


def _first_present(source: Fn, fields: tuple[tuple[str, str, bool], ...]) -> Fn:
    """A choice element: fhirpathpy takes the first of the model's types present; ``keep`` filters ofType."""

    def fn(focus: list, root: dict) -> list:
        out: list = []
        for item in source(focus, root):
            if type(item) is dict:
                for field, underscored, keep in fields:
                    if underscored in item:
                        raise Fallback
                    value = item.get(field)
                    if value is not None:
                        if keep:
                            _add(out, value)
                        break
        return out

    return fn


def _is_type(name: str, wanted: str) -> bool | None:
    """ofType's answer for values typed ``name``; None when it would depend on fhirpathpy's global state
    (TypeInfo.model, set only by ``is``/``as``) or on the value itself."""
    if "." in name:
        return None
    plain = name == wanted
    walked, current = False, name
    while current:
        if current == wanted:
            walked = True
            break
        current = _MODEL["type2Parent"].get(current) or _MODEL["path2Type"].get(current)
    return plain if plain == walked else None


def _of_type(source: _E, params: list) -> _E:
    if len(params) != 1 or params[0].get("text", "").count(".") or not params[0].get("text", "").isidentifier():
        raise Unsupported("ofType")
    wanted = params[0]["text"]
    if source.choice is not None:
        inner, fields = source.choice
        keep = [_is_type(t, wanted) for _f, _u, t in fields]
        if None in keep:
            raise Unsupported("ofType")
        kept = frozenset(t for (_f, _u, t), k in zip(fields, keep, strict=True) if k)
        return _E(_first_present(inner, tuple((f, u, k) for (f, u, _t), k in zip(fields, keep, strict=True))), kept)
    if source.types is None:
        raise Unsupported("ofType on values")
    keep = {_is_type(t, wanted) for t in source.types}
    if keep == {True}:
        return source
    if keep == {False}:
        return _E(lambda focus, root: [], frozenset())
    raise Unsupported("ofType")


# -- functions

def _exists(source: Fn) -> Fn:
    return lambda focus, root: [bool(source(focus, root))]


def _empty(source: Fn) -> Fn:
    return lambda focus, root: [not source(focus, root)]


def _count(source: Fn) -> Fn:
    return lambda focus, root: [len(source(focus, root))]


def _first(source: Fn) -> Fn:
    return lambda focus, root: source(focus, root)[:1]


def _not(source: Fn) -> Fn:
    def fn(focus: list, root: dict) -> list:
        values = source(focus, root)
        if len(values) != 1:
            return []
        if type(values[0]) is not bool:
            raise Fallback
        return [not values[0]]

    return fn


_SIMPLE = {"exists": _exists, "empty": _empty, "count": _count, "first": _first, "not": _not}


def _matches(source: Fn, pattern: re.Pattern) -> Fn:
    def fn(focus: list, root: dict) -> list:
        values = source(focus, root)
        if not values:
            return []
        if len(values) != 1 or type(values[0]) is not str:
            raise Fallback
        return [pattern.search(values[0]) is not None]

    return fn


def _substring(source: Fn, start: int, length: int | None) -> Fn:
    def fn(focus: list, root: dict) -> list:
        values = source(focus, root)
        if not values:
            return []
        if len(values) != 1 or type(values[0]) is not str:
            raise Fallback
        text = values[0]
        if start < 0 or start >= len(text):
            return []
        return [text[start:] if length is None else text[start:start + length]]

    return fn


def _test(result: list) -> bool:
    """where's test of one item: the first value of the criterion, which must be a boolean here."""
    if not result:
        return False
    if type(result[0]) is not bool:
        raise Fallback
    return result[0]


def _where(source: _E, body: Fn) -> _E:
    def fn(focus: list, root: dict) -> list:
        return [item for item in source.fn(focus, root) if _test(body([item], root))]

    return _E(fn, source.types)


def _all(source: _E, body: Fn) -> _E:
    def fn(focus: list, root: dict) -> list:
        for item in source.fn(focus, root):
            result = body([item], root)
            if result == [True] and type(result[0]) is bool:
                continue
            if result and (len(result) > 1 or type(result[0]) is not bool):
                raise Fallback
            return [False]
        return [True]

    return _E(fn, None)


def _select(source: _E, body: Fn) -> _E:
    def fn(focus: list, root: dict) -> list:
        out: list = []
        for item in source.fn(focus, root):
            out.extend(body([item], root))
        return out

    return _E(fn, None)


_MACROS = {"where": _where, "all": _all, "select": _select}


def _intersect(source: _E, params: list, scope: _Scope) -> _E:
    """Only with an argument from %resource: fhirpathpy evaluates the argument against a stale $this."""
    if len(params) != 1 or not _starts_with_resource(params[0]):
        raise Unsupported("intersect")
    other = _expr(params[0], scope).fn

    def fn(focus: list, root: dict) -> list:
        right = other(focus, root)
        found = [item for item in source.fn(focus, root) if any(item == r for r in right)]
        return [item for i, item in enumerate(found) if item not in found[:i]]

    return _E(fn, source.types)


def _starts_with_resource(node: dict) -> bool:
    while node["type"] in ("InvocationExpression", "TermExpression"):
        node = node["children"][0]
    return node["type"] == "ExternalConstantTerm"


# -- operators: both operands are always evaluated, as fhirpathpy does

def _infix(op: str, left: _E, right: _E) -> _E:
    if op in _LOGIC:
        return _E(_logic(_LOGIC[op], left.fn, right.fn), None)
    if op == "=" and "Quantity" not in (left.types or ()) and "Quantity" not in (right.types or ()):
        return _E(_equal(left.fn, right.fn), None)
    if op in _ORDER:
        return _E(_compare(_ORDER[op], left.fn, right.fn), None)
    if op == "+" and not (_CONVERTED_TYPES & (left.types or set()) or _CONVERTED_TYPES & (right.types or set())):
        return _E(_plus(left.fn, right.fn), None)
    if op == "in":
        return _E(_in(left.fn, right.fn), None)
    raise Unsupported(op)


def _boolean(values: list) -> Any:
    """An operand of and/or/implies as fhirpathpy passes it: a boolean, or [] when empty."""
    if not values:
        return []
    if len(values) != 1 or type(values[0]) is not bool:
        raise Fallback
    return values[0]


def _logic(op: Callable, left: Fn, right: Fn) -> Fn:
    return lambda focus, root: arraify(op(None, _boolean(left(focus, root)), _boolean(right(focus, root))))


def _equal(left: Fn, right: Fn) -> Fn:
    def fn(focus: list, root: dict) -> list:
        a, b = left(focus, root), right(focus, root)
        if not a or not b:
            return []
        return [len(a) == len(b) and a[0] == b[0]]

    return fn


def _number(value: Any) -> bool:
    return type(value) in (int, Decimal)


def _compare(op: Callable, left: Fn, right: Fn) -> Fn:
    def fn(focus: list, root: dict) -> list:
        a, b = left(focus, root), right(focus, root)
        if not a or not b:
            return []
        if len(a) != 1 or len(b) != 1 or not (_number(a[0]) and _number(b[0]) or
                                               type(a[0]) is str and type(b[0]) is str):
            raise Fallback
        return [op(a[0], b[0])]

    return fn


def _plus(left: Fn, right: Fn) -> Fn:
    """``+`` on two numbers or two strings: the same operand rules as a comparison."""
    return _compare(lambda a, b: a + b, left, right)


def _in(left: Fn, right: Fn) -> Fn:
    def fn(focus: list, root: dict) -> list:
        a, b = left(focus, root), right(focus, root)
        if not a:
            return []
        if not b:
            return [False]
        if len(a) != 1:
            raise Fallback
        return [any(item == a[0] for item in b)]

    return fn
