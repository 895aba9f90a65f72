"""Referral indicators as MeasureReports (issue 7 §6; R4 measurereport.html, measure-operation-evaluate-measure).

``evaluate_measure`` answers one summary MeasureReport for a Measure of ``indicators_measures``, a period and a
subject: a facility ("Organization/<id>"), a health region (``region=<code>``) or the whole country.
``store_monthly_reports`` evaluates every indicator for a month, for every facility with referrals on the
indicator's side, every region and the country, and stores the reports (one per indicator, subject and month,
updated in place when evaluated again: the identifier names all three).

R4 MeasureReport.subject cannot be an Organization, so a facility report names the facility as ``reporter``;
region and country reports have no reporter. Reports carry the region as a ``meta.tag`` of region-sanitaria, as
referral Tasks do, so ``MeasureReport?_tag=...|08`` finds a region's reports.
"""

from __future__ import annotations

import statistics
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from ece import fhirjson, store
from ece.access import Actor, Forbidden, Role
from ece.errors import BadRequest, Issue, NotFound
from ece.store import WriteResult
from ece.tx import Transaction
from fhir_profiles import systems
from referral import directory
from referral.indicators_data import ReferralFacts, load_facts
from referral.indicators_measures import BY_ID, INDICATORS, ORIGIN, Indicator, population_code

# Honduras keeps Central Standard Time all year (no daylight saving since 2007): months begin at local midnight.
HONDURAS_TIME = timezone(timedelta(hours=-6))
REPORT_ID_SYSTEM = systems.sid("indicador-referencia")
NATIONAL = "nacional"
CLOSED_WITHOUT_LOOP = frozenset({"cancelada", "redirigida", "retirada", "anulada"})
SCORE_DIGITS = Decimal("0.0001")
HOURS_DIGITS = Decimal("0.1")


@dataclass(frozen=True)
class Subject:
    """Whom a report is about: a facility, a region (code of region-sanitaria) or the country."""

    facility: str | None = None
    region: str | None = None

    @property
    def key(self) -> str:
        return self.facility or (f"region-{self.region}" if self.region else NATIONAL)


@dataclass
class Evaluation:
    counts: dict[str, int]  # measure-population code -> count
    score: Decimal | None = None
    strata: list[tuple[dict, dict[str, int], Decimal | None]] = field(default_factory=list)


@dataclass
class Referral:
    """The referring side's unit: one ServiceRequest and all the Tasks that carried it."""

    service_request: str
    tasks: list[ReferralFacts]

    @property
    def excluded(self) -> bool:
        return all(t.business_status in CLOSED_WITHOUT_LOOP or t.status == "entered-in-error" for t in self.tasks)

    @property
    def answered(self) -> bool:
        return any(t.answered for t in self.tasks)

    def judgement(self, name: str) -> bool | None:
        return next((getattr(t, name) for t in self.tasks if getattr(t, name) is not None), None)


def month_period(month: str) -> tuple[datetime, datetime]:
    """"2026-10" -> [2026-10-01T00:00-06:00, 2026-11-01T00:00-06:00)."""
    try:
        year, number = (int(part) for part in month.split("-"))
        start = datetime(year, number, 1, tzinfo=HONDURAS_TIME)
    except ValueError:
        raise BadRequest([Issue("invalid", f"Mes inválido, use AAAA-MM / invalid month, use YYYY-MM: "
                                           f"'{month[:20]}'", ("month",))]) from None
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=HONDURAS_TIME)
    return start, end


def _proportion(numerator: int, denominator: int) -> Decimal | None:
    return (Decimal(numerator) / Decimal(denominator)).quantize(SCORE_DIGITS) if denominator else None


def _median_hours(intervals: list[timedelta]) -> Decimal | None:
    if not intervals:
        return None
    hours = statistics.median(i.total_seconds() / 3600 for i in intervals)
    return Decimal(str(hours)).quantize(HOURS_DIGITS)


def _proportion_of(population: list, denominator: Callable[[object], bool], numerator: Callable[[object], bool],
                   exclusion: Callable[[object], bool] | None = None) -> Evaluation:
    excluded = [x for x in population if exclusion and exclusion(x)]
    counted = [x for x in population if not (exclusion and exclusion(x)) and denominator(x)]
    hits = [x for x in counted if numerator(x)]
    counts = {"initial-population": len(population), "denominator": len(counted), "numerator": len(hits)}
    if exclusion:
        counts["denominator-exclusion"] = len(excluded)
    return Evaluation(counts, _proportion(len(hits), len(counted)))


def _within_deadline(task: ReferralFacts) -> bool:
    if "atencion-vencida" in task.overdue:
        return False
    return not (task.deadline and task.arrival and task.arrival > task.deadline)


