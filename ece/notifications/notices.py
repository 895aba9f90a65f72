"""``notify``: turn notices into outbox rows, one per channel, in the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ece.errors import BadRequest, Issue
from ece.notifications import outbox, recipients
from ece.tx import Transaction


@dataclass(frozen=True)
class Notice:
    """One event for one recipient, in Spanish and English; the channels are chosen by this module."""

    event: str  # e.g. "referral.received", "referral.accepted", "referral.overdue"
    recipient: str  # "Organization/<id>", "PractitionerRole/<id>", "Patient/<id>" or "region:<code>"
    about: str  # the resource it is about, e.g. "Task/<id>"
    title_es: str
    text_es: str
    title_en: str
    text_en: str


async def notify(tx: Transaction, notices: Iterable[Notice]) -> list[str]:
    """Write the outbox rows of ``notices`` in ``tx``; after commit one delivery task per row is queued.

    Answers the row ids (each is the idempotency key of its delivery). Nothing is queued if ``tx`` rolls back.
    """
    rows: list[dict] = []
    subjects: dict[str, tuple[list, str]] = {}
    for notice in notices:
        _check(notice)
        if notice.about not in subjects:
            subjects[notice.about] = await _subject(tx, notice.about)
        tags, number = subjects[notice.about]
        for route in await recipients.routes(tx, notice.recipient):
            rows.append({
                "id": outbox.new_row_id(), "event": notice.event, "recipient": notice.recipient,
                "about": notice.about, "channel": route.channel.value, "address": route.address,
                "language": route.language, "title_es": notice.title_es, "text_es": notice.text_es,
                "title_en": notice.title_en, "text_en": notice.text_en, "tags": tags, "reference_number": number,
            })
    return await outbox.insert_rows(tx, rows)


def _check(notice: Notice) -> None:
    missing = [name for name in ("event", "recipient", "about", "title_es", "text_es", "title_en", "text_en")
               if not isinstance(getattr(notice, name), str) or not getattr(notice, name).strip()]
    if missing:
        raise BadRequest([Issue("required", f"Aviso incompleto / incomplete notice: {', '.join(missing)}")])
    kind, _, ident = notice.about.partition("/")
    if not kind or not ident:
        raise BadRequest([Issue("invalid", f"'about' debe ser Tipo/id / must be Type/id: '{notice.about[:80]}'")])


async def _subject(tx: Transaction, about: str) -> tuple[list, str]:
    """The health-region tags of the resource a notice is about, and the number an SMS may show for it
    (its first identifier value, else the first 8 characters of its id)."""
    kind, _, ident = about.partition("/")
    resource = await recipients.read_or_none(tx, kind, ident)
    tags = [t for t in ((resource or {}).get("meta") or {}).get("tag") or []
            if isinstance(t, dict) and t.get("system") == recipients.REGION_SYSTEM]
    identifiers = [i.get("value") for i in (resource or {}).get("identifier") or []
                   if isinstance(i, dict) and isinstance(i.get("value"), str)]
    return tags, identifiers[0] if identifiers else ident[:8]
