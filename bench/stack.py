"""What the bench runs against: a fresh ``ece_bench`` database and an ``ece serve`` subprocess, or the
server named by ``BENCH_URL``; plus the machine description and the server's worker processes."""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import psutil

from bench.config import ROOT, VAR, Config

BENCH_DATABASE = "ece_bench"


@dataclass
class Stack:
    base: str  # FHIR base URL
    database_url: str | None  # libpq URL of the server's database, when known
    server_pid: int | None  # the ``ece serve`` process (uvicorn supervisor), when known
    started_here: bool
    notes: list[str] = field(default_factory=list)
    _process: subprocess.Popen | None = None
    _embedded: object | None = None  # keeps the embedded PostgreSQL alive for the run
    _log: object | None = None

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(15)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(5)
        if self._log is not None:
            self._log.close()


def _admin_url() -> tuple[str, object | None]:
    """A libpq URL to a database on the server to use, and the embedded server handle if one was started."""
    from app.db import EmbeddedPostgres, libpq_url
    from app.settings import get_settings

    settings = get_settings()  # the environment, then .env
    for configured in (settings.database_url, settings.test_database_url):
        if configured:
            return libpq_url(configured), None
    embedded = EmbeddedPostgres(VAR / "bench-pgdata")
    return libpq_url(embedded.url("postgres")), embedded


def _with_database(url: str, database: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(database=database).render_as_string(hide_password=False)


def fresh_database(admin_url: str) -> str:
    import psycopg

    if (urlsplit(admin_url).path.lstrip("/") or "postgres") == BENCH_DATABASE:
        admin_url = _with_database(admin_url, "postgres")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{BENCH_DATABASE}"')
    return _with_database(admin_url, BENCH_DATABASE)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(base: str, timeout: float = 90.0, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited with code {process.returncode}; see var/bench-server.log")
        try:
            with urllib.request.urlopen(f"{base}/metadata", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.25)
    raise RuntimeError(f"{base}/metadata did not answer within {timeout:.0f} s")


def start(config: Config) -> Stack:
    if config.url:
        return _attach(config)
    from app import migrate

    admin, embedded = _admin_url()
    url = fresh_database(admin)
    print(f"  database: {_masked(url)} (fresh), migrating…", flush=True)
    migrate.upgrade(url)
    port = _free_port()
    env = {**os.environ, "ECE_DATABASE_URL": url, "ECE_PORT": str(port), "ECE_HOST": "127.0.0.1",
           "ECE_WORKERS": str(config.workers),
           # The store and search alone: the cost of tokens, row filters and audit is bench.access's figure.
           "ECE_ACCESS_ENFORCED": "false"}
    VAR.mkdir(exist_ok=True)
    log = open(VAR / "bench-server.log", "w")  # noqa: SIM115 - closed by Stack.stop
    process = subprocess.Popen([sys.executable, "-m", "app", "serve"], cwd=ROOT, env=env, stdout=log,
                               stderr=subprocess.STDOUT)
    stack = Stack(f"http://127.0.0.1:{port}/fhir", url, process.pid, True, _process=process, _embedded=embedded,
                  _log=log)
    try:
        wait_ready(stack.base, process=process)
        _wait_workers(stack, config.workers)
    except BaseException:
        stack.stop()
        raise
    return stack


def _wait_workers(stack: Stack, expected: int, timeout: float = 30.0) -> None:
    """With several workers each one imports the app on its own; give them time before measuring."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(worker_pids(stack)) < expected:
        time.sleep(0.2)
    time.sleep(1.0)


def _attach(config: Config) -> Stack:
    wait_ready(config.url, timeout=10)
    stack = Stack(config.url, config.database_url, _listening_pid(config.url), False)
    if stack.server_pid is None:
        stack.notes.append("server process not found on this machine: worker RSS not measured")
    return stack


def _listening_pid(base: str) -> int | None:
    """The oldest local process listening on the URL's port (the uvicorn supervisor), if visible."""
    parts = urlsplit(base)
    if parts.hostname not in ("127.0.0.1", "localhost", "::1", socket.gethostname()):
        return None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        pids = {c.pid for c in psutil.net_connections("tcp")
                if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port and c.pid}
    except psutil.AccessDenied:
        return None
    # psutil reports each socket once, under one of the processes sharing it: with several uvicorn
    # workers that is often a worker, whose parent (the supervisor) is the server process.
    for pid in sorted(pids):
        try:
            proc = psutil.Process(pid)
            if "multiprocessing" in " ".join(proc.cmdline()) and proc.parent() is not None:
                return proc.parent().pid
            return pid
        except psutil.Error:
            continue
    return None


def worker_pids(stack: Stack) -> list[int]:
    """The uvicorn worker processes: the server's children (not multiprocessing helpers), or the server
    itself when it runs a single worker in-process."""
    if stack.server_pid is None:
        return []
    try:
        server = psutil.Process(stack.server_pid)
        children = server.children(recursive=False)
    except psutil.Error:
        return []
    workers = []
    for child in children:
        try:
            cmdline = " ".join(child.cmdline())
        except psutil.Error:
            continue
        if "resource_tracker" in cmdline or "semaphore_tracker" in cmdline:
            continue
        workers.append(child.pid)
    return workers or [stack.server_pid]


def connections_per_worker(stack: Stack) -> dict[int, int]:
    """Established client connections each worker holds on the server's port (which worker accepted them)."""
    port = urlsplit(stack.base).port
    out = {}
    for pid in worker_pids(stack):
        try:
            out[pid] = sum(1 for c in psutil.Process(pid).net_connections("tcp")
                           if c.status == psutil.CONN_ESTABLISHED and c.laddr and c.laddr.port == port)
        except psutil.Error:
            continue
    return out


def postgres_pids() -> list[int]:
    out = []
    for proc in psutil.process_iter(["name"]):
        if (proc.info["name"] or "").startswith("postgres"):
            out.append(proc.pid)
    return out


def server_version(database_url: str | None) -> str:
    if not database_url:
        return "unknown (set BENCH_DATABASE_URL)"
    import psycopg

    with psycopg.connect(database_url) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]
        settings = dict(conn.execute("SELECT name, setting FROM pg_settings WHERE name IN "
                                     "('shared_buffers', 'synchronous_commit', 'max_connections')").fetchall())
    buffers_mb = int(settings.get("shared_buffers", "0")) * 8 // 1024
    return (f"{version} (shared_buffers {buffers_mb} MB, synchronous_commit {settings.get('synchronous_commit')}, "
            f"max_connections {settings.get('max_connections')})")


def machine_lines(stack: Stack) -> list[str]:
    memory = psutil.virtual_memory().total / 2**30
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return [
        f"machine:    {os.cpu_count()} CPUs ({cpu}), {memory:.1f} GiB RAM, {platform.system()} {platform.release()}; "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} before the run",
        f"python:     {platform.python_version()} ({sys.executable})",
        f"postgresql: {server_version(stack.database_url)}",
        f"server:     {stack.base}  ({'started here' if stack.started_here else 'BENCH_URL'}; "
        f"{len(worker_pids(stack)) or '?'} worker process(es))",
        f"database:   {_masked(stack.database_url) if stack.database_url else 'unknown'}",
    ]


def _masked(url: str | None) -> str:
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url