def _rejections_by_reason(received: list[ReferralFacts]) -> Evaluation:
    evaluation = _proportion_of(received, lambda t: t.accepted or t.rejected, lambda t: t.rejected)
    decided = evaluation.counts["denominator"]
    by_reason: dict[tuple[str, str], int] = defaultdict(int)
    for task in received:
        if task.rejected:
            reason = task.reason or {}
            by_reason[(reason.get("system", ""), reason.get("code", "sin-motivo"))] += 1
    for (system, code), hits in sorted(by_reason.items()):
        value = {"coding": [{"system": system, "code": code}]} if system else {"text": code}
        evaluation.strata.append((value, {"denominator": decided, "numerator": hits}, _proportion(hits, decided)))
    return evaluation


def _median_of(received: list[ReferralFacts], moment: Callable[[ReferralFacts], datetime | None]) -> Evaluation:
    intervals = [m - t.sent_at for t in received if (m := moment(t)) is not None and m >= t.sent_at]
    return Evaluation({"initial-population": len(received), "measure-population": len(intervals)},
                      _median_hours(intervals))


DESTINATION_RULES: dict[str, Callable[[list[ReferralFacts]], Evaluation]] = {
    "referencias-recibidas": lambda r: Evaluation({"initial-population": len(r)}),
    "aceptacion": lambda r: _proportion_of(r, lambda t: t.accepted or t.rejected, lambda t: t.accepted),
    "rechazo": _rejections_by_reason,
    "tiempo-aceptacion": lambda r: _median_of(r, lambda t: t.events.get("accept")),
    "tiempo-atencion": lambda r: _median_of(r, lambda t: t.arrival),
    "atencion-a-tiempo": lambda r: _proportion_of(r, lambda t: t.attended, _within_deadline),
    "redireccion": lambda r: _proportion_of(r, lambda t: True, lambda t: t.redirected),
}
ORIGIN_RULES: dict[str, Callable[[list[Referral]], Evaluation]] = {
    "referencias-enviadas": lambda r: Evaluation({"initial-population": len(r)}),
    "ciclo-cerrado": lambda r: _proportion_of(r, lambda x: True, lambda x: x.answered, lambda x: x.excluded),
    "referencia-justificada": lambda r: _proportion_of(r, lambda x: x.judgement("justified") is not None,
                                                       lambda x: x.judgement("justified") is True),
    "referencia-oportuna": lambda r: _proportion_of(r, lambda x: x.judgement("timely") is not None,
                                                    lambda x: x.judgement("timely") is True),
}


def _referrals(tasks: Iterable[ReferralFacts]) -> list[Referral]:
    grouped: dict[str, list[ReferralFacts]] = defaultdict(list)
    for task in tasks:
        grouped[task.service_request].append(task)
    return [Referral(sr, grouped[sr]) for sr in sorted(grouped)]


def evaluate(indicator: Indicator, facts: list[ReferralFacts], regions: dict[str, str | None],
             subject: Subject) -> Evaluation:
    """The populations and score of one indicator over the referral facts of a period, for one subject."""
    def on_side(task: ReferralFacts) -> bool:
        facility = task.origin if indicator.side == ORIGIN else task.destination
        if facility is None:
            return False
        if subject.facility:
            return facility == subject.facility
        return subject.region is None or regions.get(facility) == subject.region

    chosen = [f for f in facts if f.sent and on_side(f)]
    if indicator.side == ORIGIN:
        return ORIGIN_RULES[indicator.id](_referrals(chosen))
    return DESTINATION_RULES[indicator.id](chosen)


def report(indicator: Indicator, evaluation: Evaluation, subject: Subject, *, start: datetime, end: datetime,
           region: str | None, moment: datetime) -> dict:
    """A summary MeasureReport (R4 measurereport.html) of one evaluation."""
    group: dict = {"population": [{"code": population_code(code), "count": count}
                                  for code, count in evaluation.counts.items()]}
    if evaluation.score is not None:
        score: dict = {"value": evaluation.score}
        if indicator.unit:
            score |= {"unit": indicator.unit, "system": systems.UCUM, "code": indicator.unit}
        group["measureScore"] = score
    if indicator.stratifier:
        strata = [{"value": value, "population": [{"code": population_code(c), "count": n} for c, n in counts.items()],
                   **({"measureScore": {"value": score}} if score is not None else {})}
                  for value, counts, score in evaluation.strata]
        group["stratifier"] = [{"code": [{"text": indicator.stratifier}], **({"stratum": strata} if strata else {})}]
    data: dict = {
        "resourceType": "MeasureReport",
        "identifier": [{"system": REPORT_ID_SYSTEM, "value": f"{indicator.id}:{subject.key}:"
                                                           f"{start.date().isoformat()}:{end.date().isoformat()}"}],
        "status": "complete", "type": "summary", "measure": indicator.url, "date": fhirjson.instant(moment),
        "period": {"start": start.isoformat(), "end": (end - timedelta(seconds=1)).isoformat()},
        "group": [group],
    }
    if region:
        data["meta"] = {"tag": [{"system": systems.CS_HEALTH_REGION, "code": region}]}
    if subject.facility:
        data["reporter"] = {"reference": subject.facility}
    return data


