"""The DNI layout (13 digits: department 01-18, municipality, year, sequence; no check digit)."""

from __future__ import annotations

import pytest

from fhir_profiles.systems import format_dni, is_dni, parse_dni


def test_a_dni_is_shown_in_its_printed_form():
    assert format_dni("0801199012345") == "0801-1990-12345"


def test_the_printed_form_parses_back_to_thirteen_digits():
    assert parse_dni("0801-1990-12345") == "0801199012345"
    assert parse_dni(" 1804 2001 00077 ") == "1804200100077"


@pytest.mark.parametrize("value", ["0001199012345", "1901199012345", "0801189912345", "080119901234",
                                   "08011990123456", "0801-1990-1234X"])
def test_department_year_and_length_are_checked(value):
    assert not is_dni(value)


def test_no_check_digit_is_invented():
    # Any sequence is accepted once department and year are plausible.
    assert all(is_dni(f"0801199012{n:03d}") for n in range(0, 1000, 37))
