"""Quantity search across units (R4 search.html#quantity): a search with the UCUM system compares values in UCUM
base units (ece.ucum), so a value stored in any commensurable unit is found, with the precision of the searched
number converted too; incommensurable units never match, and rows not yet given canonical values (written before
migration 0010) are still found by the code as written.

Store-level, scoped by an identifier system of each test's own, as in test_parameter_types.py.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import text

from tests.ece.search.helpers import LOINC, UCUM, found, make, unique_system


def observation(system: str, key: str, value: str, unit: str, **fields) -> dict:
    return {"resourceType": "Observation", "identifier": [{"system": system, "value": key}], "status": "final",
            "code": {"text": "Examen"}, "valueQuantity": {"value": Decimal(value), "system": UCUM, "code": unit},
            **fields}


async def test_a_search_in_one_unit_finds_values_stored_in_commensurable_units(tx):
    system = unique_system()
    high_mg_l = await make(tx, observation(system, "1", "60", "mg/L"))
    high_g_l = await make(tx, observation(system, "2", "0.07", "g/L"))
    low_mg_l = await make(tx, observation(system, "3", "40", "mg/L"))
    low_mg_dl = await make(tx, observation(system, "4", "4", "mg/dL"))

    async def q(value: str) -> set[str]:
        return await found(tx, "Observation", system, ("value-quantity", value))

    assert await q(f"gt5|{UCUM}|mg/dL") == {high_mg_l, high_g_l}
    assert await q(f"lt50|{UCUM}|mg/L") == {low_mg_l, low_mg_dl}
    assert await q(f"ge0.06|{UCUM}|g/L") == {high_mg_l, high_g_l}
    assert await q(f"6|{UCUM}|mg/dL") == {high_mg_l}
    assert await q(f"ne6|{UCUM}|mg/dL") == {high_g_l, low_mg_l, low_mg_dl}


async def test_the_implicit_precision_of_the_searched_number_is_converted_with_it(tx):
    system = unique_system()
    stored = {value: await make(tx, observation(system, value, value, "mg/L"))
              for value in ("49.4", "49.5", "50.4", "50.5", "45", "54.9", "55")}

    async def q(value: str) -> set[str]:
        ids = await found(tx, "Observation", system, ("value-quantity", value))
        return {v for v, i in stored.items() if i in ids}

    # 5.0 mg/dL is [4.95, 5.05) mg/dL: [49.5, 50.5) mg/L; 5 mg/dL is [4.5, 5.5) mg/dL: [45, 55) mg/L.
    assert await q(f"5.0|{UCUM}|mg/dL") == {"49.5", "50.4"}
    assert await q(f"5|{UCUM}|mg/dL") == {"45", "49.4", "49.5", "50.4", "50.5", "54.9"}
    # ap is within 10% of the value: [4.5, 5.5] mg/dL, both ends included.
    assert await q(f"ap5.0|{UCUM}|mg/dL") == {"45", "49.4", "49.5", "50.4", "50.5", "54.9", "55"}


async def test_incommensurable_units_never_match(tx):
    system = unique_system()
    glucose_mmol = await make(tx, observation(system, "1", "5.5", "mmol/L"))
    glucose_mg = await make(tx, observation(system, "2", "99", "mg/dL"))
    leukocytes = await make(tx, observation(system, "3", "5.5", "10*9/L"))
    interleukin = await make(tx, observation(system, "4", "5.5", "[IU]/L"))

    async def q(value: str) -> set[str]:
        return await found(tx, "Observation", system, ("value-quantity", value))

    assert await q(f"5.5|{UCUM}|mmol/L") == {glucose_mmol}  # not the count nor the arbitrary unit
    assert await q(f"gt0|{UCUM}|mg/dL") == {glucose_mg}  # no molar mass: mmol/L is not a mass concentration
    assert await q(f"5500|{UCUM}|/uL") == {leukocytes}
    assert await q(f"5.5|{UCUM}|m[IU]/mL") == {interleukin}


async def test_temperatures_convert_with_their_offsets(tx):
    system = unique_system()
    normal = await make(tx, observation(system, "1", "98.6", "[degF]"))
    fever = await make(tx, observation(system, "2", "38.5", "Cel"))
    slight = await make(tx, observation(system, "3", "99.5", "[degF]"))  # 37.5 Cel

    async def q(value: str) -> set[str]:
        return await found(tx, "Observation", system, ("value-quantity", value))

    # 37 Cel is [36.5, 37.5) Cel and 38 Cel [37.5, 38.5) Cel; 99.5 [degF] is 37.5 Cel exactly.
    assert await q(f"37|{UCUM}|Cel") == {normal}
    assert await q(f"38|{UCUM}|Cel") == {slight}
    assert await q(f"gt38|{UCUM}|Cel") == {fever}
    assert await q(f"ge99.5|{UCUM}|[degF]") == {fever, slight}


async def test_a_quantity_without_the_ucum_system_is_only_matched_as_written(tx):
    system = unique_system()
    unit_only = await make(tx, observation(system, "1", "60", "mg/L") | {"valueQuantity": {
        "value": Decimal("60"), "unit": "mg/L"}})
    ucum = await make(tx, observation(system, "2", "60", "mg/L"))

    assert await found(tx, "Observation", system, ("value-quantity", f"gt5|{UCUM}|mg/dL")) == {ucum}
    assert await found(tx, "Observation", system, ("value-quantity", "60||mg/L")) == {unit_only, ucum}
    assert await found(tx, "Observation", system, ("value-quantity", "6||mg/dL")) == set()


async def test_rows_without_canonical_values_still_match_by_the_code_as_written(tx):
    system = unique_system()
    before = await make(tx, observation(system, "1", "5.4", "mg"))
    await tx.conn.execute(text("UPDATE search_quantity SET canonical_value = NULL, canonical_code = NULL "
                               "WHERE resource_type = 'Observation' AND resource_id = :i"), {"i": before})
    after = await make(tx, observation(system, "2", "5.4", "mg"))

    async def q(value: str) -> set[str]:
        return await found(tx, "Observation", system, ("value-quantity", value))

    assert await q(f"5.4|{UCUM}|mg") == {before, after}
    assert await q(f"5.40e-3|{UCUM}|g") == {after}  # converted only once reindexed (ece reindex)


async def test_composite_code_value_quantity_compares_converted_values(tx):
    system = unique_system()

    async def systolic(key: str, value: str, unit: str) -> str:
        return await make(tx, observation(system, key, value, unit,
                                          code={"coding": [{"system": LOINC, "code": "8480-6"}]}))

    high = await systolic("1", "150", "mm[Hg]")  # 19.998 kPa
    normal = await systolic("2", "15", "kPa")

    async def q(value: str) -> set[str]:
        return await found(tx, "Observation", system, ("code-value-quantity", f"{LOINC}|8480-6${value}"))

    assert await q(f"20|{UCUM}|kPa") == {high}
    assert await q(f"gt140|{UCUM}|mm[Hg]") == {high}
    assert await q(f"lt140|{UCUM}|mm[Hg]") == {normal}
    assert await q(f"gt0|{UCUM}|mg") == set()