async def _regions(tx: Transaction, facts: list[ReferralFacts]) -> dict[str, str | None]:
    facilities = {f for t in facts for f in (t.origin, t.destination) if f and f.startswith("Organization/")}
    known = await directory.facilities(tx, organizations=facilities)
    return {reference: entry.region for reference, entry in known.items()}


def _period(period_start: str | None, period_end: str | None) -> tuple[datetime, datetime]:
    """periodStart and periodEnd as dates (R4 $evaluate-measure), both included, in Honduras time."""
    try:
        start = datetime.fromisoformat(period_start or "").replace(tzinfo=HONDURAS_TIME)
        last = datetime.fromisoformat(period_end or "").replace(tzinfo=HONDURAS_TIME)
    except ValueError:
        raise BadRequest([Issue("required", "periodStart y periodEnd son fechas AAAA-MM-DD / periodStart and "
                                            "periodEnd are YYYY-MM-DD dates", ("periodStart", "periodEnd"))]) from None
    if last < start:
        raise BadRequest([Issue("invalid", "periodEnd es anterior a periodStart / periodEnd is before "
                                           "periodStart", ("periodEnd",))])
    return start, last.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)


async def evaluate_measure(tx: Transaction, *, measure_id: str, period_start: str | None, period_end: str | None,
                           actor: Actor, subject: str | None = None, region: str | None = None,
                           report_type: str | None = None) -> dict:
    """``Measure/[id]/$evaluate-measure`` with reportType summary: the MeasureReport, not stored.

    A clinician sees their own facility, a coordinator their region and its facilities, an admin or a system
    client everything; patients see no indicators."""
    indicator = BY_ID.get(measure_id)
    if indicator is None:
        raise NotFound([Issue("not-found", f"Measure/{measure_id[:64]} no existe / does not exist")])
    if report_type not in (None, "summary"):
        raise BadRequest([Issue("not-supported", "Solo reportType=summary / only summary reports",
                                ("reportType",))])
    if subject is not None and not subject.startswith("Organization/"):
        raise BadRequest([Issue("not-supported", "subject debe ser Organization/<id> / subject must be an "
                                                 "Organization", ("subject",))])
    if subject is not None and region is not None:
        raise BadRequest([Issue("invalid", "Indique subject o region, no ambos / give subject or region, not both",
                                ("subject", "region"))])
    start, end = _period(period_start, period_end)
    subject_region = (await directory.facilities(tx, organizations=[subject])).get(subject) if subject else None
    _check_may_see(actor, subject=subject, region=region or (subject_region.region if subject_region else None))
    facts = await load_facts(tx, start=start, end=end)
    regions = await _regions(tx, facts)
    if subject_region is not None:
        regions[subject_region.reference] = subject_region.region
    chosen = Subject(facility=subject, region=region)
    evaluation = evaluate(indicator, facts, regions, chosen)
    tag = region if region else regions.get(subject) if subject else None
    return report(indicator, evaluation, chosen, start=start, end=end, region=tag, moment=store.now())


def _check_may_see(actor: Actor, *, subject: str | None, region: str | None) -> None:
    if actor.role in (Role.ADMIN, Role.SYSTEM):
        return
    if actor.role == Role.CLINICIAN and subject is not None and subject == actor.facility:
        return
    if actor.role == Role.COORDINATOR and actor.region is not None and region == actor.region:
        return
    raise Forbidden("un profesional ve su establecimiento, una coordinación su región / a clinician sees their "
                    "facility, a coordinator their region")


async def store_monthly_reports(tx: Transaction, *, month: str) -> list[WriteResult]:
    """Evaluate every indicator for ``month`` (YYYY-MM) per facility, region and country; store the reports."""
    start, end = month_period(month)
    facts = await load_facts(tx, start=start, end=end)
    regions = await _regions(tx, facts)
    moment = store.now()
    results = []
    for indicator in INDICATORS:
        facilities = sorted({f.origin if indicator.side == ORIGIN else f.destination for f in facts} - {None})
        subjects = [Subject(facility=f) for f in facilities if f.startswith("Organization/")]
        subjects += [Subject(region=r) for r in sorted({regions.get(f) for f in facilities} - {None})]
        subjects.append(Subject())
        for subject in subjects:
            tag = subject.region or (regions.get(subject.facility) if subject.facility else None)
            data = report(indicator, evaluate(indicator, facts, regions, subject), subject, start=start, end=end,
                          region=tag, moment=moment)
            # The id derives from the identifier: evaluating the month again updates the same report (an update,
            # not a conditional one: no search per report).
            report_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{REPORT_ID_SYSTEM}|{data['identifier'][0]['value']}"))
            results.append(await store.update(tx, resource_type="MeasureReport", resource_id=report_id,
                                              data={**data, "id": report_id}))
    return results

