"""The search benchmark's data: the synthetic Honduran network of ``synthetic`` (``ece seed``), and its load.

Patient ``i`` of a seed is generated from its own stream (synthetic.ids), so any patient is reproducible alone
and data sets grow cumulatively: the 8k set is the 1k set plus 7k more patients (``synthetic.BENCH_SIZES``).
Each patient has about ``RESOURCES_PER_PATIENT`` resources (encounters, vital signs with heart rate 8867-4
among them, CIE-10 diagnoses, prescriptions, laboratory and imaging reports, immunizations) referencing the
patient and an encounter; the network of facilities and professionals is written with the first size.

Loading is ``ece seed``'s path (synthetic.writer): worker processes generate, validate and extract the index
rows, the bench process writes batches of about 1,000 resources through ``ece.store.WritePlan``, two in
flight. The national profiles are not enforced here (this measures search, not the profiles): the resources
are checked as the store checks any resource, plus the profiles they declare if a validator is installed.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass
from functools import cache

from synthetic import clinical, network
from synthetic.patients import person_and_patient
from synthetic.writer import generation, seed_network

RESOURCES_PER_PATIENT = 50  # about: the average of the synthetic records (tests/synthetic checks 40 to 60)
HEART_RATE = "8867-4"


@dataclass(frozen=True)
class PatientKey:
    """What the query mix needs of a loaded patient."""

    index: int
    id: str
    identifier: str  # "system|value" of the first identifier: the DNI of adults, the birth registration of minors
    family: str
    birth_date: str


@cache
def _network(seed: int) -> network.Network:
    return network.build(seed)


def _key(index: int, patient: dict) -> PatientKey:
    first = patient["identifier"][0]
    return PatientKey(index, patient["id"], f"{first['system']}|{first['value']}", patient["name"][0]["family"],
                      patient["birthDate"])


def patient_key(seed: int, index: int) -> PatientKey:
    """The key of patient ``index`` without generating its records."""
    return _key(index, person_and_patient(_network(seed), index)[2])


def records(seed: int, index: int) -> tuple[PatientKey, list[dict]]:
    """Patient ``index`` and its records."""
    out = clinical.patient_records(_network(seed), index)
    return _key(index, out[0]), out


# --- loading --------------------------------------------------------------------------------------------


@dataclass
class LoadStats:
    patients: int = 0
    resources: int = 0
    seconds: float = 0.0
    client_cpu_s: float = 0.0

    @property
    def per_s(self) -> float:
        return self.resources / self.seconds if self.seconds else 0.0


async def _load(url: str, chunks, progress) -> int:
    from sqlalchemy.ext.asyncio import create_async_engine

    from app.db import sqlalchemy_url

    # app.db.make_async_engine's engine, without the bench database's statement timeout.
    engine = create_async_engine(sqlalchemy_url(url), pool_size=3, max_overflow=0,
                                 connect_args={"options": "-c TimeZone=UTC -c statement_timeout=0"})
    written = 0

    def count(_patients: int, resources: int) -> None:
        nonlocal written
        written += resources
        progress(written)

    try:
        report = await seed_network(engine, chunks, count)
    finally:
        await engine.dispose()
    return report.resources


def load(url: str, *, seed: int, start: int, stop: int, progress=None) -> LoadStats:
    """Write the network (unchanged after the first size) and patients ``start``..``stop - 1``; answers the rate.
    Call it before starting threads: the generator processes are forked first (synthetic.writer.generation)."""
    began, cpu = time.perf_counter(), time.process_time()
    with generation(_network(seed), patients=stop - start, start=start, workers=os.cpu_count() or 1) as chunks:
        written = asyncio.run(_load(url, chunks, progress or (lambda n: None)))
    return LoadStats(stop - start, written, time.perf_counter() - began, time.process_time() - cpu)
