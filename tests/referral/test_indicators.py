"""Referral indicators as MeasureReports per facility, region and month (issue 7 §6), computed from explicit
referral Tasks, their Provenance trail and their responses."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ece import fhirjson, reads, search
from ece.access import Actor, Forbidden, Role
from ece.errors import BadRequest, NotFound
from fhir_profiles import systems as s
from referral import indicators
from referral.indicators_measures import INDICATORS, install_measures
from tests.referral.network import facility
from tests.referral.referral_facts import at, hours, referral, response

SYSTEM = Actor(subject="tablero", role=Role.SYSTEM)
OCTOBER = {"period_start": "2026-10-01", "period_end": "2026-10-31"}
H1, H2 = "Organization/he-escuela", "Organization/hg-regional"
UAPS_A, UAPS_B = "Organization/uaps-a", "Organization/uaps-b"


async def october(tx) -> None:
    """A month of referrals from two UAPS (region 08) to the national hospital (region 19) and a regional one."""
    for id, kind, region in (("uaps-a", "UAPS", "08"), ("uaps-b", "UAPS", "08"), ("he-escuela", "HE", "19"),
                             ("hg-regional", "HG", "08")):
        await facility(tx, id, kind=kind, region=region, at=(14.1, -87.2))
    rejection = s.CS_REJECTION_REASON
    await referral(tx, "t1", origin="uaps-a", destination="he-escuela", authored=at(2), status="completed",
                   business="respondida", deadline=at(10), response=await response(tx, "c1", justified=True,
                                                                                    timely=True),
                   events={"send": at(2), "accept": at(2) + hours(4), "arrive": at(2) + hours(52),
                           "respond": at(5)})
    await referral(tx, "t2", origin="uaps-a", destination="he-escuela", authored=at(3), status="completed",
                   business="respondida", deadline=at(13), response=await response(tx, "c2", justified=False,
                                                                                    timely=False),
                   events={"send": at(3), "accept": at(3) + hours(10), "mark-overdue": (at(14), "atencion-vencida"),
                           "arrive": at(20), "respond": at(21)})
    await referral(tx, "t3", origin="uaps-b", destination="he-escuela", authored=at(5), status="rejected",
                   business="rechazada", reason=(rejection, "sin-camas"), events={"reject": at(5) + hours(2)})
    await referral(tx, "t4", origin="uaps-b", destination="he-escuela", authored=at(6), status="rejected",
                   business="rechazada", reason=(rejection, "no-pertinente"), events={"reject": at(6) + hours(1)})
    await referral(tx, "t5", origin="uaps-b", destination="he-escuela", authored=at(7), status="cancelled",
                   business="redirigida", events={"redirect": at(7) + hours(3)})
    await referral(tx, "t6", origin="uaps-b", destination="hg-regional", authored=at(7, 11), status="in-progress",
                   business="paciente-recibido", events={"accept": at(7, 12), "arrive": at(7, 16)})
    await referral(tx, "t7", origin="uaps-a", destination="he-escuela", authored=at(20), status="requested",
                   business="enviada", events={"send": at(20)})
    await referral(tx, "t8", origin="uaps-a", destination="he-escuela", authored=at(30, month=9), status="accepted",
                   business="aceptada", events={"accept": at(1)})
    await referral(tx, "t9", origin="uaps-a", destination="he-escuela", authored=at(21), status="draft",
                   business="borrador")
    await referral(tx, "t11", origin="uaps-a", destination="he-escuela", authored=at(22), status="entered-in-error",
                   business="anulada", events={"send": at(22), "entered-in-error": at(22, 9)})
    # Imported in its final state: no Provenance, its own executionPeriod.start.
    await referral(tx, "t10", origin="uaps-a", destination="hg-regional", authored=at(8), status="completed",
                   business="respondida", started=at(9))


async def measured(tx, measure: str, **where) -> tuple[dict[str, int], Decimal | None, dict]:
    report = await indicators.evaluate_measure(tx, measure_id=measure, actor=SYSTEM, **OCTOBER, **where)
    group = report["group"][0]
    counts = {p["code"]["coding"][0]["code"]: p["count"] for p in group["population"]}
    return counts, group.get("measureScore", {}).get("value"), report


async def test_received_accepted_and_rejected_at_the_destination(tx):
    await october(tx)
    assert (await measured(tx, "referencias-recibidas", subject=H1))[0] == {"initial-population": 6}
    counts, score, _ = await measured(tx, "aceptacion", subject=H1)
    assert counts == {"initial-population": 6, "denominator": 4, "numerator": 2} and score == Decimal("0.5")
    counts, score, _ = await measured(tx, "redireccion", subject=H1)
    assert counts["numerator"] == 1 and score == Decimal("0.1667")


async def test_rejections_are_stratified_by_reason(tx):
    await october(tx)
    counts, score, report = await measured(tx, "rechazo", subject=H1)
    assert counts == {"initial-population": 6, "denominator": 4, "numerator": 2} and score == Decimal("0.5")
    strata = {st["value"]["coding"][0]["code"]: st["measureScore"]["value"]
              for st in report["group"][0]["stratifier"][0]["stratum"]}
    assert strata == {"no-pertinente": Decimal("0.25"), "sin-camas": Decimal("0.25")}


async def test_median_times_to_acceptance_and_attention_are_in_hours(tx):
    await october(tx)
    counts, score, report = await measured(tx, "tiempo-aceptacion", subject=H1)
    assert counts == {"initial-population": 6, "measure-population": 2} and score == Decimal("7.0")
    assert report["group"][0]["measureScore"]["code"] == "h"
    counts, score, _ = await measured(tx, "tiempo-atencion", subject=H1)
    assert counts["measure-population"] == 2 and score == Decimal("230.0")  # median of 52 h and 17 days


async def test_attended_within_deadline_leaves_out_those_marked_overdue(tx):
    await october(tx)
    counts, score, _ = await measured(tx, "atencion-a-tiempo", subject=H1)
    assert counts == {"initial-population": 6, "denominator": 2, "numerator": 1} and score == Decimal("0.5")


async def test_closed_loop_counts_referrals_once_and_excludes_redirected_ones(tx):
    await october(tx)
    counts, score, _ = await measured(tx, "ciclo-cerrado", subject=UAPS_A)
    assert counts == {"initial-population": 4, "denominator": 4, "numerator": 3, "denominator-exclusion": 0}
    assert score == Decimal("0.75")
    counts, score, _ = await measured(tx, "ciclo-cerrado", subject=UAPS_B)
    assert counts == {"initial-population": 4, "denominator": 3, "numerator": 0, "denominator-exclusion": 1}
    assert score == Decimal("0")


async def test_justified_and_timely_come_from_the_responses_judgement(tx):
    await october(tx)
    counts, score, _ = await measured(tx, "referencia-justificada", subject=UAPS_A)
    assert counts == {"initial-population": 4, "denominator": 2, "numerator": 1} and score == Decimal("0.5")
    counts, score, _ = await measured(tx, "referencia-oportuna", subject=UAPS_A)
    assert counts["denominator"] == 2 and counts["numerator"] == 1


async def test_a_task_without_provenance_counts_by_its_state_and_execution_period(tx):
    await october(tx)
    counts, score, _ = await measured(tx, "aceptacion", subject=H2)
    assert counts == {"initial-population": 2, "denominator": 2, "numerator": 2}
    counts, score, _ = await measured(tx, "tiempo-atencion", subject=H2)
    assert counts["measure-population"] == 2 and score == Decimal("14.5")  # 5 h (t6) and 24 h (t10)


async def test_drafts_and_referrals_entered_in_error_never_count(tx):
    await october(tx)
    assert (await measured(tx, "referencias-recibidas", subject=H1))[0] == {"initial-population": 6}
    assert (await measured(tx, "referencias-enviadas", subject=UAPS_A))[0] == {"initial-population": 4}


async def test_region_and_country_reports_add_their_facilities(tx):
    await october(tx)
    counts, _, report = await measured(tx, "referencias-recibidas", region="08")
    assert counts == {"initial-population": 2}
    assert report["meta"]["tag"] == [{"system": s.CS_HEALTH_REGION, "code": "08"}] and "reporter" not in report
    assert (await measured(tx, "referencias-recibidas", region="19"))[0] == {"initial-population": 6}
    assert (await measured(tx, "referencias-recibidas"))[0] == {"initial-population": 8}
    assert (await measured(tx, "referencias-enviadas", region="08"))[0] == {"initial-population": 8}


async def test_a_facility_report_names_the_facility_as_reporter_and_the_period(tx):
    await october(tx)
    _, _, report = await measured(tx, "referencias-enviadas", subject=UAPS_A)
    assert report["reporter"] == {"reference": UAPS_A}
    assert report["period"] == {"start": "2026-10-01T00:00:00-06:00", "end": "2026-10-31T23:59:59-06:00"}
    assert report["measure"] == s.canonical("Measure", "referencias-enviadas")
    assert report["status"] == "complete" and report["type"] == "summary"


async def test_monthly_reports_are_stored_once_per_indicator_subject_and_month(tx):
    await october(tx)
    first = await indicators.store_monthly_reports(tx, month="2026-10")
    again = await indicators.store_monthly_reports(tx, month="2026-10")
    assert len(first) == len(again) and {r.status for r in first} == {201} and {r.status for r in again} == {200}
    # Destination measures: 2 facilities + 2 regions + country; origin measures: 2 facilities + 1 region + country.
    assert len(first) == 7 * 5 + 4 * 4
    page = await search.search(tx.conn, resource_types=["MeasureReport"], pairs=[
        ("reporter", H1), ("measure", s.canonical("Measure", "aceptacion")), ("_total", "accurate")])
    assert page.total == 1
    stored = fhirjson.loads(page.matches[0][2])
    assert stored["group"][0]["measureScore"]["value"] == Decimal("0.5")


async def test_measures_install_once_and_then_change_nothing(tx):
    assert await install_measures(tx) == len(INDICATORS)
    assert await install_measures(tx) == 0
    measure = fhirjson.loads((await reads.read(tx.conn, resource_type="Measure", resource_id="ciclo-cerrado")).content)
    assert measure["url"] == s.canonical("Measure", "ciclo-cerrado")
    assert measure["scoring"]["coding"][0]["code"] == "proportion"


async def test_unknown_measure_answers_404_and_a_bad_period_400(tx):
    with pytest.raises(NotFound):
        await indicators.evaluate_measure(tx, measure_id="no-existe", actor=SYSTEM, **OCTOBER)
    with pytest.raises(BadRequest):
        await indicators.evaluate_measure(tx, measure_id="aceptacion", actor=SYSTEM, period_start="octubre",
                                          period_end="2026-10-31")
    with pytest.raises(BadRequest):
        await indicators.evaluate_measure(tx, measure_id="aceptacion", actor=SYSTEM, period_start="2026-10-31",
                                          period_end="2026-10-01")


@pytest.mark.parametrize(("actor", "where", "allowed"), [
    (Actor("dra", Role.CLINICIAN, facility=H1), {"subject": H1}, True),
    (Actor("dra", Role.CLINICIAN, facility=H1), {"subject": H2}, False),
    (Actor("dra", Role.CLINICIAN, facility=H1), {"region": "19"}, False),
    (Actor("coord", Role.COORDINATOR, region="19"), {"region": "19"}, True),
    (Actor("coord", Role.COORDINATOR, region="19"), {"subject": H1}, True),
    (Actor("coord", Role.COORDINATOR, region="19"), {"subject": H2}, False),
    (Actor("coord", Role.COORDINATOR, region="19"), {}, False),
    (Actor("admin", Role.ADMIN), {}, True),
    (Actor("ana", Role.PATIENT, patient="Patient/p1"), {"subject": H1}, False),
])
async def test_who_may_see_which_indicators(tx, actor, where, allowed):
    await october(tx)
    evaluation = indicators.evaluate_measure(tx, measure_id="aceptacion", actor=actor, **OCTOBER, **where)
    if allowed:
        assert (await evaluation)["resourceType"] == "MeasureReport"
    else:
        with pytest.raises(Forbidden):
            await evaluation


def test_a_month_runs_from_local_midnight_to_the_next_month():
    start, end = indicators.month_period("2026-12")
    assert start.isoformat() == "2026-12-01T00:00:00-06:00" and end.isoformat() == "2027-01-01T00:00:00-06:00"
    with pytest.raises(BadRequest):
        indicators.month_period("2026-13")
