"""Delivery configuration: what the composition root (app/) hands the notifications module.

Kept apart from app.settings so ``ece`` never reads the environment itself; ``app`` builds one ``Config``
from its ``ECE_*`` settings and installs it with ``ece.notifications.configure``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Smtp:
    host: str | None = None  # None: email is not a channel
    port: int = 25
    tls: str = "none"  # none | starttls | ssl
    user: str | None = None
    password: str | None = None
    sender: str = "notificaciones@salud.gob.hn"
    ca_file: str | None = None  # PEM CA bundle verifying the server under starttls/ssl; None: the system's


DEFAULT_SMS_TEMPLATE = ("Salud Honduras: {titulo}, referencia {referencia}. Aviso del {fecha}; los detalles, en su "
                        "establecimiento.")


@dataclass(frozen=True)
class SmsGateway:
    url: str | None = None  # None: SMS is not a channel
    token: str | None = None
    template: str = DEFAULT_SMS_TEMPLATE


@dataclass(frozen=True)
class Config:
    smtp: Smtp = field(default_factory=Smtp)
    sms: SmsGateway = field(default_factory=SmsGateway)
    retry_base_seconds: float = 10.0
    sweep_grace_seconds: float = 30.0
    timeout_seconds: float = 10.0
    health_max_outbox_age_seconds: float = 300.0


QueueFunction = Callable[[Sequence[str]], None]
"""Hands outbox row ids to the broker (one delivery task each). It must not block: it runs after commit."""


@dataclass
class _State:
    config: Config = field(default_factory=Config)
    queue: QueueFunction | None = None


STATE = _State()


def configure(config: Config, *, queue: QueueFunction | None) -> None:
    """Install the delivery configuration and the function that queues row ids (None: rows wait for the sweep)."""
    STATE.config = config
    STATE.queue = queue


def current() -> Config:
    return STATE.config
