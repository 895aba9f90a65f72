"""The CapabilityStatement (R4 capabilitystatement.html): exactly what this server does.

Built from the same registries the server runs on, so it cannot drift from the code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import cache

from ece import FHIR_VERSION
from ece.audit import SEARCH_PARAMS as AUDIT_SEARCH_PARAMS
from ece.indexing import indexed_params
from ece.registry import compartments
from ece.resource_types import served_types, unserved_types
from ece.search import searchable

SOFTWARE_NAME = "ECE Honduras - expediente clínico electrónico"
SOFTWARE_VERSION = "0.1.0"
INSTANCE_INTERACTIONS = ("read", "vread", "update", "patch", "delete", "history-instance", "history-type",
                         "create", "search-type")


COMMON_SEARCH = ("_id", "_lastUpdated", "_text", "_content", "_tag", "_profile", "_security", "_source")


@cache
def _reverse_includes() -> dict[str, list[str]]:
    """For each type, the ``Source:param`` pairs whose references can point at it (for _revinclude)."""
    out: dict[str, list[str]] = {}
    for source in served_types():
        for param in indexed_params(source):
            if param.type == "reference":
                for target in param.targets:
                    out.setdefault(target, []).append(f"{source}:{param.name}")
    return out


_supported_profiles: dict[str, list[str]] = {}
# The record store's own operations; the composition root adds those of other packages (declare_profiles).
_operations: dict[str, list[dict]] = {"Patient": [
    {"name": "everything", "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything"}]}
_security: list[Callable[[str], dict]] = []


def declare_security(section: Callable[[str], dict]) -> None:
    """Let the composition root describe how clients authenticate (R4
    capabilitystatement-definitions.html#CapabilityStatement.rest.security): ``section(base_url)`` gives the
    ``rest.security`` element for the FHIR base a client called."""
    _security[:] = [section]


def declare_profiles(profiles: Mapping[str, Sequence[str]], operations: Mapping[str, Sequence[dict]] = {}
                     ) -> None:
    """Let the composition root list the profiles and operations another package serves (R4
    capabilitystatement-definitions.html#CapabilityStatement.rest.resource.supportedProfile); ``ece``
    itself knows no profile."""
    for resource_type, urls in profiles.items():
        known = _supported_profiles.setdefault(resource_type, [])
        known.extend(u for u in urls if u not in known)
    for resource_type, entries in operations.items():
        known_ops = _operations.setdefault(resource_type, [])
        known_ops.extend(e for e in entries if e not in known_ops)
    _resources.cache_clear()


def _audit_trail() -> dict:
    """AuditEvent is served from the append-only audit trail (ece.audit.query): read and search only."""
    return {"type": "AuditEvent", "versioning": "no-version", "readHistory": False, "updateCreate": False,
            "conditionalCreate": False, "conditionalRead": "not-supported", "conditionalUpdate": False,
            "conditionalDelete": "not-supported", "interaction": [{"code": "read"}, {"code": "search-type"}],
            "searchParam": [{"name": name, "definition": url, "type": kind}
                            for name, kind, url in AUDIT_SEARCH_PARAMS]}


@cache
def _resources() -> list[dict]:
    out = []
    for resource_type in served_types():
        if resource_type == "AuditEvent":
            out.append(_audit_trail())
            continue
        includes = [f"{resource_type}:{p.name}" for p in indexed_params(resource_type) if p.type == "reference"]
        out.append({
            "type": resource_type,
            "versioning": "versioned-update",
            "readHistory": True,
            "updateCreate": True,
            "conditionalCreate": True,
            "conditionalRead": "not-supported",
            "conditionalUpdate": True,
            "conditionalDelete": "single",
            "interaction": [{"code": code} for code in INSTANCE_INTERACTIONS],
            "searchInclude": ["*", *includes],
            "searchParam": [{"name": name, "definition": url, "type": kind}
                            for name, kind, url in searchable(resource_type)],
        })
        # R4 json.html: an array is never empty (a type nothing references has no reverse include).
        if reverse := sorted(_reverse_includes().get(resource_type, [])):
            out[-1]["searchRevInclude"] = reverse
        if resource_type in _supported_profiles:
            out[-1]["supportedProfile"] = list(_supported_profiles[resource_type])
        if resource_type in _operations:
            out[-1]["operation"] = list(_operations[resource_type])
    return out


def capability_statement(base_url: str) -> dict:
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-11-29",
        "publisher": "ECE Honduras",
        "kind": "instance",
        "software": {"name": SOFTWARE_NAME, "version": SOFTWARE_VERSION},
        "implementation": {"description": "Servidor FHIR R4 del expediente clínico electrónico / FHIR R4 server "
                                          "of the electronic clinical record", "url": base_url},
        "fhirVersion": FHIR_VERSION,
        "format": ["application/fhir+json", "json", "application/json"],
        "patchFormat": ["application/json-patch+json"],
        "rest": [{
            "mode": "server",
            "documentation": (
                "Tipos no servidos (R4 sin modelo R4B para validarlos) / types not served (no R4B model to "
                "validate them): " + ", ".join(unserved_types())
            ),
            "resource": _resources(),
            "interaction": [{"code": "transaction"}, {"code": "batch"}, {"code": "history-system"},
                            {"code": "search-system"}],
            "searchParam": [{"name": name, "definition": url, "type": kind}
                            for name, kind, url in searchable("Patient") if name in COMMON_SEARCH],
            "compartment": [f"http://hl7.org/fhir/CompartmentDefinition/{c.lower()}" for c in sorted(compartments())],
            **({"security": _security[0](base_url)} if _security else {}),
        }],
    }
