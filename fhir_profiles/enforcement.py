"""Which resources must meet the national profiles, and the one validator object the write path runs.

``ECE_ENFORCED_PROFILE_TYPES`` (app settings) lists the resource types that must conform even when they
declare no profile: unset means every type with a national profile; empty means none (resources that
declare a national profile in ``meta.profile`` are still checked against it).
"""

from __future__ import annotations

from ece.search.terminology import register_hierarchy_source
from ece.validation import register_profile_validator
from fhir_profiles import catalog, terminology
from fhir_profiles.validator import NationalProfileValidator, warm


def enforced_types(setting: str | None) -> frozenset[str]:
    if setting is None:
        return frozenset(catalog.national_types())
    names = frozenset(t.strip() for t in setting.split(",") if t.strip())
    unknown = names - set(catalog.national_types())
    if unknown:
        raise ValueError(f"ECE_ENFORCED_PROFILE_TYPES: sin perfil nacional / no national profile for "
                         f"{', '.join(sorted(unknown))}")
    return names


NATIONAL = NationalProfileValidator(frozenset())


def install_validator(setting: str | None) -> NationalProfileValidator:
    """Configure the enforced types and put the validator in the store's write path (idempotent)."""
    NATIONAL.enforced_types = enforced_types(setting)
    warm()
    register_profile_validator(NATIONAL)
    return NATIONAL


def install_terminology() -> None:
    """Let searches subsume codes of ICD-10 and the national code systems (token ``:below``/``:above``)."""
    register_hierarchy_source(terminology.hierarchy)


def supported_profiles() -> dict[str, list[str]]:
    """Resource type → national profile URLs, for the CapabilityStatement."""
    out: dict[str, list[str]] = {}
    for profile in catalog.profiles():
        out.setdefault(profile["type"], []).append(profile["url"])
    return out



def operations_declared() -> dict[str, list[dict]]:
    """The operations of fhir_profiles.api, for the CapabilityStatement (R4 operationslist.html)."""
    core = "http://hl7.org/fhir/OperationDefinition/"
    return {"ValueSet": [{"name": "expand", "definition": core + "ValueSet-expand"},
                         {"name": "validate-code", "definition": core + "ValueSet-validate-code"}],
            "CodeSystem": [{"name": "lookup", "definition": core + "CodeSystem-lookup"}],
            **{t: [{"name": "validate", "definition": core + "Resource-validate"}] for t in catalog.national_types()}}
