"""Operations on the outbox that people trigger: ``$resend`` of a failed delivery, and the sweep of ``ece beat``."""

from __future__ import annotations

from sqlalchemy import text

from ece import reads
from ece.access import Actor, Forbidden, Role
from ece.access.policy import reads_everything
from ece.errors import Conflict, Issue, NotFound
from ece.notifications import inbox, outbox
from ece.notifications.delivery import lock_row
from ece.notifications.outbox import RowStatus
from ece.notifications.recipients import REGION_PREFIX, REGION_SYSTEM
from ece.reads import Version
from ece.tx import Transaction

SWEEP_BATCH_ROWS = 1000

_RESEND = text("UPDATE notification_outbox SET status = 'pending', attempts = 0, next_attempt_at = now() "
               "WHERE id = :id")
_SWEEP = text(
    "UPDATE notification_outbox SET next_attempt_at = now() + make_interval(secs => :grace) WHERE id IN ("
    " SELECT id FROM notification_outbox WHERE status IN ('pending', 'sending') "
    " AND next_attempt_at <= now() - make_interval(secs => :grace) "
    " ORDER BY next_attempt_at LIMIT :limit FOR UPDATE SKIP LOCKED) RETURNING id"
)


async def resend(tx: Transaction, *, communication_id: str, actor: Actor) -> Version:
    """``POST Communication/<id>/$resend``: a failed delivery gets a fresh set of attempts.

    Answers the Communication, now ``in-progress`` (being sent) until the delivery succeeds (``completed``) or
    fails again (``not-done``). 404 if it is not a notification; 403 unless ``may_resend``; 409 unless its
    delivery has failed.
    """
    row = await lock_row(tx, communication_id)
    if row is None:
        raise NotFound([Issue("not-found", f"Communication/{communication_id} no es una notificación del outbox / "
                                           "is not an outbox notification")])
    if not may_resend(actor, row):
        raise Forbidden("solo un sistema de confianza, la coordinación de la región o el establecimiento destinatario "
                        "reenvían una notificación / only a trusted back-end, the region's coordinator or the "
                        "recipient facility may re-send a notification", target=f"Communication/{communication_id}")
    if row["status"] != RowStatus.FAILED:
        raise Conflict([Issue("business-rule", f"Solo se reenvía una notificación fallida; está '{row['status']}' / "
                                               f"only a failed notification can be re-sent; it is {row['status']}")])
    await tx.conn.execute(_RESEND, {"id": communication_id})
    if await inbox.exists(tx, communication_id):
        await inbox.write(tx, row, status=inbox.UNREAD, received=None)
    tx.after_commit(lambda: outbox.queue([communication_id]))
    return await reads.read(tx.conn, resource_type="Communication", resource_id=communication_id)


def may_resend(actor: Actor, row: dict) -> bool:
    """A back-end that reads every type; a coordinator for the notices of (or about) their region; a clinician for
    the notices addressed to their facility or to themselves. Not an admin: a notice may be about a patient."""
    if actor.role is Role.SYSTEM:
        return reads_everything(actor)
    if actor.role == Role.COORDINATOR and actor.region:
        regions = {t.get("code") for t in row["tags"] or [] if t.get("system") == REGION_SYSTEM}
        return actor.region in regions or row["recipient"] == f"{REGION_PREFIX}{actor.region}"
    if actor.role == Role.CLINICIAN:
        return row["recipient"] in {actor.facility, actor.practitioner_role} - {None}
    return False


async def sweep(tx: Transaction, *, grace_seconds: float) -> list[str]:
    """Rows still undelivered ``grace_seconds`` after they were due: the broker never took them (it was down when
    they were written) or their worker died. Each is pushed ``grace_seconds`` further, so the next sweep does not
    queue it again while it waits in the broker, and queued again after commit."""
    ids = [r[0] for r in await tx.conn.execute(_SWEEP, {"grace": grace_seconds, "limit": SWEEP_BATCH_ROWS})]
    tx.after_commit(lambda: outbox.queue(ids))
    return ids
