"""Synthetic patients (hn-paciente): who they are, where they live, how they are identified.

Adults (18 and over) carry a DNI whose first four digits are the municipality of their birth registration
(recorded as the R4 ``patient-birthPlace`` extension, so the two can be checked against each other) and
whose next four are the year of registration: the birth year, a few years later for a few late
registrations. Minors carry their birth registration number instead, except some babies not yet
registered, who only have the number of their record at the facility. About one in eleven identifies
with an indigenous or Afro-Honduran people, most of them in the departments where these peoples live.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date

from fhir_profiles import systems as s
from synthetic import geography, people
from synthetic.ids import DATA_END, new_id, stream
from synthetic.network import Facility, Network, address

ADULT_AGE = 18
BIRTH_PLACE = "http://hl7.org/fhir/StructureDefinition/patient-birthPlace"  # R4 core extension
BORN_ELSEWHERE = 0.2  # share of people registered in another municipality than the one they live in
LATE_REGISTRATION = 0.05
UNREGISTERED_BABIES = 0.3  # under one year old without a birth registration number yet
_DEPARTMENT_WEIGHTS = tuple(d.population_thousands for d in geography.DEPARTMENTS)


@dataclass(frozen=True)
class Person:
    """What the clinical generator needs to know of a patient."""

    index: int
    id: str
    gender: str
    age: int
    birth_date: date
    people: str | None
    home: Facility
    municipality: geography.Municipality

    @property
    def reference(self) -> str:
        return f"Patient/{self.id}"


def person_and_patient(network: Network, index: int) -> tuple[random.Random, Person, dict]:
    """Patient ``index`` of the network's seed, and the stream the rest of the patient's records come from."""
    rng = stream("patient", network.seed, index)
    patient_id = new_id(rng)
    age, gender = people.draw_age_sex(rng)
    born = people.birth_date(rng, age, DATA_END)
    department = rng.choices(geography.DEPARTMENTS, weights=_DEPARTMENT_WEIGHTS)[0]
    home = _home_facility(rng, network, department.code)
    municipality = home.municipality
    ethnicity = _people(rng, department)
    person = Person(index, patient_id, gender, age, born, ethnicity, home, municipality)
    return rng, person, _patient(rng, network, person)


def _home_facility(rng: random.Random, network: Network, department: str) -> Facility:
    return rng.choice(network.first_level(department))


def _people(rng: random.Random, department: geography.Department) -> str | None:
    roll = rng.random()
    for code, share in department.peoples:
        if roll < share:
            return code
        roll -= share
    return None


def _patient(rng: random.Random, network: Network, person: Person) -> dict:
    registered_in = person.municipality if rng.random() >= BORN_ELSEWHERE else \
        rng.choice(rng.choice(geography.DEPARTMENTS).municipalities)
    year = person.birth_date.year + (rng.randrange(1, 6) if rng.random() < LATE_REGISTRATION else 0)
    number = people.dni(municipality=registered_in.code, registration_year=min(year, DATA_END.year),
                        index=person.index, offset=network.seed)
    identifiers = []
    if person.age >= ADULT_AGE:
        identifiers.append({"use": "official", "system": s.DNI, "value": number})
    elif person.age >= 1 or rng.random() >= UNREGISTERED_BABIES:
        identifiers.append({"use": "official", "system": s.BIRTH_REGISTRATION, "value": number})
    identifiers.append({"use": "usual", "system": s.RECORD_NUMBER, "value": f"{person.index + 1:07d}",
                        "assigner": {"reference": person.home.reference, "display": person.home.name}})
    first, second = people.surnames(rng, person.people)
    given = people.given_names(rng, person.gender)
    data: dict = {"resourceType": "Patient", "id": person.id,
                  "meta": {"profile": [s.canonical("StructureDefinition", "hn-paciente")]}}
    extensions = []
    if person.people:
        extensions.append({"url": s.EXT_PEOPLE, "valueCoding": {"system": s.CS_PEOPLE, "code": person.people}})
    extensions.append({"url": BIRTH_PLACE, "valueAddress": _place(registered_in)})
    data["extension"] = extensions
    data["identifier"] = identifiers
    data["active"] = True
    data["name"] = [{"use": "official", "text": " ".join([*given, first, second]), "family": first,
                     "given": given, "extension": [{"url": s.EXT_SECOND_SURNAME, "valueString": second}]}]
    if person.age >= 15 and rng.random() < 0.8:
        data["telecom"] = [{"system": "phone", "value": people.mobile_phone(rng), "use": "mobile"}]
    data["gender"] = person.gender
    data["birthDate"] = person.birth_date.isoformat()
    data["address"] = [{"use": "home", **address(rng, person.municipality)}]
    data["communication"] = _languages(rng, person.people)
    data["managingOrganization"] = {"reference": person.home.reference}
    return data


def _place(municipality: geography.Municipality) -> dict:
    return {"extension": [{"url": s.EXT_DEPARTMENT, "valueCoding": {"system": s.CS_DEPARTMENT,
                                                                    "code": municipality.department}},
                          {"url": s.EXT_MUNICIPALITY, "valueCoding": {"system": s.CS_MUNICIPALITY,
                                                                      "code": municipality.code}}],
            "city": municipality.name, "country": "HN"}


def _languages(rng: random.Random, ethnicity: str | None) -> list[dict]:
    spanish = {"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "es"}], "text": "Español"}}
    own = geography.PEOPLE_LANGUAGES.get(ethnicity or "")
    if own is None or rng.random() < 0.4:
        return [{**spanish, "preferred": True}]
    return [{"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": own}]}, "preferred": True}, spanish]
