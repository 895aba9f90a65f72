"""The Celery application behind ``ece worker`` and ``ece beat``, and the notifications' wiring: wiring only; task
modules go in ``include``.

The broker is ``ECE_BROKER_URL`` (RabbitMQ in production) or, when it is empty, kombu's SQLAlchemy transport on
the record's own PostgreSQL, so a demo needs nothing more than the database.
"""

from __future__ import annotations

import httpx
from celery import Celery, signals
from kombu import Exchange, Queue

from app.settings import Settings, get_settings
from ece.notifications import Config, SmsGateway, Smtp, install
from ece.notifications.delivery import Runtime
from ece.notifications.tasks import BrokerQueue, set_runtime_factory

# kombu's SQLAlchemy transport polls its message table; its default pause between empty polls is 1 s.
SQL_BROKER_POLLING_INTERVAL_SECONDS = 0.2


def broker_url(settings: Settings) -> str:
    if settings.broker_url:
        return settings.broker_url
    from app.db import resolve_database_url

    # kombu cuts "sqla+" off and hands the rest to sqlalchemy.create_engine, so the psycopg 3 dialect
    # ("postgresql+psycopg://") is kept; a bare "sqla+postgresql://" would ask for psycopg2, not installed.
    # The transport creates its own tables (kombu_queue, kombu_message) in that database. It hides a message
    # once a worker takes it and never shows it again: a worker killed outright loses what it had taken (the
    # outbox sweep of CONVENTIONS.md covers that), so production uses RabbitMQ.
    return "sqla+" + resolve_database_url(settings)


def _use_short_sql_polling() -> None:
    # Not broker_transport_options={"polling_interval": ...}: that transport passes every option on to
    # create_engine(), which refuses the unknown keyword (kombu 5.7), so set the transport's own default.
    from kombu.transport import sqlalchemy as kombu_sqlalchemy

    kombu_sqlalchemy.Transport.polling_interval = SQL_BROKER_POLLING_INTERVAL_SECONDS


_settings = get_settings()
_broker = broker_url(_settings)
TASK_QUEUE = _settings.task_queue
if _broker.startswith(("sqla+", "sqlalchemy+")):
    _use_short_sql_polling()

celery = Celery("ece", broker=_broker, include=["app.referral_tasks", "ece.notifications.tasks"])  # task modules
celery.conf.update(
    # A task is acknowledged when it finishes, not when it is received, and a pool process killed mid-task
    # (OOM, SIGKILL) gets its message requeued; on RabbitMQ so does a whole worker that dies, its unacked
    # messages returning when its connection drops. Work can run twice, so tasks must be idempotent.
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    # With late acks, each process reserves one message at a time; prefetched work would wait behind a
    # long task and be redelivered only when that worker's connection dies.
    worker_prefetch_multiplier=1,
    # On broker connection loss the unacked messages go back to the queue; cancel the running copies
    # rather than finish them twice.
    worker_cancel_long_running_tasks_on_connection_loss=True,
    # Durable exchange and queue so queued work survives a RabbitMQ restart (messages are persistent by
    # default).
    task_queues=(
        Queue(TASK_QUEUE, Exchange(TASK_QUEUE, type="direct", durable=True), routing_key=TASK_QUEUE, durable=True),
    ),
    task_default_queue=TASK_QUEUE,
    task_default_exchange=TASK_QUEUE,
    task_default_routing_key=TASK_QUEUE,
    # Tasks receive ids, never objects (CONVENTIONS.md), so JSON is enough and pickle is never accepted.
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    timezone="America/Tegucigalpa",
    enable_utc=True,
    broker_connection_retry_on_startup=True,
    beat_schedule={
        # referral.deadlines: mark overdue referrals, escalate, redirect when configured.
        "referral-deadlines": {"task": "referral.sweep_deadlines", "schedule": float(_settings.referral_sweep_seconds)},
        "notifications-sweep": {"task": "ece.notifications.sweep", "schedule": _settings.notify_sweep_seconds},
    },
    beat_schedule_filename=str(_settings.data_dir / "celerybeat-schedule"),
)


def notifications_config(settings: Settings) -> Config:
    return Config(
        smtp=Smtp(host=settings.smtp_host or None, port=settings.smtp_port, tls=settings.smtp_tls,
                  user=settings.smtp_user or None, password=settings.smtp_password, sender=settings.smtp_from,
                  ca_file=settings.smtp_ca_file or None),
        sms=SmsGateway(url=settings.sms_gateway_url or None, token=settings.sms_gateway_token or None,
                       template=settings.sms_template),
        retry_base_seconds=settings.notify_retry_base_seconds,
        sweep_grace_seconds=settings.notify_sweep_grace_seconds,
        timeout_seconds=settings.notify_timeout_seconds,
        health_max_outbox_age_seconds=settings.health_max_outbox_age_seconds,
    )


BROKER_QUEUE = BrokerQueue(celery)


def install_notifications(settings: Settings) -> None:
    """Every process that writes (API, worker, ``ece load``) queues outbox rows on this broker and matches
    R4 Subscriptions."""
    install(notifications_config(settings), queue=BROKER_QUEUE)


def ping_broker() -> None:
    """Raises when the broker cannot be reached (``/health``)."""
    with celery.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1, timeout=2)


def _delivery_runtime() -> Runtime:
    settings = get_settings()
    from app.db import make_async_engine, resolve_database_url

    # Asynchronous commit: every delivery is safe to redo (make_async_engine), and waiting for the WAL flush
    # was a third of an inbox delivery's time (bench/notifications.py).
    # One connection per delivering thread or process (and one spare): a delivery holds one at a time.
    return Runtime(engine=make_async_engine(resolve_database_url(settings), pool_size=1, synchronous_commit=False),
                   http=httpx.AsyncClient(timeout=settings.notify_timeout_seconds))


@signals.worker_init.connect
def _worker_starts(**_: object) -> None:
    # The worker writes (inbox Communications, Subscription status) through the store, which validates as the
    # API does: the same national profiles apply.
    from fhir_profiles.enforcement import install_validator

    settings = get_settings()
    install_validator(settings.enforced_profile_types)
    install_notifications(settings)
    set_runtime_factory(_delivery_runtime)
    _warm_up()


def _warm_up() -> None:
    """Load, before the pool forks, what the first delivery would otherwise load in each child (the registries
    and the R4 models of what the worker writes: ~4 s measured on the first task without this)."""
    from ece.capability import capability_statement
    from ece.limits import LIMITS
    from ece.validation import check_resource

    capability_statement("")
    for sample in ({"resourceType": "Communication", "status": "completed"},
                   {"resourceType": "Subscription", "status": "off", "reason": "-", "criteria": "Task",
                    "channel": {"type": "rest-hook"}}):
        check_resource(sample, expected_type=None, max_json_depth=LIMITS.max_json_depth)
