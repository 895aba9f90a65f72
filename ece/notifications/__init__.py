"""Queued notifications: a transactional outbox, delivery tasks and the channels they deliver on.

Public API for the other bounded contexts (the referral engine):

- ``Notice`` and ``notify(tx, notices)``: outbox rows written in the caller's transaction, one per channel
  (``ece.notifications.recipients`` decides the channels), each queued for delivery after commit;
- ``install(config, queue=...)``: called once per process by the composition root (app/): the delivery
  configuration, the function that hands row ids to the broker, and the store hook of R4 Subscriptions.

Channels: the in-app inbox (FHIR Communication, ``inbox``), email (SMTP), SMS (HTTP gateway) and R4 rest-hook
Subscriptions (``subscriptions``, matched at write time). Delivery: ``delivery`` (the service), ``tasks`` (Celery).
"""

from ece import store
from ece.notifications.config import Config, QueueFunction, SmsGateway, Smtp, configure
from ece.notifications.notices import Notice, notify

__all__ = ["Config", "Notice", "Smtp", "SmsGateway", "install", "notify"]

_installed = False


def install(config: Config, *, queue: QueueFunction | None) -> None:
    """Configure delivery and match R4 Subscriptions on every store write of this process (once)."""
    global _installed
    configure(config, queue=queue)
    if not _installed:
        from ece.notifications import subscriptions

        store.on_write(subscriptions.on_write)
        _installed = True
