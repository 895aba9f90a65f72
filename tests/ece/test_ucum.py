"""UCUM canonical forms (ece.ucum), written from the UCUM specification: its grammar (§§2.1-2.2: prefixes, ``.``
and ``/`` from left to right, exponents, parentheses, annotations, integer factors), the definitions of its unit
atoms, and special (§21) and arbitrary (§24) units."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ece.ucum import canonical, conversion


def c(value: str, code: str) -> tuple[Decimal, str] | None:
    return canonical(Decimal(value), code)


# --- commensurable units meet in base units ----------------------------------------------------------


def test_mass_concentrations_in_any_unit_have_one_canonical_form():
    assert c("5", "mg/dL") == c("50", "mg/L") == c("0.05", "g/L") == (Decimal("50"), "g.m-3")


def test_decimal_factors_convert_exactly():
    assert c("5.4", "mg") == c("5.40e-3", "g") == (Decimal("0.0054"), "g")
    assert c("1", "[oz_av]") == (Decimal("28.349523125"), "g")  # 7000 grains of 64.79891 mg, over 16
    assert c("2.2", "[lb_av]") == (Decimal("997.903214"), "g")
    assert c("70", "kg") == (Decimal("70000"), "g")


def test_cell_counts_per_volume_with_powers_of_ten_and_annotations():
    per_litre = c("4.5", "10*9/L")
    assert per_litre == c("4.5", "10*3/uL") == c("4500", "/uL") == c("4500", "{cells}/uL")
    assert per_litre == (Decimal("4.5e12"), "m-3")
    assert c("4.5", "10^9/L") == per_litre


def test_pressures_of_mercury_and_water_columns_are_pascals():
    assert c("1", "mm[Hg]") == c("133.322", "Pa") == (Decimal("133322"), "g.m-1.s-2")
    assert c("1", "cm[H2O]") == c("98.0665", "Pa")
    assert c("1", "kPa") == c("1000", "N/m2")


def test_lengths_and_volumes():
    assert c("1", "[in_i]") == c("2.54", "cm") == (Decimal("0.0254"), "m")
    assert c("1", "[ft_i]") == c("30.48", "cm")
    assert c("1", "L") == c("1", "dm3") == c("1000", "mL") == c("1000", "cm3") == (Decimal("0.001"), "m3")
    assert c("20", "[drp]") == c("1", "mL")


def test_times_and_rates():
    assert c("1", "h") == c("60", "min") == (Decimal("3600"), "s")
    assert c("1", "wk") == c("7", "d")
    assert c("1", "a") == c("365.25", "d")
    assert c("60", "/min") == c("1", "Hz") == c("1", "s-1") == (Decimal("1"), "s-1")


def test_percent_and_parts_per_million_are_dimensionless():
    assert c("5", "%") == c("50000", "[ppm]") == c("0.05", "1") == (Decimal("0.05"), "1")
    assert c("7", "{score}") == (Decimal("7"), "1")


def test_amounts_of_substance_convert_among_themselves():
    assert c("140", "mmol/L") == c("140", "meq/L") == c("0.14", "mol/L") == (Decimal("140"), "m-3.mol")
    assert c("60", "U") == c("1", "umol/s") == c("1", "ukat")


def test_mole_based_and_mass_based_units_are_not_commensurable():
    assert c("5", "mmol/L")[1] != c("5", "mg/L")[1]
    assert c("1", "mol")[1] != c("1", "g")[1]


def test_a_mole_is_not_a_count():
    """UCUM makes the mole a number (6.0221367e23); kept apart here, a concentration never meets a cell count."""
    assert c("1", "mmol/L")[1] != c("1", "10*9/L")[1]


# --- special units: temperatures on an interval scale ------------------------------------------------


def test_celsius_and_fahrenheit_convert_with_their_offsets():
    assert c("37", "Cel") == c("98.6", "[degF]") == c("310.15", "K") == (Decimal("310.15"), "K")
    assert c("0", "Cel") == c("32", "[degF]") == (Decimal("273.15"), "K")
    assert c("-40", "Cel") == c("-40", "[degF]")


def test_a_temperature_conversion_applies_the_offset_after_the_scale():
    to_kelvin = conversion("[degF]")
    assert to_kelvin.canonical(Decimal("212")) - to_kelvin.canonical(Decimal("32")) == Decimal("100")
    assert c("1", "mCel") == (Decimal("273.151"), "K")  # a prefix scales the value (UCUM §22)


@pytest.mark.parametrize("code", ["Cel/h", "Cel2", "/Cel", "Cel.[degF]", "K/Cel"])
def test_special_units_take_part_in_no_algebra(code):
    assert conversion(code) is None


# --- arbitrary units ---------------------------------------------------------------------------------


def test_an_arbitrary_unit_converts_only_to_itself_with_prefixes_and_volumes():
    assert c("10", "m[IU]/mL") == c("10", "[IU]/L") == c("10", "[iU]/L") == (Decimal("10000"), "[iU].m-3")
    assert c("1", "[iU]")[1] != c("1", "[arb'U]")[1]
    assert c("1", "[CFU]/mL")[1] != c("1", "/mL")[1]


# --- grammar ------------------------------------------------------------------------------------------


def test_operators_apply_from_left_to_right_and_parentheses_group():
    assert c("1", "mg/kg/d") == c("1", "mg/(kg.d)")
    assert c("1", "g/m.s") == c("1", "g.s/m")  # (g/m).s, UCUM §7
    assert c("1", "g/m.s") != c("1", "g/(m.s)")


def test_exponents_apply_to_the_prefixed_unit():
    assert c("1", "cm3") == (Decimal("0.000001"), "m3")  # (10^-2 m)^3, UCUM §9
    assert c("1", "m+2") == c("1", "m2") == (Decimal("1"), "m2")
    assert c("1", "kg/m2") == (Decimal("1000"), "g.m-2")
    assert c("1", "mL/min/{1.73_m2}") == c("1", "mL/min")


def test_the_longest_prefix_whose_remainder_is_a_metric_atom_wins():
    assert c("1", "cd") == (Decimal("1"), "cd")  # candela; the day is not metric, so no centi-day
    assert c("1", "Pa") == (Decimal("1000"), "g.m-1.s-2")  # pascal, not peta-year
    assert c("1", "dam") == c("10", "m")  # deka-metre, not deci-"am"
    assert c("1", "min") == (Decimal("60"), "s")


def test_canonical_units_are_written_in_one_deterministic_order():
    assert conversion("L/mg").unit == conversion("m3.g-1").unit == "g-1.m3"


@pytest.mark.parametrize("code", ["", "mEq/L", "foo", "mg/", "/", "m..s", "(mg", "mg)", "{cells", "[in_i",
                                  "12a", "m-", "10*999", "[pH]", "B", "2 mg", "mg{a{b}}", "m²", "µg"])
def test_codes_ucum_does_not_define_have_no_canonical_form(code):
    assert conversion(code) is None


def test_a_code_longer_than_any_unit_is_not_parsed():
    assert conversion("m." * 60 + "m") is None


def test_values_no_unit_needs_are_not_converted():
    assert c("1e999999", "mg") is None
    assert c("1e-400", "g") is None
    assert c("0", "mg") == (Decimal("0"), "g")
