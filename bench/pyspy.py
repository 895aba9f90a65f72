"""Optional profiles of the API workers (``BENCH_PROFILE=1``): ``py-spy record`` on every worker during
the measured part of each HTTP workload, written as speedscope files under var/, plus a printed
top list of where the workers' samples were.

``--native`` is needed because uvicorn runs on uvloop: without it py-spy sees no Python frame under
the C event loop (and py-spy cannot sample native stacks without pausing the process), so sampling
slows the workers down: figures of a profiled run are not for comparison.
"""

from __future__ import annotations

import collections
import json
import shutil
import subprocess
import sys
from pathlib import Path

from bench.config import ROOT, VAR

RATE = 50  # samples per second per worker


def py_spy() -> str | None:
    local = Path(sys.executable).parent / "py-spy"
    return str(local) if local.exists() else shutil.which("py-spy")


class Profiler:
    def __init__(self, executable: str):
        self.executable = executable
        self._running: list[tuple[subprocess.Popen, Path]] = []
        self.files: list[Path] = []
        for old in VAR.glob("bench-profile-*.speedscope.json"):  # a previous run's
            old.unlink()

    def start(self, name: str, pids: list[int], seconds: float) -> None:
        VAR.mkdir(exist_ok=True)
        for pid in pids:
            out = VAR / f"bench-profile-{name}-{pid}.speedscope.json"
            command = [self.executable, "record", "--native", "-r", str(RATE), "-d", str(max(1, int(seconds))),
                       "-p", str(pid), "-f", "speedscope", "-o", str(out)]
            process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            self._running.append((process, out))

    def finish(self, top: int = 15) -> list[str]:
        files = []
        complaints = []
        for process, out in self._running:
            try:
                _, err = process.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                _, err = process.communicate()
            if out.exists():
                files.append(out)
            elif err.strip():
                complaints.append(err.decode("utf-8", "replace").strip().splitlines()[-1])
        self._running = []
        self.files.extend(files)
        if not files:
            return [f"    profile: py-spy wrote nothing ({'; '.join(complaints) or 'no reason given'})"]
        total, inclusive, deepest, gc_samples = summarise(files)
        lines = [f"    profile ({', '.join(str(f.relative_to(ROOT)) for f in files)}; {total:,} samples):",
                 "      inclusive (share of worker samples in a frame or below it):"]
        lines += [f"        {100 * n / total:5.1f}%  {name}" for name, n in inclusive.most_common(top)]
        if gc_samples:
            lines.append(f"      garbage collection (gc_collect_main on the stack): {100 * gc_samples / total:.1f}%")
        lines.append("      self (deepest Python frame, native time under it included):")
        lines += [f"        {100 * n / total:5.1f}%  {name}" for name, n in deepest.most_common(top)]
        return lines


_SKIP_INCLUSIVE = ("asyncio/", "uvicorn/", "starlette/", "fastapi/", "multiprocessing/", "runpy", "<string>",
                   "contextlib", "anyio/")


def summarise(files: list[Path]) -> tuple[int, collections.Counter, collections.Counter, int]:
    """Aggregate speedscope samples by Python frame; the uvicorn ping thread is left out."""
    inclusive: collections.Counter = collections.Counter()
    deepest: collections.Counter = collections.Counter()
    total = gc_samples = 0
    for path in files:
        document = json.loads(path.read_text())
        frames = document["shared"]["frames"]
        names = [_name(f) for f in frames]
        python = [f.get("file", "").endswith(".py") for f in frames]
        collecting = {i for i, f in enumerate(frames) if f.get("name", "").startswith("gc_collect")}
        for profile in document["profiles"]:
            for stack, _weight in zip(profile["samples"], profile["weights"], strict=False):
                py_frames = [names[i] for i in stack if python[i]]
                if not py_frames or any("always_pong" in n for n in py_frames):
                    continue
                total += 1
                gc_samples += any(i in collecting for i in stack)
                deepest[py_frames[-1]] += 1
                for name in set(py_frames):
                    if not any(s in name for s in _SKIP_INCLUSIVE):
                        inclusive[name] += 1
    return total, inclusive, deepest, gc_samples


def _name(frame: dict) -> str:
    path = frame.get("file", "")
    for marker in ("site-packages/", "/lib/python3.11/", str(ROOT) + "/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{frame.get('name', '?')} ({path}:{frame.get('line', '')})"
