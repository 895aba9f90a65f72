"""The text ``_text`` and ``_content`` search (ece.fulltext): the narrative without its markup, and the string and
markdown values of the whole resource, folded."""

from __future__ import annotations

from ece.fulltext import MAX_TEXT_CHARS, full_text, supports

XHTML = 'xmlns="http://www.w3.org/1999/xhtml"'


def test_narrative_loses_tags_attributes_and_entities_but_keeps_words_apart():
    narrative, _content = full_text("Patient", {"resourceType": "Patient", "text": {"status": "generated", "div": (
        f'<div {XHTML}><table><tr><td title="a > b">Pérez</td><td>Zelaya</td></tr></table>'
        "<p>Alergia a penicilina &amp; sulfas &#233;</p></div>")}})

    assert narrative.split() == ["perez", "zelaya", "alergia", "a", "penicilina", "&", "sulfas", "e"]


def test_content_holds_strings_at_any_depth_and_of_contained_resources_but_not_the_own_narrative():
    narrative, content = full_text("Observation", {
        "resourceType": "Observation", "id": "glucosa-1", "status": "final",
        "text": {"status": "generated", "div": f"<div {XHTML}>Glucosa en ayunas</div>"},
        "code": {"coding": [{"system": "http://loinc.org", "code": "1558-6", "display": "Glucosa"}], "text": "FBS"},
        "subject": {"reference": "Patient/hn-1", "display": "María Pérez"},
        "effectiveDateTime": "2026-03-14T08:00:00-06:00",
        "valueQuantity": {"value": 126, "unit": "mg/dL", "system": "http://unitsofmeasure.org", "code": "mg/dL"},
        "note": [{"text": "Muestra **hemolizada**"}],
        "contained": [{"resourceType": "Practitioner", "id": "lab", "name": [{"text": "Lic. Núñez"}]}],
        "extension": [{"url": "http://salud.gob.hn/fhir/ext/origen", "valueString": "Brigada móvil"}],
    })

    assert narrative.split() == ["glucosa", "en", "ayunas"]
    assert content.split() == ["glucosa", "fbs", "maria", "perez", "mg/dl", "muestra", "**hemolizada**", "lic.",
                               "nunez", "brigada", "movil"]


def test_nested_narratives_count_as_content():
    _narrative, content = full_text("Composition", {
        "resourceType": "Composition", "title": "Epicrisis",
        "section": [{"title": "Evolución", "text": {"status": "generated", "div": f"<div {XHTML}>Afebril</div>"}}]})

    assert content.split() == ["epicrisis", "evolucion", "afebril"]


def test_text_is_cut_to_a_size_postgresql_indexes():
    _narrative, content = full_text("Condition", {"resourceType": "Condition", "note": [{"text": "tos " * 50_000}]})

    assert len(content) == MAX_TEXT_CHARS


def test_text_belongs_to_domain_resources_and_content_to_every_resource():
    assert supports("Patient", "_text") and supports("Patient", "_content")
    assert not supports("Bundle", "_text") and supports("Bundle", "_content")
    assert not supports("Patient", "family")
