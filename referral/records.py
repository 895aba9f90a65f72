"""Small reads and edits of the resources a referral is made of (ServiceRequest, Task, facilities).

Reads go through ``ece.reads``; edits return new dicts for ``ece.store`` to write.
"""

from __future__ import annotations

from datetime import datetime

from ece import fhirjson, reads
from ece.errors import FhirError, Issue, UnprocessableEntity
from ece.references import local_reference
from ece.tx import Transaction
from fhir_profiles import systems

TASK_PROFILE = systems.canonical("StructureDefinition", "hn-tarea-referencia")
REFERRAL_PROFILE = systems.canonical("StructureDefinition", "hn-referencia")
DEADLINE_SEARCH_PARAMETER = "plazo"


def reference_of(element: object) -> str | None:
    return element.get("reference") if isinstance(element, dict) else None


async def load(tx: Transaction, reference: str) -> tuple[dict, int]:
    """The current content and version of a local reference ("Type/id"); 404/410 like a read."""
    local = local_reference(reference)
    if local is None:
        raise UnprocessableEntity([Issue("invalid", f"'{reference[:120]}' no es una referencia local / is not a "
                                                    "local reference")])
    found = await reads.read(tx.conn, resource_type=local[0], resource_id=local[1])
    return fhirjson.loads(found.content), found.version_id


async def facility_of(tx: Transaction, reference: str | None) -> str | None:
    """The Organization behind a requester or performer: itself, a PractitionerRole's organization or a
    HealthcareService's providedBy."""
    local = local_reference(reference) if reference else None
    if local is None:
        return None
    kind, rid = local
    if kind == "Organization":
        return f"Organization/{rid}"
    if kind not in ("PractitionerRole", "HealthcareService"):
        return None
    try:
        data, _ = await load(tx, f"{kind}/{rid}")
    except FhirError:
        return None
    organization = reference_of(data.get("organization" if kind == "PractitionerRole" else "providedBy"))
    local = local_reference(organization) if organization else None
    return f"Organization/{local[1]}" if local and local[0] == "Organization" else None


async def region_of(tx: Transaction, organization: str | None) -> str | None:
    """The health region code of a facility (extension region-sanitaria of hn-establecimiento)."""
    if not organization:
        return None
    try:
        data, _ = await load(tx, organization)
    except FhirError:
        return None
    for extension in data.get("extension", []):
        if extension.get("url") == systems.EXT_HEALTH_REGION:
            code = (extension.get("valueCoding") or {}).get("code")
            if code:
                return code
    return None


def with_region_tags(data: dict, regions: set[str]) -> dict:
    """``data`` with exactly these region codes among its meta.tag (other tags kept)."""
    meta = dict(data.get("meta") or {})
    others = [t for t in meta.get("tag", []) if t.get("system") != systems.CS_HEALTH_REGION]
    tags = others + [{"system": systems.CS_HEALTH_REGION, "code": code} for code in sorted(regions)]
    if tags:
        meta["tag"] = tags
    else:
        meta.pop("tag", None)
    return {**data, "meta": meta} if meta else {k: v for k, v in data.items() if k != "meta"}


def business_of(task: dict) -> str | None:
    for coding in (task.get("businessStatus") or {}).get("coding", []):
        if coding.get("system") == systems.CS_REFERRAL_STATUS:
            return coding.get("code")
    return None


def is_referral_task(task: dict) -> bool:
    return task.get("resourceType") == "Task" and business_of(task) is not None


def is_referral(service_request: dict) -> bool:
    if REFERRAL_PROFILE in (service_request.get("meta") or {}).get("profile", []):
        return True
    return any(c.get("system") == systems.CS_REQUEST_CATEGORY and c.get("code") == "referencia"
               for category in service_request.get("category", []) for c in category.get("coding", []))


def business_status(code: str) -> dict:
    return {"coding": [{"system": systems.CS_REFERRAL_STATUS, "code": code}]}


def deadline_of(task: dict) -> str | None:
    return ((task.get("restriction") or {}).get("period") or {}).get("end")


def with_deadline(task: dict, deadline: datetime | None) -> dict:
    """Task.restriction.period.end is the referral's current deadline ("when fulfillment sought", R4
    task.html#Task.restriction); None removes it."""
    out = dict(task)
    restriction = {k: v for k, v in (out.get("restriction") or {}).items() if k != "period"}
    if deadline is not None:
        restriction["period"] = {"end": fhirjson.instant(deadline)}
    if restriction:
        out["restriction"] = restriction
    else:
        out.pop("restriction", None)
    return out
