"""The text of a resource for the full-text parameters ``_text`` and ``_content`` (R4 search.html#text,
search.html#content).

``_text`` searches the narrative (``DomainResource.text.div``) with its XHTML tags stripped; ``_content`` the
whole resource. The server generates no narrative (ece.narrative only checks one), so ``_text`` finds the
resources whose writer supplied one.

What "the whole resource" holds: the values of the ``string`` and ``markdown`` elements at any depth
(names, addresses, notes, ``CodeableConcept.text``, ``Coding.display``, ``Identifier.value``,
``Reference.display``, extensions' ``valueString``...), of contained and Bundle-entry resources too, and the
text of every narrative. Left out: codes, ids and references (``Reference.reference``, element ``id``), URIs,
dates and times, numbers, booleans and base64 data. Those are machine values that the typed parameters
match exactly (token, reference, uri, date, number); as words of free text they would only add noise (every
``final`` Observation, every year) and cost index space on every write.

Both texts are folded (``ece.dates.fold``: lower case, no accents), as the search expression is, so
"neumonía" is found by "neumonia"; PostgreSQL then splits them into words with the ``simple`` configuration
(no stemming and no stop words: Spanish, English and Miskito words all match as written).
"""

from __future__ import annotations

import html
import re
from functools import cache

from ece.dates import fold
from ece.registry import schema, search_parameters

# The parameter and the type whose SearchParameter defines it (R4 searchparameter-registry.html).
PARAMETERS = {"_text": "DomainResource", "_content": "Resource"}
TEXT_TYPES = frozenset({"string", "markdown"})
# Elements of type string that hold keys, not text: every element's ``id`` and ``Reference.reference``.
KEY_ELEMENTS = frozenset({"id", "reference"})
# to_tsvector refuses a result over 1 MB; 100,000 characters of folded text stay well under it.
MAX_TEXT_CHARS = 100_000

# An XML tag, its quoted attribute values included (a ">" may stand in one).
_TAG = re.compile(r"<(?:[^>\"']|\"[^\"]*\"|'[^']*')*>")


def supports(resource_type: str, name: str) -> bool:
    """Whether ``name`` is a full-text parameter of ``resource_type``: ``_content`` of every resource,
    ``_text`` of those with a narrative (the DomainResource types)."""
    if name == "_content":
        return True
    return name == "_text" and _has_narrative(resource_type)


def definition_url(name: str) -> str:
    return search_parameters()[PARAMETERS[name]][name]["url"]


@cache
def _has_narrative(resource_type: str) -> bool:
    return schema()["types"].get(resource_type, {}).get("text", {}).get("type") == "Narrative"


def full_text(resource_type: str, data: dict) -> tuple[str, str]:
    """(narrative, the rest of the content): folded text for the resource's ``search_text`` row. The store
    indexes the narrative again as part of ``_content`` (ece.store), so the rest leaves it out."""
    parts: list[str] = []
    _collect(resource_type, data, parts, root=True)
    content = fold(" ".join(parts)[:MAX_TEXT_CHARS]) if parts else ""
    text = data.get("text")
    if isinstance(text, dict) and isinstance(text.get("div"), str) and _has_narrative(resource_type):
        return fold(strip_tags(text["div"])[:MAX_TEXT_CHARS]), content
    return "", content


def strip_tags(div: str) -> str:
    """The text of an XHTML narrative; tags become spaces, so table cells and list items stay separate words."""
    return html.unescape(_TAG.sub(" ", div))


@cache
def _text_elements(type_name: str) -> dict[str, str]:
    """Element name -> "" for a text element, else the complex type to walk into (a backbone element,
    ``Narrative``, or ``Resource`` for contained and entry resources). Other elements are not text."""
    out = {}
    for name, element in schema()["types"].get(type_name, {}).items():
        kind = element["type"]
        if name in KEY_ELEMENTS:
            continue
        if kind in TEXT_TYPES:
            out[name] = ""
        elif kind[0].isupper():  # complex types and backbone elements (primitive type names are lower case)
            out[name] = kind
    return out


def _collect(type_name: str, data: dict, parts: list[str], *, root: bool = False) -> None:
    elements = _text_elements(type_name)
    for key, value in data.items():
        kind = elements.get(key)
        if kind is None or (root and kind == "Narrative"):  # the resource's own narrative: see full_text
            continue
        for item in value if isinstance(value, list) else (value,):
            if kind == "":
                if isinstance(item, str):
                    parts.append(item)
            elif isinstance(item, dict):
                _collect_complex(kind, item, parts)


def _collect_complex(kind: str, item: dict, parts: list[str]) -> None:
    if kind == "Narrative":  # a nested narrative: Composition.section.text, a contained resource's
        if isinstance(item.get("div"), str):
            parts.append(strip_tags(item["div"]))
    elif kind == "Resource":
        resource_type = item.get("resourceType")
        if isinstance(resource_type, str):
            _collect(resource_type, item, parts)
    else:
        _collect(kind, item, parts)
