"""Background sampling with psutil: peak RSS of processes, and where the machine's CPU went."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable

import psutil

MB = 1024 * 1024


def _rss_tree(pid: int) -> int:
    """RSS of a process (its children counted too, for a loader that forks)."""
    proc = psutil.Process(pid)
    total = proc.memory_info().rss
    for child in proc.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            total += child.memory_info().rss
    return total


class PeakRss:
    """Samples the RSS of each of a changing set of processes every ``interval`` seconds."""

    def __init__(self, pids: Callable[[], list[int]], interval: float, *, tree: bool = False):
        self._pids = pids
        self._interval = interval
        self._tree = tree
        self.peak: dict[int, int] = {}
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="rss-sampler")

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self._interval)

    def sample(self) -> None:
        for pid in self._pids():
            try:
                rss = _rss_tree(pid) if self._tree else psutil.Process(pid).memory_info().rss
            except psutil.Error:
                continue
            if rss > self.peak.get(pid, 0):
                self.peak[pid] = rss
        self.samples += 1

    def pids(self) -> list[int]:
        return self._pids()

    def peak_mb(self) -> dict[int, float]:
        return {pid: rss / MB for pid, rss in sorted(self.peak.items())}


class Sampler(PeakRss):
    """Worker RSS during the HTTP workloads, plus a CPU split between a ``mark`` and now."""

    def __init__(self, workers: Callable[[], list[int]], postgres: Callable[[], list[int]], interval: float = 0.2,
                 connections: Callable[[], dict[int, int]] | None = None):
        super().__init__(workers, interval)
        self._postgres = postgres
        self._connections = connections
        self.connections_at_mark: dict[int, int] = {}
        self._mark: tuple[float, dict, dict, float, float] | None = None
        self.per_worker: dict[int, float] = {}  # CPU seconds of each worker, from the last cpu_since_mark

    def _cpu(self, pids: list[int]) -> dict[int, float]:
        out = {}
        for pid in pids:
            try:
                t = psutil.Process(pid).cpu_times()
                out[pid] = t.user + t.system
            except psutil.Error:
                continue
        return out

    def connections(self) -> dict[int, int]:
        return self._connections() if self._connections else {}

    def mark(self) -> None:
        self.connections_at_mark = self.connections()
        own = psutil.Process(os.getpid()).cpu_times()
        self._mark = (time.perf_counter(), self._cpu(self._pids()), self._cpu(self._postgres()),
                      own.user + own.system, _busy())

    def cpu_since_mark(self) -> dict[str, float]:
        """CPU seconds used by the API workers, PostgreSQL, this client, everything else, and left idle."""
        if self._mark is None:
            return {}
        started, workers0, postgres0, own0, busy0 = self._mark
        wall = time.perf_counter() - started
        capacity = wall * (os.cpu_count() or 1)
        if capacity <= 0:
            return {}
        self.per_worker = {pid: v - workers0.get(pid, 0.0) for pid, v in self._cpu(self._pids()).items()}
        workers = sum(self.per_worker.values())
        postgres = sum(v - postgres0.get(pid, 0.0) for pid, v in self._cpu(self._postgres()).items())
        own_now = psutil.Process(os.getpid()).cpu_times()
        client = own_now.user + own_now.system - own0
        busy = _busy() - busy0
        split = {"workers": workers, "postgres": postgres, "client": client}
        split["other"] = max(0.0, busy - workers - postgres - client)
        split["idle"] = max(0.0, capacity - busy)
        return split


def _busy() -> float:
    t = psutil.cpu_times()
    return t.user + t.system + getattr(t, "nice", 0.0) + getattr(t, "irq", 0.0) + getattr(t, "softirq", 0.0) \
        + getattr(t, "steal", 0.0)
