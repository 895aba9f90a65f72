"""notify(): outbox rows per channel in the caller's transaction, queued only after commit."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from ece.errors import BadRequest
from ece.notifications import Config, config, notify
from ece.tx import unit_of_work
from tests.ece.notifications.factories import create_organization, create_patient, create_task, notice


async def _rows(tx, ids):
    result = await tx.conn.execute(text("SELECT id, channel, address, language, status, tags, reference_number "
                                        "FROM notification_outbox WHERE id = ANY(:ids) ORDER BY channel, address"),
                                   {"ids": ids})
    return [dict(r) for r in result.mappings()]


async def test_organization_gets_inbox_and_one_email_per_address(tx, queued):
    org = await create_organization(tx, org_id="hosp-escuela", emails=("admision@he.hn", "urgencias@he.hn"))
    task = await create_task(tx, task_id="ref-1", owner=org)
    ids = await notify(tx, [notice(recipient=org, about=task)])
    rows = await _rows(tx, ids)
    assert [(r["channel"], r["address"]) for r in rows] == [
        ("email", "admision@he.hn"), ("email", "urgencias@he.hn"), ("inbox", org)]
    assert all(r["status"] == "pending" for r in rows)
    assert rows[0]["tags"] == [{"system": "https://fhir.salud.gob.hn/CodeSystem/region-sanitaria", "code": "08"}]
    assert rows[0]["reference_number"] == "REF-2026-000123"
    assert queued == []  # nothing is queued before commit


async def test_patient_without_sms_consent_gets_email_not_sms(tx, queued):
    patient = await create_patient(tx, patient_id="pac-1", telecom=[
        {"system": "sms", "value": "+50499990000", "rank": 1}, {"system": "email", "value": "ana@correo.hn",
                                                               "rank": 2}])
    ids = await notify(tx, [notice(recipient=patient, about=patient)])
    assert [(r["channel"], r["address"]) for r in await _rows(tx, ids)] == [
        ("email", "ana@correo.hn"), ("inbox", patient)]


async def test_patient_with_sms_consent_gets_sms_on_lowest_rank_in_preferred_language(tx, queued):
    patient = await create_patient(tx, patient_id="pac-2", sms_consent=True, language="en", telecom=[
        {"system": "email", "value": "ana@correo.hn", "rank": 2}, {"system": "sms", "value": "+50499990000",
                                                                  "rank": 1}])
    rows = await _rows(tx, await notify(tx, [notice(recipient=patient, about=patient)]))
    assert [(r["channel"], r["address"], r["language"]) for r in rows] == [
        ("inbox", patient, "en"), ("sms", "+50499990000", "en")]


async def test_retired_contact_point_is_not_used(tx, queued):
    patient = await create_patient(tx, patient_id="pac-3", telecom=[
        {"system": "email", "value": "vieja@correo.hn", "rank": 1, "period": {"end": "2020-01-01"}}])
    rows = await _rows(tx, await notify(tx, [notice(recipient=patient, about=patient)]))
    assert [r["channel"] for r in rows] == ["inbox"]


async def test_unconfigured_channels_are_skipped_when_the_notice_is_written(tx, queued):
    config.STATE.config = Config()  # neither SMTP nor an SMS gateway
    org = await create_organization(tx, org_id="sin-correo", emails=("admision@sincorreo.hn",))
    patient = await create_patient(tx, patient_id="pac-sin-sms", sms_consent=True,
                                   telecom=[{"system": "sms", "value": "+50499990001"}])
    rows = await _rows(tx, await notify(tx, [notice(recipient=org, about=org), notice(recipient=patient, about=org)]))
    assert sorted(r["channel"] for r in rows) == ["inbox", "inbox"]


async def test_region_recipient_gets_the_inbox_only(tx, queued):
    org = await create_organization(tx, org_id="uaps-1")
    task = await create_task(tx, task_id="ref-2", owner=org)
    rows = await _rows(tx, await notify(tx, [notice(recipient="region:08", about=task, event="referral.overdue")]))
    assert [(r["channel"], r["address"]) for r in rows] == [("inbox", "region:08")]


async def test_unknown_recipient_form_answers_400(tx, queued):
    with pytest.raises(BadRequest):
        await notify(tx, [notice(recipient="Practitioner/1", about="Task/1")])


async def test_rows_are_queued_after_commit_and_not_after_rollback(notify_engine, queued):
    async with unit_of_work(notify_engine) as tx:
        committed = await notify(tx, [notice(recipient="region:01", about="Task/commit")])
    assert queued == [committed]
    with pytest.raises(RuntimeError):
        async with unit_of_work(notify_engine) as tx:
            await notify(tx, [notice(recipient="region:01", about="Task/rollback")])
            raise RuntimeError("the event's transaction fails")
    assert queued == [committed]
    async with notify_engine.connect() as conn:
        about = (await conn.execute(text("SELECT array_agg(about) FROM notification_outbox"))).scalar_one()
    assert "Task/rollback" not in about
