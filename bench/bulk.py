"""The loader workload: an NDJSON file of realistic resources, streamed to disk, then ``ece load FILE``
as a subprocess whose peak RSS is sampled every 100 ms."""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from bench import fixtures
from bench.config import ROOT, VAR
from bench.sampler import MB, PeakRss

FLUSH_BYTES = 1 << 20


@dataclass
class LoadResult:
    file_mb: float
    resources_in_file: int
    generate_s: float
    seconds: float
    peak_rss_mb: float
    exit_code: int
    counts: dict[str, int] = field(default_factory=dict)
    command: str = ""
    output_tail: str = ""

    @property
    def loaded(self) -> int:
        return self.counts.get("created", 0) + self.counts.get("updated", 0) + self.counts.get("unchanged", 0)

    @property
    def resources_per_s(self) -> float:
        return self.loaded / self.seconds if self.seconds else 0.0

    @property
    def mb_per_s(self) -> float:
        return self.file_mb / self.seconds if self.seconds else 0.0


def write_ndjson(path: Path, megabytes: float, run: str, bundle_size: int) -> tuple[int, float]:
    """Write resources with ids (as a FHIR bulk export would) until the file reaches ``megabytes``;
    memory stays bounded by one buffer of about 1 MB. Answers (resources, seconds)."""
    target = int(megabytes * MB)
    started = time.perf_counter()
    written = 0
    count = 0
    buffer: list[bytes] = []
    buffered = 0
    with path.open("wb") as handle:
        for resource in fixtures.documents(random.Random(f"{run}-load"), f"{run}l", bundle_size=bundle_size):
            line = orjson.dumps(resource) + b"\n"
            buffer.append(line)
            buffered += len(line)
            count += 1
            if buffered >= FLUSH_BYTES:
                handle.write(b"".join(buffer))
                written += buffered
                buffer, buffered = [], 0
                if written >= target:
                    break
        if buffer:
            handle.write(b"".join(buffer))
    return count, time.perf_counter() - started


def _command(path: Path) -> list[str]:
    script = Path(sys.executable).parent / "ece"
    if script.exists():
        return [str(script), "load", str(path)]
    return [sys.executable, "-m", "app", "load", str(path)]


_ERROR = re.compile(r"^[\w.]*(Error|Exception)\b")
_COUNT = re.compile(r"^[^\n/]+/ (created|updated|unchanged|refused):\s*(\d+)\s*$", re.MULTILINE)


def run(database_url: str, *, megabytes: float, run_id: str, bundle_size: int) -> LoadResult:
    VAR.mkdir(exist_ok=True)
    path = VAR / f"bench-load-{run_id}.ndjson"
    try:
        count, generate_s = write_ndjson(path, megabytes, run_id, bundle_size)
        file_mb = path.stat().st_size / MB
        print(f"  wrote {file_mb:.0f} MB, {count:,} resources to {path.relative_to(ROOT)} in {generate_s:.1f} s; "
              f"loading…", flush=True)
        command = _command(path)
        env = {**os.environ, "ECE_DATABASE_URL": database_url}
        log_path = VAR / "bench-load.log"
        with log_path.open("wb") as log:
            started = time.perf_counter()
            process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=log)
            with PeakRss(lambda: [process.pid] if process.poll() is None else [], 0.1, tree=True) as rss:
                output = process.communicate()[0].decode("utf-8", "replace")
            seconds = time.perf_counter() - started
        counts = {name: int(value) for name, value in _COUNT.findall(output)}
        if process.returncode != 0:
            errors = [line.strip() for line in log_path.read_text("utf-8", "replace").splitlines()
                      if _ERROR.match(line.strip())]
            output += "\n" + "\n".join(errors[-3:]) + f"\n(stderr: {log_path.relative_to(ROOT)})"
        peak = max(rss.peak.values(), default=0) / MB
        return LoadResult(file_mb, count, generate_s, seconds, peak, process.returncode, counts,
                          " ".join(command[:2] + [str(path.relative_to(ROOT))]), output[-2000:])
    finally:
        path.unlink(missing_ok=True)
