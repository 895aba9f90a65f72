"""The Celery tasks of the notifications (thin: load by id, call the service, let Celery retry), the process
runtime they use, and the queue that hands row ids to the broker.

Registered by name on whichever Celery app is current (app/celery_app.py lists this module in ``include``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from celery import Celery, shared_task

from ece.notifications import delivery, operations
from ece.notifications.config import current
from ece.tx import unit_of_work

log = logging.getLogger(__name__)
T = TypeVar("T")

DELIVER_TASK = "ece.notifications.deliver"
PUBLISH_CONNECT_TIMEOUT_SECONDS = 2.0
SWEEP_TASK = "ece.notifications.sweep"


class _Process:
    """One event loop and one Runtime per worker process and thread, created on first use (after the prefork pool
    forks; in each thread of a ``threads`` pool)."""

    def __init__(self) -> None:
        self.factory: Callable[[], delivery.Runtime] | None = None
        self._local = threading.local()

    def run(self, work: Callable[[delivery.Runtime], Awaitable[T]]) -> T:
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            if self.factory is None:
                raise RuntimeError("ece.notifications.tasks: no runtime factory installed (app/celery_app.py)")
            local.pid = os.getpid()
            local.loop = asyncio.new_event_loop()
            local.runtime = local.loop.run_until_complete(_build(self.factory))
        return local.loop.run_until_complete(work(local.runtime))


async def _build(factory: Callable[[], delivery.Runtime]) -> delivery.Runtime:
    return factory()  # httpx and SQLAlchemy bind to the loop running when they are first used


PROCESS = _Process()


def set_runtime_factory(factory: Callable[[], delivery.Runtime]) -> None:
    PROCESS.factory = factory


@shared_task(name=DELIVER_TASK, bind=True, max_retries=None, acks_late=True)
def deliver(self: Any, row_id: str) -> str:
    """Deliver one outbox row; a failed attempt comes back after the row's backoff delay. If the database itself
    fails, the task fails and the row, untouched, is queued again by the sweep once overdue."""
    outcome = PROCESS.run(lambda runtime: delivery.deliver(runtime, row_id=row_id))
    if outcome.retry_in_seconds is not None:
        raise self.retry(countdown=outcome.retry_in_seconds)
    return outcome.state


@shared_task(name=SWEEP_TASK)
def sweep() -> int:
    """Queue again the rows the broker never took or whose worker died (run by ``ece beat``)."""

    async def work(runtime: delivery.Runtime) -> int:
        async with unit_of_work(runtime.engine) as tx:
            ids = await operations.sweep(tx, grace_seconds=current().sweep_grace_seconds)
        return len(ids)

    return PROCESS.run(work)


class BrokerQueue:
    """The ``queue`` function for ``ece.notifications.configure``: publishes one delivery task per row id.

    Runs after commit, so it never blocks its caller: one background thread per process publishes, once, without
    retrying; if the broker is unreachable the rows stay ``pending`` and the sweep queues them later.
    """

    def __init__(self, app: Celery):
        self._app = app
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._executor: ThreadPoolExecutor | None = None

    def __call__(self, ids: Sequence[str]) -> None:
        self._thread_pool().submit(self._publish, list(ids))

    def _thread_pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pid != os.getpid():  # a forked child gets its own thread
                self._pid = os.getpid()
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ece-outbox-queue")
            assert self._executor is not None
            return self._executor

    def _publish(self, ids: list[str]) -> None:
        try:
            with self._app.pool.acquire(block=True) as connection:
                # One try: kombu's defaults would retry the connection for seconds while rows pile up behind it.
                connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0,
                                             timeout=PUBLISH_CONNECT_TIMEOUT_SECONDS)
                producer = self._app.amqp.Producer(connection)
                for row_id in ids:
                    self._app.send_task(DELIVER_TASK, args=[row_id], producer=producer, retry=False)
        except Exception as error:  # broker down: the sweep will queue them
            log.warning("broker unavailable (%s): %d outbox rows wait for the sweep", error, len(ids))

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until everything handed over so far has been published (tests, shutdown)."""
        if self._executor is not None:
            self._executor.submit(lambda: None).result(timeout)
