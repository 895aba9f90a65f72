"""A real deployment for the fault tests: ``ece serve``, two ``ece worker`` and one ``ece beat`` as separate processes
on one database and the machine's RabbitMQ (ECE_BROKER_URL), on a queue of their own so parallel test runs and other
users of that broker never take each other's messages. All start at once, so the stack is up in one start-up time."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

from tests.conftest import ROOT, die_with_parent

READY_SECONDS = 60


@dataclass
class Stack:
    env: dict[str, str]
    logs: Path
    base: str  # the FHIR base of the API
    database_url: str
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    log_paths: dict[str, Path] = field(default_factory=dict)
    starts: int = 0

    def start(self, name: str, *command: str) -> None:
        """Start ``ece <command>`` in its own process group (so killing it takes its pool children too)."""
        self.starts += 1
        path = self.logs / f"{name}-{self.starts}.log"
        log = open(path, "w")  # noqa: SIM115 - the child process owns it until it exits
        self.processes[name] = subprocess.Popen([sys.executable, "-m", "app", *command], cwd=ROOT, env=self.env,
                                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                                preexec_fn=die_with_parent)
        self.log_paths[name] = path

    def wait_until_ready(self) -> None:
        deadline = time.monotonic() + READY_SECONDS
        waiting = set(self.processes)
        while waiting:
            for name in list(waiting):
                if self.processes[name].poll() is not None:
                    raise RuntimeError(f"{name} exited; see {self.log_paths[name]}")
                if self._ready(name):
                    waiting.discard(name)
            if time.monotonic() > deadline:
                raise RuntimeError(f"not ready within {READY_SECONDS} s: {sorted(waiting)} (logs in {self.logs})")
            time.sleep(0.1)

    def _ready(self, name: str) -> bool:
        if name == "api":
            try:
                return httpx.get(f"{self.base}/metadata", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False
        marker = "ready." if name.startswith("worker") else "beat: Starting"
        return marker in self.log_paths[name].read_text(errors="replace")

    def worker_connected_to(self, port: int) -> str:
        """The worker one of whose processes holds a TCP connection to ``port`` on this machine."""
        for name, process in self.processes.items():
            if not name.startswith("worker"):
                continue
            tree = [psutil.Process(process.pid), *psutil.Process(process.pid).children(recursive=True)]
            for member in tree:
                if any(c.raddr and c.raddr.port == port for c in member.net_connections(kind="tcp")):
                    return name
        raise AssertionError(f"no worker is connected to port {port}")

    def kill(self, name: str) -> None:
        """SIGKILL the process group of a process this stack started: no warm shutdown, no acknowledgement."""
        process = self.processes.pop(name)
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)

    def stop(self) -> None:
        for name in list(self.processes):
            self.kill(name)
