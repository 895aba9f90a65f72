"""Index extraction (R4 search.html#ptypes): dates as precision ranges, folded strings, tokens, references."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from ece.dates import date_range, fold
from ece.indexing import extract, indexed_param


def test_a_year_stands_for_the_whole_year():
    assert date_range("1990") == (datetime(1990, 1, 1, tzinfo=UTC), datetime(1991, 1, 1, tzinfo=UTC))


def test_a_month_ends_at_the_start_of_the_next_one():
    assert date_range("2024-12") == (datetime(2024, 12, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC))


def test_a_date_time_with_zone_is_normalised_to_utc_and_lasts_one_second():
    low, high = date_range("2026-11-29T10:15:30-06:00")
    assert low == datetime(2026, 11, 29, 16, 15, 30, tzinfo=UTC)
    assert (high - low).total_seconds() == 1


def test_an_invalid_date_gives_no_range():
    assert date_range("29/11/2026") is None


def test_folding_removes_case_and_accents():
    assert fold("PÉREZ Núñez") == "perez nunez"


def test_patient_rows_cover_identifier_names_gender_and_birthdate():
    rows = extract("Patient", {
        "resourceType": "Patient",
        "identifier": [{"system": "urn:oid:2.16.340.1.1.1", "value": "0801199012345"}],
        "name": [{"family": "Pérez", "given": ["María", "José"]}],
        "gender": "female", "birthDate": "1990-05-02",
    })
    assert ("identifier", "urn:oid:2.16.340.1.1.1", "0801199012345", None) in rows.token
    assert ("gender", None, "female", None) in rows.token
    assert ("family", "perez", "Pérez", True) in rows.string
    assert ("given", "jose", "José", True) in rows.string
    assert [r[0] for r in rows.date] == ["birthdate"]


def test_observation_subject_indexes_both_subject_and_patient():
    rows = extract("Observation", {"resourceType": "Observation", "status": "final", "code": {"text": "PA"},
                                   "subject": {"reference": "Patient/p-1"}})
    assert ("subject", "Patient", "p-1", None, None, None) in rows.reference
    assert ("patient", "Patient", "p-1", None, None, None) in rows.reference


def test_a_double_family_name_is_also_indexed_from_its_second_word_but_not_as_a_whole_value():
    rows = extract("Patient", {"resourceType": "Patient", "name": [{"family": "Pérez Zelaya"}]})
    family = [r for r in rows.string if r[0] == "family"]
    assert sorted(family) == [("family", "perez zelaya", "Pérez Zelaya", True),
                              ("family", "zelaya", "Pérez Zelaya", False)]


UCUM = "http://unitsofmeasure.org"


def test_a_ucum_quantity_is_indexed_as_written_and_in_base_units():
    rows = extract("Observation", {"resourceType": "Observation", "status": "final", "code": {"text": "Glucosa"},
                                   "valueQuantity": {"value": Decimal("95"), "unit": "mg/dL", "system": UCUM,
                                                     "code": "mg/dL"}})
    assert ("value-quantity", Decimal("95"), UCUM, "mg/dL", "mg/dL", Decimal("950"), "g.m-3") in rows.quantity


def test_a_quantity_outside_ucum_or_in_an_unknown_code_has_no_canonical_form():
    def quantity_rows(quantity: dict) -> list[tuple]:
        rows = extract("Observation", {"resourceType": "Observation", "status": "final", "code": {"text": "X"},
                                       "valueQuantity": quantity})
        return [r for r in rows.quantity if r[0] == "value-quantity"]

    assert quantity_rows({"value": 95, "unit": "mg/dL"}) == [("value-quantity", 95, None, None, "mg/dL", None, None)]
    assert quantity_rows({"value": 95, "system": "http://snomed.info/sct", "code": "258797006"})[0][-2:] == (None, None)
    assert quantity_rows({"value": 95, "system": UCUM, "code": "mEq/L"})[0][-2:] == (None, None)


def test_the_quantity_of_a_composite_carries_its_canonical_form():
    rows = extract("Observation", {
        "resourceType": "Observation", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
        "valueQuantity": {"value": 150, "system": UCUM, "code": "mm[Hg]"}})
    composite = [r for r in rows.composite if r[0] == "code-value-quantity"]
    assert composite == [("code-value-quantity", "http://loinc.org", "8480-6", None, None, 150, UCUM, "mm[Hg]",
                          Decimal("19998300"), "g.m-1.s-2", None, None, None)]


def test_a_date_parameter_without_periods_has_ordered_spans():
    assert indexed_param("Patient", "birthdate").ordered_spans  # Patient.birthDate: date
    assert indexed_param("Task", "authored-on").ordered_spans  # Task.authoredOn: dateTime
    assert indexed_param("Patient", "death-date").ordered_spans  # Patient.deceasedDateTime


def test_a_date_parameter_that_may_hold_a_period_or_a_non_date_has_no_ordered_spans():
    assert not indexed_param("Encounter", "date").ordered_spans  # Encounter.period
    assert not indexed_param("Observation", "date").ordered_spans  # effective[x]: dateTime, Period, Timing, instant
    assert not indexed_param("Immunization", "date").ordered_spans  # occurrence[x]: dateTime or string
    assert not indexed_param("Patient", "identifier").ordered_spans  # not a date at all
