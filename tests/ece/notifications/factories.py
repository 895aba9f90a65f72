"""Explicit, deterministic resources for the notification tests, written through the store."""

from __future__ import annotations

from ece import store
from ece.notifications import Notice
from ece.notifications.recipients import REGION_SYSTEM, SMS_CONSENT_EXTENSION
from ece.tx import Transaction


async def create_organization(tx: Transaction, *, org_id: str, emails: tuple[str, ...] = ()) -> str:
    data: dict = {"resourceType": "Organization", "id": org_id, "name": f"Establecimiento {org_id}"}
    if emails:
        data["telecom"] = [{"system": "email", "value": e} for e in emails]
    await store.update(tx, resource_type="Organization", resource_id=org_id, data=data)
    return f"Organization/{org_id}"


async def create_patient(tx: Transaction, *, patient_id: str, telecom: list[dict] | None = None,
                         sms_consent: bool = False, language: str | None = None) -> str:
    data: dict = {"resourceType": "Patient", "id": patient_id, "name": [{"family": "Zelaya", "given": ["Ana"]}]}
    if telecom:
        data["telecom"] = telecom
    if sms_consent:
        data["extension"] = [{"url": SMS_CONSENT_EXTENSION, "valueBoolean": True}]
    if language:
        data["communication"] = [{"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": language}]},
                                  "preferred": True}]
    await store.update(tx, resource_type="Patient", resource_id=patient_id, data=data)
    return f"Patient/{patient_id}"


async def create_task(tx: Transaction, *, task_id: str, owner: str, region: str = "08",
                      number: str = "REF-2026-000123") -> str:
    data = {"resourceType": "Task", "id": task_id, "status": "requested", "intent": "order",
            "identifier": [{"system": "https://fhir.salud.gob.hn/sid/referencia", "value": number}],
            "meta": {"tag": [{"system": REGION_SYSTEM, "code": region}]},
            "owner": {"reference": owner}}
    await store.update(tx, resource_type="Task", resource_id=task_id, data=data)
    return f"Task/{task_id}"


def notice(*, recipient: str, about: str, event: str = "referral.received") -> Notice:
    return Notice(event=event, recipient=recipient, about=about,
                  title_es="Referencia recibida", text_es="Tiene una referencia nueva por revisar.",
                  title_en="Referral received", text_en="A new referral is waiting for review.")
