"""``python -m bench.routing``: figures for routing, the clinical summary and the indicators (not a test).

Builds, in a fresh ``ece_bench_routing`` database (on ``ECE_DATABASE_URL``'s server, else
``ECE_TEST_DATABASE_URL``'s, else an embedded one), a country-sized facility directory (20 regions, ~340
facilities with their sites and services), open referrals weighing on the hospitals, one patient with a long
record, and a month of referral Tasks with their Provenance trail and responses; all loaded through the store's
bulk path (``ece.loader``). Then it times ``rank_candidates``, ``compile_summary``, ``evaluate_measure`` and
``store_monthly_reports``. ``BENCH_ROUTING_REFERRALS`` sets the month's referrals (default 3000).
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import text

from app import migrate
from app.db import libpq_url, make_async_engine
from bench.stack import _admin_url, _with_database
from ece import fhirjson
from ece.access import Actor, Role
from ece.loader import LoadSummary, load_paths
from ece.tx import unit_of_work
from fhir_profiles import systems as s
from referral import indicators, routing, summary
from referral.indicators_data import CS_REFERRAL_EVENT

DATABASE = "ece_bench_routing"
SEED = 7
REGIONS = [f"{n:02d}" for n in range(1, 21)]
LEVEL_ONE = ("UAPS", "CIS", "POLI")
SPECIALTIES = {
    "UAPS": ("medicina-general", "enfermeria"),
    "CIS": ("medicina-general", "pediatria", "ginecologia-obstetricia", "odontologia"),
    "POLI": ("medicina-general", "pediatria", "ginecologia-obstetricia", "medicina-interna", "psicologia"),
    "HB": ("medicina-interna", "pediatria", "ginecologia-obstetricia", "cirugia-general"),
    "HG": ("medicina-interna", "pediatria", "ginecologia-obstetricia", "cirugia-general", "ortopedia",
           "cardiologia", "neumologia", "nefrologia", "psiquiatria", "oftalmologia"),
    "HE": ("medicina-interna", "pediatria", "neonatologia", "ginecologia-obstetricia", "cirugia-general",
           "ortopedia", "cardiologia", "neumologia", "nefrologia", "neurologia", "neurocirugia", "psiquiatria",
           "oftalmologia", "otorrinolaringologia", "dermatologia", "urologia", "oncologia", "infectologia",
           "endocrinologia", "gastroenterologia"),
}
SERVICES = {"UAPS": ("consulta-externa",), "CIS": ("consulta-externa", "laboratorio"),
            "POLI": ("consulta-externa", "laboratorio", "imagenologia"),
            "HB": ("consulta-externa", "emergencia", "hospitalizacion", "atencion-parto"),
            "HG": ("consulta-externa", "emergencia", "hospitalizacion", "cirugia", "atencion-parto"),
            "HE": ("consulta-externa", "emergencia", "hospitalizacion", "cirugia", "cuidados-intensivos")}
HONDURAS = (13.0, 16.0, -89.2, -83.5)  # latitude and longitude bounds


def say(*lines: str) -> None:
    for line in lines:
        print(line, flush=True)


def _facilities(rng: random.Random) -> list[dict]:
    """Organization, Location and HealthcareServices of every facility; one network per region."""
    out = []
    for region in REGIONS:
        centre = (rng.uniform(HONDURAS[0] + 0.5, HONDURAS[1] - 0.5), rng.uniform(HONDURAS[2] + 0.5, HONDURAS[3] - 1))
        kinds = ["UAPS"] * 12 + ["CIS"] * 2 + ["POLI", "HB"] + (["HG"] if rng.random() < 0.6 else [])
        kinds += ["HE"] * (2 if region in ("19", "20") else 0)
        for n, kind in enumerate(kinds):
            fid = f"f{region}-{n:02d}"
            at = (centre[0] + rng.uniform(-0.4, 0.4), centre[1] + rng.uniform(-0.4, 0.4))
            out.append({"resourceType": "Organization", "id": fid, "active": True, "name": f"{kind} {fid}",
                        "extension": [{"url": s.EXT_HEALTH_REGION,
                                       "valueCoding": {"system": s.CS_HEALTH_REGION, "code": region}},
                                      {"url": s.EXT_HEALTH_NETWORK,
                                       "valueReference": {"reference": f"Organization/red-{region}"}}],
                        "type": [{"coding": [{"system": s.CS_FACILITY_LEVEL,
                                              "code": "1" if kind in LEVEL_ONE else "2"}]},
                                 {"coding": [{"system": s.CS_FACILITY_TYPE, "code": kind}]}]})
            out.append({"resourceType": "Location", "id": f"{fid}-sede", "status": "active", "name": fid,
                        "position": {"latitude": Decimal(f"{at[0]:.5f}"), "longitude": Decimal(f"{at[1]:.5f}")},
                        "managingOrganization": {"reference": f"Organization/{fid}"}})
            for specialty in SPECIALTIES[kind]:
                out.append({"resourceType": "HealthcareService", "id": f"{fid}-{specialty}", "active": True,
                            "extension": [{"url": s.EXT_ACCEPTING_REFERRALS, "valueBoolean": rng.random() < 0.85}],
                            "providedBy": {"reference": f"Organization/{fid}"}, "name": f"{specialty} {fid}",
                            "specialty": [{"coding": [{"system": s.CS_SPECIALTY, "code": specialty}]}],
                            "type": [{"coding": [{"system": s.CS_REFERRAL_SERVICE, "code": c}]}
                                     for c in SERVICES[kind]]})
    return out


def _hospitals(resources: list[dict]) -> list[str]:
    return [r["id"] for r in resources if r["resourceType"] == "Organization"
            and r["type"][1]["coding"][0]["code"] not in LEVEL_ONE]


def _open_load(rng: random.Random, hospitals: list[str], count: int) -> list[dict]:
    return [{"resourceType": "Task", "id": f"carga-{n}", "status": rng.choice(("requested", "accepted")),
             "intent": "order", "owner": {"reference": f"Organization/{rng.choice(hospitals)}"}}
            for n in range(count)]


def _record(rng: random.Random) -> list[dict]:
    """One patient with a long record (problems, prescriptions, allergies, vitals, labs, studies, vaccines)."""
    subject = {"reference": "Patient/bench"}
    out: list[dict] = [{"resourceType": "Patient", "id": "bench", "gender": "female", "birthDate": "1970-01-01",
                        "name": [{"family": "Banco", "given": ["Prueba"]}]}]
    day = datetime(2026, 11, 1, 8, 0).astimezone()

    def when(n: int) -> str:
        return (day - timedelta(days=n)).isoformat()

    for n in range(20):
        out.append({"resourceType": "Condition", "id": f"bc-{n}", "subject": subject, "onsetDateTime": when(n * 30),
                    "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                                   "code": "active" if n % 3 else "resolved"}]},
                    "code": {"coding": [{"system": s.ICD10, "code": f"I1{n % 10}"}]}})
    for n in range(15):
        out.append({"resourceType": "MedicationRequest", "id": f"bm-{n}", "status": "active", "intent": "order",
                    "subject": subject, "authoredOn": when(n * 10), "medicationCodeableConcept": {"text": f"M{n}"}})
    for kind, count, code in (("vital-signs", 60, "8867-4"), ("laboratory", 40, "718-7")):
        for n in range(count):
            out.append({"resourceType": "Observation", "id": f"bo-{kind}-{n}", "status": "final", "subject": subject,
                        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/"
                                                            "observation-category", "code": kind}]}],
                        "code": {"coding": [{"system": s.LOINC, "code": code}]}, "effectiveDateTime": when(n * 4),
                        "valueQuantity": {"value": rng.randint(60, 120), "unit": "1"}})
    for n in range(15):
        out.append({"resourceType": "Immunization", "id": f"bi-{n}", "status": "completed", "patient": subject,
                    "vaccineCode": {"text": f"V{n}"}, "occurrenceDateTime": when(n * 200)})
    return out


def _month(rng: random.Random, resources: list[dict], referrals: int) -> list[dict]:
    """A month of referral Tasks from first-level facilities to hospitals, with Provenance and responses."""
    first = [r["id"] for r in resources if r["resourceType"] == "Organization"
             and r["type"][1]["coding"][0]["code"] in LEVEL_ONE]
    hospitals = _hospitals(resources)
    out: list[dict] = []
    for n in range(referrals):
        authored = datetime(2026, 10, 1, tzinfo=indicators.HONDURAS_TIME) + timedelta(minutes=rng.randrange(43000))
        fate = rng.random()
        status, business, events = "requested", "enviada", [("send", 0)]
        if fate < 0.6:
            status, business = "completed", "respondida"
            events += [("accept", rng.randint(1, 48)), ("arrive", rng.randint(49, 400)), ("respond", 401)]
        elif fate < 0.8:
            status, business = "rejected", "rechazada"
            events.append(("reject", rng.randint(1, 24)))
        task: dict = {"resourceType": "Task", "id": f"r{n}", "status": status, "intent": "order",
                      "businessStatus": {"coding": [{"system": s.CS_REFERRAL_STATUS, "code": business}]},
                      "focus": {"reference": f"ServiceRequest/sr{n}"}, "for": {"reference": "Patient/bench"},
                      "authoredOn": authored.isoformat(),
                      "requester": {"reference": f"Organization/{rng.choice(first)}"},
                      "owner": {"reference": f"Organization/{rng.choice(hospitals)}"}}
        if status == "rejected":
            task["statusReason"] = {"coding": [{"system": s.CS_REJECTION_REASON, "code": "sin-camas"}]}
        if status == "completed":
            task["output"] = [{"type": {"text": "respuesta"}, "valueReference": {"reference": f"Composition/c{n}"}}]
            out.append({"resourceType": "Composition", "id": f"c{n}", "status": "final", "title": "Respuesta",
                        "type": {"text": "respuesta"}, "date": authored.date().isoformat(),
                        "author": [{"display": "bench"}],
                        "extension": [{"url": s.EXT_REFERRAL_JUSTIFIED, "valueBoolean": rng.random() < 0.7}]})
        out.append(task)
        for k, (event, after_hours) in enumerate(events):
            out.append({"resourceType": "Provenance", "id": f"r{n}-{k}", "target": [{"reference": f"Task/r{n}"}],
                        "recorded": (authored + timedelta(hours=after_hours)).isoformat(),
                        "activity": {"coding": [{"system": CS_REFERRAL_EVENT, "code": event}]},
                        "agent": [{"who": {"display": "bench"}}]})
    return out


async def _load(engine, resources: list[dict]) -> float:
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.ndjson"
        path.write_bytes(b"\n".join(fhirjson.dumps(r) for r in resources) + b"\n")
        loaded = LoadSummary()
        await load_paths(engine, [path], loaded, lambda _n: None)
    if loaded.refused:
        raise SystemExit(f"refused: {loaded.examples}")
    async with engine.connect() as conn:  # fresh planner statistics, as autovacuum would give a live database
        await conn.execute(text("ANALYZE"))
        await conn.commit()
    return time.perf_counter() - began


async def _timed(engine, runs: int, work: Callable[[object, int], Awaitable[object]]) -> list[float]:
    """Milliseconds of each run, each in its own transaction, rolled back (nothing measured stays)."""
    times = []
    for n in range(runs):
        async with engine.connect() as conn:
            outer = await conn.begin()
            from ece.tx import Transaction

            began = time.perf_counter()
            await work(Transaction(conn), n)
            times.append((time.perf_counter() - began) * 1000)
            await outer.rollback()
    return times


def _figures(name: str, times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"  {name:<44} median {statistics.median(times):7.1f} ms   p95 {p95:7.1f} ms   ({len(times)} runs)"


async def main() -> None:
    rng = random.Random(SEED)
    referrals = int(os.environ.get("BENCH_ROUTING_REFERRALS", "3000"))
    admin, _embedded = _admin_url()
    import psycopg

    with psycopg.connect(_with_database(admin, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DATABASE}"')
    url = _with_database(admin, DATABASE)
    migrate.upgrade(url)
    engine = make_async_engine(url, pool_size=2)
    try:
        network = _facilities(rng)
        hospitals = _hospitals(network)
        data = network + _open_load(rng, hospitals, 3000) + _record(rng) + _month(rng, network, referrals)
        seconds = await _load(engine, data)
        organizations = [r["id"] for r in network if r["resourceType"] == "Organization"]
        say("Routing, clinical summary and indicators (figures, not a test)", "-" * 78,
            f"  data: {len(organizations)} facilities, {len(network) - 2 * len(organizations)} services, 3000 open "
            f"Tasks, {referrals} referrals of October 2026 with Provenance; {len(data)} resources loaded in "
            f"{seconds:.1f} s", "")
        origins = [o for o in organizations if int(o.split("-")[1]) < 12]
        wanted = ("pediatria", "medicina-interna", "cardiologia", "ginecologia-obstetricia", "neurocirugia")

        async def rank(tx, n):
            request = {"resourceType": "ServiceRequest", "priority": ("routine", "stat")[n % 2],
                       "requester": {"reference": f"Organization/{origins[n % len(origins)]}"},
                       "performerType": {"coding": [{"system": s.CS_SPECIALTY, "code": wanted[n % len(wanted)]}]},
                       "code": {"coding": [{"system": s.CS_REFERRAL_SERVICE, "code": "consulta-externa"}]}}
            return await routing.rank_candidates(tx, service_request=request, limit=10)

        say(_figures("rank_candidates (top 10)", await _timed(engine, 60, rank)))

        async def compile_(tx, n):
            return await summary.compile_summary(tx, patient="Patient/bench", requester=f"Organization/{origins[0]}")

        say(_figures("compile_summary (~150-resource record)", await _timed(engine, 20, compile_)))
        system = Actor("bench", Role.SYSTEM)

        async def evaluate(tx, n):
            return await indicators.evaluate_measure(
                tx, measure_id=("aceptacion", "tiempo-aceptacion", "ciclo-cerrado")[n % 3], actor=system,
                period_start="2026-10-01", period_end="2026-10-31", subject=f"Organization/{hospitals[n % 5]}")

        say(_figures(f"evaluate_measure (one facility, {referrals} in month)", await _timed(engine, 9, evaluate)))
        async with unit_of_work(engine) as tx:
            began = time.perf_counter()
            stored = await indicators.store_monthly_reports(tx, month="2026-10")
            elapsed = time.perf_counter() - began
        say(f"  store_monthly_reports 2026-10: {len(stored)} MeasureReports in {elapsed:.1f} s "
            f"({len(stored) / elapsed:.0f} reports/s)")
    finally:
        await engine.dispose()
    say("", f"  database: {libpq_url(url).rsplit('@', 1)[-1]}")


if __name__ == "__main__":
    asyncio.run(main())
