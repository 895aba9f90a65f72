"""Full-text search, written from R4 search.html §3.1.1.5.5-6 (``_text``: the narrative; ``_content``: the whole
resource; both take a search-engine expression): words, ``or``, quoted phrases, ``-word``, alternatives by
comma and conditions by repetition (§3.1.1.4.2), in chains and ``_has`` (§3.1.1.4.15-16), with ``_sort``,
paging and counts, and under the access filter.

Store-level: every test writes its resources in a rolled-back transaction and scopes each query with an
identifier system of its own.
"""

from __future__ import annotations

import pytest

from ece import search, store
from ece.errors import BadRequest
from ece.search.clauses import UnknownParameter
from tests.ece.search.helpers import found, make, unique_system

XHTML = 'xmlns="http://www.w3.org/1999/xhtml"'


def narrative(html: str) -> dict:
    return {"status": "generated", "div": f"<div {XHTML}>{html}</div>"}


def condition(system: str, key: str, *, note: str = "", story: str | None = None, **fields) -> dict:
    data = {"resourceType": "Condition", "identifier": [{"system": system, "value": key}],
            "subject": {"reference": "Patient/hn-0801199012345"}, **fields}
    if note:
        data["note"] = [{"text": note}]
    if story is not None:
        data["text"] = narrative(story)
    return data


async def test_text_matches_the_narrative_without_its_tags(tx):
    system = unique_system()
    pneumonia = await make(tx, condition(system, "1", story="<p>Neumonía <b>adquirida</b> en la comunidad</p>"))
    await make(tx, condition(system, "2", story="<p>Fractura de radio</p>", note="neumonía previa"))

    assert await found(tx, "Condition", system, ("_text", "adquirida")) == {pneumonia}
    assert await found(tx, "Condition", system, ("_text", "neumonia")) == {pneumonia}
    assert await found(tx, "Condition", system, ("_text", "b")) == set()  # a tag is not a word


async def test_content_matches_text_of_nested_elements_and_the_narrative(tx):
    system = unique_system()
    with_note = await make(tx, condition(system, "1", note="Paciente refiere tos productiva",
                                         code={"coding": [{"system": "http://hl7.org/fhir/sid/icd-10",
                                                           "code": "J18.9", "display": "Neumonía, no especificada"}]}))
    with_story = await make(tx, condition(system, "2", story="<p>Tos seca nocturna</p>"))

    assert await found(tx, "Condition", system, ("_content", "productiva")) == {with_note}
    assert await found(tx, "Condition", system, ("_content", "especificada")) == {with_note}
    assert await found(tx, "Condition", system, ("_content", "nocturna")) == {with_story}
    assert await found(tx, "Condition", system, ("_content", "tos")) == {with_note, with_story}


