"""The search query mix and its HTTP measurement: 8 keep-alive aiohttp clients (``bench.load``'s runner),
each drawing query types and patients at random from its own seeded generator.

Every query is built from the keys of loaded patients (``bench.population.PatientKey``), so it always
matches real data: a patient's DNI (or birth registration number), the first four letters of a family name, a
year from a birth date, ...
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from urllib.parse import urlencode

import aiohttp
import orjson
from yarl import URL

from bench import fixtures
from bench.load import HEADERS, Result, _run
from bench.population import HEART_RATE, PatientKey
from bench.sampler import Sampler
from synthetic.ids import DATA_END  # records end on this day

HR = f"{fixtures.LOINC}|{HEART_RATE}"

# (label, resource type) in the order they are printed; the builders below give the parameters.
QUERIES = [
    ("identifier", "Patient"),
    ("name", "Patient"),
    ("birthdate", "Patient"),
    ("obs subject+code", "Observation"),
    ("obs code+date", "Observation"),
    ("enc patient _sort", "Encounter"),
    ("_include", "Observation"),
    ("_revinclude", "Patient"),
    ("chain", "Observation"),
    ("_has", "Patient"),
]
SHOWN = {
    "identifier": "Patient?identifier=<DNI system>|<dni> (birth registration for minors)",
    "name": "Patient?name=<first 4 letters of a family name>",
    "birthdate": "Patient?birthdate=ge<d>&birthdate=lt<d + 1 year>",
    "obs subject+code": "Observation?subject=Patient/<id>&code=loinc|8867-4",
    "obs code+date": "Observation?code=loinc|8867-4&date=ge<7-45 days before the data end>&_count=20",
    "enc patient _sort": "Encounter?patient=<id>&_sort=-date",
    "_include": "Observation?subject=Patient/<id>&_include=Observation:encounter",
    "_revinclude": "Patient?_id=<id>&_revinclude=Encounter:subject",
    "chain": "Observation?subject:Patient.identifier=<system>|<dni>&code=loinc|8867-4",
    "_has": "Patient?identifier=<system>|<dni>&_has:Observation:subject:code=loinc|8867-4",
}


def _dni(key: PatientKey) -> str:
    return key.identifier


def _year_later(day: str) -> str:
    start = date.fromisoformat(day)
    try:
        return start.replace(year=start.year + 1).isoformat()
    except ValueError:  # 29 February
        return (start + timedelta(days=365)).isoformat()


def params(label: str, key: PatientKey, rng: random.Random) -> list[tuple[str, str]]:
    """The query parameters of one request of type ``label`` about patient ``key``."""
    patient = f"Patient/{key.id}"
    if label == "identifier":
        return [("identifier", _dni(key))]
    if label == "name":
        return [("name", key.family.split()[0][:4])]
    if label == "birthdate":
        return [("birthdate", f"ge{key.birth_date}"), ("birthdate", f"lt{_year_later(key.birth_date)}")]
    if label == "obs subject+code":
        return [("subject", patient), ("code", HR)]
    if label == "obs code+date":
        since = DATA_END - timedelta(days=rng.randint(7, 45))
        return [("code", HR), ("date", f"ge{since.isoformat()}"), ("_count", "20")]
    if label == "enc patient _sort":
        return [("patient", key.id), ("_sort", "-date")]
    if label == "_include":
        return [("subject", patient), ("_include", "Observation:encounter")]
    if label == "_revinclude":
        return [("_id", key.id), ("_revinclude", "Encounter:subject")]
    if label == "chain":
        return [("subject:Patient.identifier", _dni(key)), ("code", HR)]
    if label == "_has":
        return [("identifier", _dni(key)), ("_has:Observation:subject:code", HR)]
    raise ValueError(label)


def url(base: str, resource_type: str, pairs: list[tuple[str, str]]) -> URL:
    return URL(f"{base}/{resource_type}?{urlencode(pairs)}", encoded=True)


@dataclass
class MixResult:
    mix: Result
    per_query: dict[str, Result] = field(default_factory=dict)
    # HTTP 400 (too-costly) or 500 after at least 90% of the database's statement_timeout: the query was
    # cancelled there. Counted in the latencies (at the time it took), not in the errors.
    timeouts: dict[str, int] = field(default_factory=dict)


async def _client(session: aiohttp.ClientSession, base: str, deadline: float, measure_from: float,
                  result: MixResult, keys: list[PatientKey], rng: random.Random, timeout_s: float) -> None:
    mix, per_query = result.mix, result.per_query
    while time.perf_counter() < deadline:
        label, resource_type = rng.choice(QUERIES)
        target = url(base, resource_type, params(label, rng.choice(keys), rng))
        started = time.perf_counter()
        try:
            async with session.get(target, headers=HEADERS) as response:
                payload = await response.read()
                status = response.status
        except (TimeoutError, aiohttp.ClientError) as exc:
            if started >= measure_from:
                mix.error(f"GET {target}: {type(exc).__name__}: {exc}")
                per_query[label].errors += 1
            continue
        finished = time.perf_counter()
        if started < measure_from:
            continue
        elapsed = finished - started
        if status in (400, 500) and timeout_s and elapsed >= 0.9 * timeout_s:
            result.timeouts[label] = result.timeouts.get(label, 0) + 1
        elif status != 200:
            mix.error(f"GET {target}: HTTP {status}: {payload[:200]!r}")
            per_query[label].errors += 1
            continue
        for counted in (mix, per_query[label]):
            counted.requests += 1
            counted.latencies.append(elapsed)


def run(base: str, keys: list[PatientKey], *, clients: int, warmup_s: float, seconds: float, sampler: Sampler,
        seed: int, timeout_s: float = 0) -> MixResult:
    """The mix for ``seconds`` after ``warmup_s`` of the same load, ``clients`` concurrent clients."""
    out = MixResult(Result("search mix"), {label: Result(label) for label, _ in QUERIES})

    def client(session, base, deadline, measure_from, mix, index):
        out.mix = mix
        return _client(session, base, deadline, measure_from, out, keys, random.Random(seed * 1000 + index),
                       timeout_s)

    mix = asyncio.run(_run("search mix", base, clients, warmup_s, seconds, sampler, client))
    out.mix = mix
    for result in out.per_query.values():
        result.seconds = mix.seconds
    return out


@dataclass
class Shape:
    """What one query type answers: matches (Bundle.total) and entries returned, averaged over samples, and
    its median latency when it runs alone (one client, nothing else running)."""

    total: float
    entries: float
    samples: int
    alone_ms: float


async def _shapes(base: str, keys: list[PatientKey], seed: int, samples: int) -> dict[str, Shape]:
    rng = random.Random(seed)
    out = {}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as session:
        for label, resource_type in QUERIES:
            totals, entries, times = [], [], []
            for _ in range(samples):
                target = url(base, resource_type, params(label, rng.choice(keys), rng))
                started = time.perf_counter()
                async with session.get(target, headers=HEADERS) as response:
                    payload = await response.read()
                times.append(time.perf_counter() - started)
                if response.status != 200:  # a statement timeout, or a failure the mix will count
                    continue
                bundle = orjson.loads(payload)
                totals.append(bundle.get("total", 0))
                entries.append(len(bundle.get("entry", [])))
            out[label] = Shape(sum(totals) / max(1, len(totals)), sum(entries) / max(1, len(totals)), len(totals),
                               1000 * statistics.median(times))
    return out


def shapes(base: str, keys: list[PatientKey], *, seed: int, samples: int = 5) -> dict[str, Shape]:
    """A few sequential requests per type, checked (HTTP 200) and summarised; also warms the server."""
    return asyncio.run(_shapes(base, keys, seed, samples))
