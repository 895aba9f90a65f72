"""The national profile validator (R4 validation.html#profile), plugged into the store's single write path
through ``ece.validation.register_profile_validator``.

Which profiles a resource must meet: every national profile it declares in ``meta.profile`` (unknown ones
are reported as information and ignored), and, when it declares none and its type is enforced, the national
profile of its type. Observations are enforced only when they are vital signs (category ``vital-signs`` or
a vital-sign LOINC code): laboratory results have no national profile yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from ece.errors import Issue
from fhir_profiles import catalog, terminology
from fhir_profiles.compiler import UNBOUNDED, Node, compile_snapshot
from fhir_profiles.systems import LOINC

_VITALS_CATEGORY = ("http://terminology.hl7.org/CodeSystem/observation-category", "vital-signs")


@cache
def compiled(url: str) -> Node:
    return compile_snapshot(catalog.by_url()[url]["snapshot"]["element"])


@cache
def _profile_types() -> dict[str, str]:
    return {p["url"]: p["type"] for p in catalog.profiles()}


@cache
def _vital_sign_profiles() -> dict[str, str]:
    """LOINC code → the per-sign profile fixing that code."""
    out = {}
    for p in catalog.profiles():
        for element in p["snapshot"]["element"]:
            if element["id"] == "Observation.code" and "patternCodeableConcept" in element:
                out[element["patternCodeableConcept"]["coding"][0]["code"]] = p["url"]
    return out


def default_profiles(data: dict, resource_type: str) -> list[str]:
    if resource_type != "Observation":
        url = catalog.default_profile(resource_type)
        return [url] if url else []
    codes = [c.get("code") for c in (data.get("code") or {}).get("coding", []) if c.get("system") == LOINC]
    for code in codes:
        if code in _vital_sign_profiles():
            return [_vital_sign_profiles()[code]]
    categories = {(c.get("system"), c.get("code")) for cat in data.get("category", []) if isinstance(cat, dict)
                  for c in cat.get("coding", []) if isinstance(c, dict)}
    return [catalog.default_profile("Observation")] if _VITALS_CATEGORY in categories else []


@dataclass
class NationalProfileValidator:
    """Callable registered in the write path; ``enforced_types`` are the types that must conform."""

    enforced_types: frozenset[str]

    def __call__(self, data: dict, *, resource_type: str, location: str) -> list[Issue]:
        return validate(data, resource_type=resource_type, location=location, enforced_types=self.enforced_types)

    def __hash__(self) -> int:
        return id(self)


def applicable_profiles(data: dict, resource_type: str, enforced_types: frozenset[str] | set[str]
                        ) -> tuple[list[str], list[Issue]]:
    declared = (data.get("meta") or {}).get("profile") or []
    known, notes = [], []
    for entry in declared if isinstance(declared, list) else []:
        url = entry.split("|")[0] if isinstance(entry, str) else ""
        if url in _profile_types():
            known.append(url)
        else:
            notes.append(Issue("informational", f"Perfil desconocido, no se comprueba / unknown profile, not "
                                                f"checked: {str(entry)[:200]}", ("meta.profile",), "information"))
    if not known and resource_type in enforced_types:
        known = default_profiles(data, resource_type)
    return known, notes


def validate(data: dict, *, resource_type: str, location: str, enforced_types: frozenset[str] | set[str],
             profiles: list[str] | None = None) -> list[Issue]:
    """The issues of ``data`` against the profiles that apply (or ``profiles`` when given)."""
    if profiles is None:
        profiles, issues = applicable_profiles(data, resource_type, enforced_types)
    else:
        issues = []
    for url in profiles:
        if _profile_types().get(url) != resource_type:
            issues.append(Issue("invalid", f"El perfil {url} es para {_profile_types().get(url)}, no para "
                                           f"{resource_type} / profile is for another resource type",
                                ("meta.profile",)))
            continue
        run = _Run(data, url, issues)
        run.item(compiled(url), data, location or resource_type)
    return issues


class _Run:
    """One resource against one profile; collects issues with FHIRPath locations."""

    def __init__(self, root: dict, profile: str, issues: list[Issue]):
        self.root = root
        self.profile = profile.rsplit("/", 1)[-1]
        self.issues = issues

    def add(self, code: str, message: str, path: str, severity: str = "error") -> None:
        self.issues.append(Issue(code, f"{message} (perfil / profile {self.profile})", (path,), severity))

    def item(self, node: Node, value: Any, path: str, key: str | None = None) -> None:
        """Check one value against its element: type, fixed, pattern, binding, target, invariants, children."""
        suffix = key[len(node.name):] if key is not None and node.choice else ""
        if node.types and suffix and suffix not in node.types and suffix[0].lower() + suffix[1:] not in node.types:
            self.add("structure", f"Tipo no permitido '{key[len(node.name):]}'; se permite "
                                  f"{'/'.join(sorted(node.types))} / type not allowed", path)
        if node.fixed is not None and value != node.fixed:
            self.add("value", f"Debe ser exactamente / must be exactly {_short(node.fixed)}", path)
        if node.pattern is not None and not _matches(node.pattern, value):
            self.add("value", f"Debe contener / must match the pattern {_short(node.pattern)}", path)
        if node.binding is not None:
            self._binding(node.binding, value, path)
        if node.targets and isinstance(value, dict):
            self._target(node.targets, value, path)
        for constraint in node.constraints:
            try:
                result = constraint.evaluate(value, self.root)
            except Exception as exc:
                # FHIRPath §"Singleton evaluation of collections": an operator given several items where it
                # needs one signals an error. The data made the invariant unevaluable, so the instance does
                # not satisfy it: refuse the write (422) and say why, rather than blaming the server.
                self.add("invariant", f"{constraint.key}: {constraint.human} — no se pudo evaluar con estos datos "
                                      f"/ cannot be evaluated on this data ({_short(str(exc))})", path)
                continue
            if result != [True]:
                self.add("invariant", f"{constraint.key}: {constraint.human}", path,
                         "error" if constraint.severity == "error" else "warning")
        if node.extension is not None and isinstance(value, dict):
            self.item(node.extension, value, path)
        if isinstance(value, dict):
            for child in node.children:
                self.element(child, value, path)

    def element(self, node: Node, container: dict, parent_path: str) -> None:
        """All values of one element in ``container``: cardinality, slicing, then each value."""
        if node.choice:
            keys = [k for k in container if k.startswith(node.name) and k[len(node.name):len(node.name) + 1].isupper()]
        else:
            keys = [node.name] if node.name in container else []
        entries: list[tuple[str, Any, str]] = []
        for key in keys:
            value = container[key]
            if isinstance(value, list):
                entries.extend((key, v, f"{parent_path}.{key}[{i}]") for i, v in enumerate(value) if v is not None)
            else:
                entries.append((key, value, f"{parent_path}.{key}"))
        where = f"{parent_path}.{node.name}"
        _cardinality(self, node, len(entries), where)
        if node.slices or node.discriminators:
            self._slices(node, entries, where)
        for key, value, path in entries:
            self.item(node, value, path, key)

    def _slices(self, node: Node, entries: list[tuple[str, Any, str]], where: str) -> None:
        counts = dict.fromkeys(range(len(node.slices)), 0)
        for key, value, path in entries:
            index = next((i for i, s in enumerate(node.slices) if _in_slice(node, s, value)), None)
            if index is None:
                if node.closed:
                    self.add("structure", "No corresponde a ningún corte permitido / matches no allowed slice",
                             path)
                continue
            counts[index] += 1
            self.item(node.slices[index], value, path, key)
        for index, slice_node in enumerate(node.slices):
            _cardinality(self, slice_node, counts[index], f"{where}:{slice_node.element_id.rsplit(':', 1)[-1]}")

    def _binding(self, binding: tuple[str, str], value: Any, path: str) -> None:
        strength, url = binding
        if isinstance(value, str):
            ok, shown, where = terminology.in_value_set(url, None, value) is not None, value, path
        elif isinstance(value, dict) and "coding" not in value and "code" in value:
            ok = terminology.in_value_set(url, value.get("system"), value["code"]) is not None
            shown, where = value.get("code"), path
        elif isinstance(value, dict):
            codings = [c for c in value.get("coding", []) if isinstance(c, dict) and "code" in c]
            ok = any(terminology.in_value_set(url, c.get("system"), c["code"]) for c in codings)
            shown, where = (codings[0].get("code") if codings else value.get("text")), f"{path}.coding"
        else:
            return
        if not ok:
            self.add("code-invalid", f"El código '{str(shown)[:80]}' no pertenece al conjunto de valores / code not "
                                     f"in value set {url}", where, "error" if strength == "required" else "warning")

    def _target(self, targets: frozenset[str], value: dict, path: str) -> None:
        reference = value.get("reference")
        if not isinstance(reference, str) or reference.startswith(("#", "urn:")):
            return  # contained and not-yet-resolved transaction references are checked by type elsewhere
        parts = reference.split("/_history/")[0].rstrip("/").split("/")
        if len(parts) >= 2 and parts[-2] not in targets and "Resource" not in targets:
            self.add("structure", f"La referencia debe apuntar a / reference must point to "
                                  f"{'|'.join(sorted(targets))}", f"{path}.reference")


def _cardinality(run: _Run, node: Node, count: int, where: str) -> None:
    if count < node.min:
        run.add("required", f"Se requieren al menos {node.min} / at least {node.min} required", where)
    elif node.max < UNBOUNDED and count > node.max:
        run.add("structure", f"Se permiten como máximo {node.max} / at most {node.max} allowed", where)


def _in_slice(sliced: Node, slice_node: Node, value: Any) -> bool:
    for discriminator in sliced.discriminators:
        if slice_node.extension_url and discriminator.path == ("url",):
            if not isinstance(value, dict) or value.get("url") != slice_node.extension_url:
                return False
            continue
        target = slice_node
        actual = value
        for step in discriminator.path:
            target = next((c for c in target.children if c.name == step), None)
            actual = actual.get(step) if isinstance(actual, dict) else None
            if target is None:
                return False
        expected = target.fixed if target.fixed is not None else target.pattern
        if expected is None or actual is None:
            return False
        if discriminator.kind == "value" and target.fixed is not None:
            if actual != expected:
                return False
        elif not _matches(expected, actual):
            return False
    return bool(sliced.discriminators)


def _matches(pattern: Any, value: Any) -> bool:
    """R4 elementdefinition-definitions.html#ElementDefinition.pattern_x_: every part of the pattern is present."""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(k in value and _matches(v, value[k]) for k, v in pattern.items())
    if isinstance(pattern, list):
        return isinstance(value, list) and all(any(_matches(p, v) for v in value) for p in pattern)
    return pattern == value


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 160 else text[:157] + "..."


def warm() -> None:
    """Compile every profile and build the terminology indexes now, not on the first write."""
    for profile in catalog.profiles():
        compiled(profile["url"])
    terminology.icd10()