async def test_content_leaves_out_codes_references_and_dates(tx):
    system = unique_system()
    await make(tx, condition(system, "1", onsetDateTime="2026-03-14",
                             code={"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "J189"}]}))

    assert await found(tx, "Condition", system, ("_content", "J189")) == set()
    assert await found(tx, "Condition", system, ("_content", "hn-0801199012345")) == set()
    assert await found(tx, "Condition", system, ("_content", "2026")) == set()


async def test_matching_ignores_case_and_accents_on_both_sides(tx):
    system = unique_system()
    nunez = await make(tx, condition(system, "1", note="Referida por la Dra. NÚÑEZ por neumonía"))

    for expression in ("neumonia", "NEUMONÍA", "núñez", "nunez"):
        assert await found(tx, "Condition", system, ("_content", expression)) == {nunez}, expression


async def test_words_are_all_required_unless_joined_by_or(tx):
    system = unique_system()
    cough = await make(tx, condition(system, "1", note="tos y fiebre"))
    fever = await make(tx, condition(system, "2", note="fiebre y cefalea"))

    assert await found(tx, "Condition", system, ("_content", "tos fiebre")) == {cough}
    assert await found(tx, "Condition", system, ("_content", "tos or cefalea")) == {cough, fever}
    assert await found(tx, "Condition", system, ("_content", "tos OR cefalea")) == {cough, fever}
    assert await found(tx, "Condition", system, ("_content", "tos,cefalea")) == {cough, fever}


async def test_a_quoted_phrase_needs_its_words_in_order(tx):
    system = unique_system()
    dengue = await make(tx, condition(system, "1", note="dengue con signos de alarma"))
    await make(tx, condition(system, "2", note="alarma sin signos de dengue"))

    assert await found(tx, "Condition", system, ("_content", '"signos de alarma"')) == {dengue}


async def test_a_word_after_a_minus_must_be_absent(tx):
    system = unique_system()
    await make(tx, condition(system, "1", note="diabetes tipo 2 con neuropatía"))
    plain = await make(tx, condition(system, "2", note="diabetes tipo 2"))

    assert await found(tx, "Condition", system, ("_content", "diabetes -neuropatia")) == {plain}


async def test_repeated_parameters_must_all_match(tx):
    system = unique_system()
    both = await make(tx, condition(system, "1", story="<p>Hipertensión</p>", note="control mensual"))
    await make(tx, condition(system, "2", story="<p>Hipertensión</p>", note="control anual"))

    assert await found(tx, "Condition", system, ("_text", "hipertension"), ("_content", "mensual")) == {both}
    assert await found(tx, "Condition", system, ("_content", "hipertension"), ("_content", "mensual")) == {both}


async def test_an_updated_or_deleted_resource_no_longer_matches_its_old_text(tx):
    system = unique_system()
    changed = await make(tx, condition(system, "1", story="<p>Sospecha de malaria</p>"))
    deleted = await make(tx, condition(system, "2", note="malaria confirmada"))

    await store.update(tx, resource_type="Condition", resource_id=changed,
                       data={**condition(system, "1", story="<p>Dengue confirmado</p>"), "id": changed})
    await store.delete(tx, resource_type="Condition", resource_id=deleted)

    assert await found(tx, "Condition", system, ("_content", "malaria")) == set()
    assert await found(tx, "Condition", system, ("_text", "dengue")) == {changed}


async def test_text_and_content_in_a_chain_and_in_has(tx):
    system = unique_system()
    patient = await make(tx, {"resourceType": "Patient", "identifier": [{"system": system, "value": "p"}],
                              "text": narrative("<p>Trabaja en la maquila de San Pedro Sula</p>")})
    other = await make(tx, {"resourceType": "Patient", "identifier": [{"system": system, "value": "q"}]})
    of_patient = await make(tx, condition(system, "1", subject={"reference": f"Patient/{patient}"},
                                          note="exposición laboral a solventes"))
    await make(tx, condition(system, "2", subject={"reference": f"Patient/{other}"}))

    assert await found(tx, "Condition", system, ("subject:Patient._text", "maquila")) == {of_patient}
    assert await found(tx, "Condition", system, ("patient._content", '"san pedro sula"')) == {of_patient}
    assert await found(tx, "Patient", system, ("_has:Condition:subject:_content", "solventes")) == {patient}


async def test_sort_paging_and_counts_apply_to_text_matches(tx):
    system = unique_system()
    ids = [await make(tx, {"resourceType": "Patient", "identifier": [{"system": system, "value": str(n)}],
                           "name": [{"family": family}], "text": narrative("<p>Control prenatal</p>")})
           for n, family in enumerate(("Zelaya", "Alvarado", "Mejía"))]
    pairs = [("identifier", f"{system}|"), ("_text", "prenatal"), ("_sort", "family"), ("_count", "2")]

    first = await search.search(tx.conn, resource_types=["Patient"], pairs=pairs)
    second = await search.search(tx.conn, resource_types=["Patient"], pairs=[*pairs, ("_cursor", first.next_cursor)])
    counted = await search.search(tx.conn, resource_types=["Patient"], pairs=[*pairs[:2], ("_summary", "count")])

    assert [i for _t, i, _c in first.matches + second.matches] == [ids[1], ids[2], ids[0]]
    assert counted.total == 3


async def test_the_access_filter_applies_to_text_matches(tx):
    system = unique_system()
    shown = await make(tx, condition(system, "1", note="VIH en tratamiento"))
    hidden = await make(tx, condition(system, "2", note="VIH en tratamiento"))

    page = await search.search(tx.conn, resource_types=["Condition"],
                               pairs=[("identifier", f"{system}|"), ("_content", "vih")],
                               visible=lambda bind, alias, _types: f"{alias}.id <> {bind(hidden)}")

    assert [i for _t, i, _c in page.matches] == [shown]


async def test_system_search_finds_text_in_every_type(tx):
    system = unique_system()
    patient = await make(tx, {"resourceType": "Patient", "identifier": [{"system": system, "value": "p"}],
                              "name": [{"family": "Xiquilite"}]})
    problem = await make(tx, condition(system, "1", note="vive en Xiquilite"))

    page = await search.search(tx.conn, resource_types=["Patient", "Condition"],
                               pairs=[("identifier", f"{system}|"), ("_content", "xiquilite")])

    assert {(t, i) for t, i, _c in page.matches} == {("Patient", patient), ("Condition", problem)}


@pytest.mark.parametrize("value", [" ", '""', "-", "¿?"])
async def test_an_expression_without_words_is_refused(tx, value):
    with pytest.raises(BadRequest) as refused:
        await search.search(tx.conn, resource_types=["Condition"], pairs=[("_content", value)])

    assert refused.value.issues[0].expression == ("_content",)


async def test_modifiers_on_text_parameters_are_refused(tx):
    for name in ("_text:exact", "_content:contains", "_content:missing"):
        with pytest.raises(BadRequest) as refused:
            await search.search(tx.conn, resource_types=["Condition"], pairs=[(name, "tos")])
        assert refused.value.issues[0].expression == (name,)


async def test_text_is_unknown_on_a_type_without_narrative(tx):
    with pytest.raises(UnknownParameter):
        await search.search(tx.conn, resource_types=["Bundle"], pairs=[("_text", "alta")], strict=True)
