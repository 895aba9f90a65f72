"""Who gets a notice on which channel, decided when the notice is written.

- ``Organization/<id>`` and ``PractitionerRole/<id>``: the in-app inbox, and email to each ``telecom`` entry
  with ``system = email`` that is in use.

Email and SMS are channels only where configured (ECE_SMTP_HOST, ECE_SMS_GATEWAY_URL); otherwise they are skipped
when the notice is written, not tried and failed later.
- ``Patient/<id>``: the in-app inbox, and the patient's preferred channel (see below) in the patient's language.
- ``region:<code>``: the in-app inbox of the region's coordinators (a Communication addressed by identifier to
  the region code, tagged with the region).

Patient preferences, read from the Patient resource (documented in README.md):

- language: the ``communication`` entry with ``preferred = true`` (its ``language`` code, ``es`` or ``en``, BCP 47
  prefixes such as ``en-US`` allowed); Spanish otherwise;
- channel: among ``telecom`` entries with ``system`` ``sms`` or ``email`` still in use (``use`` not ``old``, no
  ``period.end`` in the past), the one with the lowest ``rank`` (unranked last, then in order);
- consent to SMS: the extension ``https://fhir.salud.gob.hn/StructureDefinition/consentimiento-sms`` with
  ``valueBoolean = true`` on the Patient. Without it an ``sms`` entry is skipped and the next channel is used.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from ece import fhirjson, reads
from ece.errors import BadRequest, Gone, Issue, NotFound
from ece.notifications.config import current
from ece.notifications.outbox import Channel
from ece.tx import Transaction

SMS_CONSENT_EXTENSION = "https://fhir.salud.gob.hn/StructureDefinition/consentimiento-sms"
REGION_SYSTEM = "https://fhir.salud.gob.hn/CodeSystem/region-sanitaria"
REGION_PREFIX = "region:"
_DIRECTORY_TYPES = ("Organization", "PractitionerRole")


@dataclass(frozen=True)
class Route:
    channel: Channel
    address: str
    language: str


def parse_recipient(recipient: str) -> tuple[str, str]:
    """("Organization", id), ("PractitionerRole", id), ("Patient", id) or ("region", code); 400 otherwise."""
    if recipient.startswith(REGION_PREFIX) and len(recipient) > len(REGION_PREFIX):
        return "region", recipient[len(REGION_PREFIX):]
    kind, _, ident = recipient.partition("/")
    if kind in (*_DIRECTORY_TYPES, "Patient") and ident and "/" not in ident:
        return kind, ident
    raise BadRequest([Issue("invalid", f"Destinatario no válido / invalid notice recipient '{recipient[:80]}' "
                                       "(Organization/<id>, PractitionerRole/<id>, Patient/<id> o region:<code>)")])


async def routes(tx: Transaction, recipient: str) -> list[Route]:
    """The channels a notice to ``recipient`` goes out on (the in-app inbox always first)."""
    kind, ident = parse_recipient(recipient)
    if kind == "region":
        return [Route(Channel.INBOX, recipient, "es")]
    resource = await read_or_none(tx, kind, ident)
    if kind == "Patient":
        language = preferred_language(resource)
        found = [Route(Channel.INBOX, recipient, language)]
        preferred = preferred_contact(resource)
        if preferred is not None:
            found.append(Route(preferred[0], preferred[1], language))
        return found
    emails = [t["value"] for t in _usable_telecom(resource) if t.get("system") == "email"] if _email_on() else []
    return [Route(Channel.INBOX, recipient, "es"), *(Route(Channel.EMAIL, e, "es") for e in emails)]


async def read_or_none(tx: Transaction, resource_type: str, resource_id: str) -> dict | None:
    try:
        found = await reads.read(tx.conn, resource_type=resource_type, resource_id=resource_id)
    except (NotFound, Gone):
        return None
    return fhirjson.loads(found.content or b"{}")


def preferred_language(patient: dict | None) -> str:
    for entry in (patient or {}).get("communication") or []:
        if isinstance(entry, dict) and entry.get("preferred") is True:
            codings = (entry.get("language") or {}).get("coding") or []
            codes = [c.get("code", "") for c in codings if isinstance(c, dict)]
            if any(str(c).lower().startswith("en") for c in codes):
                return "en"
            return "es"
    return "es"


def sms_consent(patient: dict | None) -> bool:
    return any(isinstance(e, dict) and e.get("url") == SMS_CONSENT_EXTENSION and e.get("valueBoolean") is True
               for e in (patient or {}).get("extension") or [])


def preferred_contact(patient: dict | None) -> tuple[Channel, str] | None:
    """The patient's preferred channel other than the inbox, honouring the SMS consent."""
    candidates = []
    for order, entry in enumerate(_usable_telecom(patient)):
        system = entry.get("system")
        if system == "sms" and sms_consent(patient) and _sms_on():
            candidates.append((_rank(entry), order, Channel.SMS, entry["value"]))
        elif system == "email" and _email_on():
            candidates.append((_rank(entry), order, Channel.EMAIL, entry["value"]))
    if not candidates:
        return None
    _rank_value, _order, channel, address = min(candidates)
    return channel, address


def _email_on() -> bool:
    return bool(current().smtp.host)


def _sms_on() -> bool:
    return bool(current().sms.url)


def _rank(entry: dict) -> int:
    rank = entry.get("rank")
    return rank if isinstance(rank, int) and rank > 0 else 2**31


def _usable_telecom(resource: dict | None) -> list[dict]:
    now = datetime.now(UTC).isoformat()
    usable = []
    for entry in (resource or {}).get("telecom") or []:
        if not isinstance(entry, dict) or not isinstance(entry.get("value"), str) or not entry["value"].strip():
            continue
        if entry.get("use") == "old":
            continue
        end = (entry.get("period") or {}).get("end")
        if isinstance(end, str) and end < now[:len(end)]:
            continue
        usable.append(entry)
    return usable
