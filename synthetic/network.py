"""The health network: facilities of every level (Organization), their buildings (Location), the services
they offer (HealthcareService), and the professionals who work there (Practitioner, PractitionerRole).

The hospitals are fixed: national hospitals in Tegucigalpa (Distrito Central) and San Pedro Sula, a
general hospital in most department capitals and basic hospitals in some other towns. The first level
(UAPS, CIS and, in the two cities, polyclinics) fills the rest of ``facilities``, shared among departments
by population. Every resource meets its national profile (hn-establecimiento, hn-ubicacion, hn-servicio,
hn-profesional, hn-rol-profesional).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal

from fhir_profiles import systems as s
from synthetic import geography, people
from synthetic.ids import new_id, stream

DEFAULT_FACILITIES = 200
# (municipality, type, name)
HOSPITALS: tuple[tuple[str, str, str], ...] = (
    ("0801", "HE", "Hospital Escuela"), ("0801", "HE", "Hospital San Felipe"),
    ("0801", "HE", "Instituto Nacional Cardiopulmonar"), ("0801", "HE", "Hospital Psiquiátrico Mario Mendoza"),
    ("0801", "HE", "Hospital María de Especialidades Pediátricas"),
    ("0501", "HE", "Hospital Nacional Mario Catarino Rivas"), ("0501", "HE", "Hospital Leonardo Martínez Valenzuela"),
    ("0101", "HG", "Hospital Atlántida"), ("0201", "HG", "Hospital Salvador Paredes"),
    ("0301", "HG", "Hospital Santa Teresa"), ("0401", "HG", "Hospital de Occidente"),
    ("0601", "HG", "Hospital del Sur"), ("0703", "HG", "Hospital Gabriela Alvarado"),
    ("0901", "HG", "Hospital de Puerto Lempira"), ("1001", "HG", "Hospital Enrique Aguilar Cerrato"),
    ("1101", "HG", "Hospital de Roatán"), ("1201", "HG", "Hospital Roberto Suazo Córdova"),
    ("1301", "HG", "Hospital Juan Manuel Gálvez"), ("1401", "HG", "Hospital de Ocotepeque"),
    ("1501", "HG", "Hospital San Francisco"), ("1601", "HG", "Hospital Integrado de Santa Bárbara"),
    ("1709", "HG", "Hospital de San Lorenzo"), ("1804", "HG", "Hospital de El Progreso"),
    ("0107", "HB", "Hospital de Tela"), ("0209", "HB", "Hospital de Tocoa"), ("0318", "HB", "Hospital de Siguatepeque"),
    ("0506", "HB", "Hospital de Puerto Cortés"), ("1506", "HB", "Hospital de Catacamas"),
    ("1807", "HB", "Hospital de Olanchito"), ("1801", "HB", "Hospital de Yoro"),
)
# Departments whose patients go to the national hospitals of San Pedro Sula; the others to Tegucigalpa.
NORTH_WEST = frozenset({"01", "02", "04", "05", "11", "13", "14", "16", "18"})

SPECIALTIES = {
    "UAPS": ("medicina-general", "enfermeria"),
    "CIS": ("medicina-general", "enfermeria", "odontologia", "psicologia", "ginecologia-obstetricia"),
    "POLI": ("medicina-general", "enfermeria", "medicina-interna", "pediatria", "ginecologia-obstetricia",
             "odontologia"),
    "HB": ("medicina-general", "enfermeria", "medicina-interna", "pediatria", "ginecologia-obstetricia",
           "cirugia-general"),
    "HG": ("medicina-general", "enfermeria", "medicina-interna", "pediatria", "ginecologia-obstetricia",
           "cirugia-general", "ortopedia", "neonatologia", "psicologia"),
    "HE": ("medicina-general", "enfermeria", "medicina-interna", "pediatria", "neonatologia",
           "ginecologia-obstetricia", "cirugia-general", "ortopedia", "cardiologia", "neumologia", "nefrologia",
           "neurologia", "neurocirugia", "oncologia", "infectologia", "endocrinologia", "gastroenterologia",
           "urologia", "oftalmologia", "otorrinolaringologia", "dermatologia", "psiquiatria"),
}
# National hospitals devoted to one field offer only these.
FOCUSED = {
    "Instituto Nacional Cardiopulmonar": ("medicina-general", "enfermeria", "cardiologia", "neumologia",
                                          "cirugia-general", "medicina-interna"),
    "Hospital Psiquiátrico Mario Mendoza": ("medicina-general", "enfermeria", "psiquiatria", "psicologia"),
    "Hospital María de Especialidades Pediátricas": ("medicina-general", "enfermeria", "pediatria", "neonatologia",
                                                     "cirugia-general", "cardiologia", "neurologia", "oncologia"),
}
PROFESSIONALS_PER_SPECIALTY = {"UAPS": 1, "CIS": 1, "POLI": 1, "HB": 1, "HG": 2, "HE": 2}
# Licence prefix and issuing college of each profession (Practitioner.identifier:colegiacion.assigner).
COLLEGES = {
    "enfermeria": ("CPEH", "Colegio de Profesionales de Enfermería de Honduras"),
    "odontologia": ("CCDH", "Colegio de Cirujanos Dentistas de Honduras"),
    "psicologia": ("CPPH", "Colegio de Psicólogos de Honduras"),
}
MEDICAL_COLLEGE = ("CMH", "Colegio Médico de Honduras")
ROLE_CODES = {"enfermeria": "nurse"}  # R4 CodeSystem practitioner-role; the others are "doctor"
NO_ROLE_CODE = frozenset({"odontologia", "psicologia"})
SERVICE_TYPES = {"HB": ("consulta-externa", "emergencia", "hospitalizacion"),
                 "HG": ("consulta-externa", "emergencia", "hospitalizacion", "cirugia", "laboratorio",
                        "imagenologia"),
                 "HE": ("consulta-externa", "emergencia", "hospitalizacion", "cirugia", "cuidados-intensivos",
                        "laboratorio", "imagenologia")}
SPECIALTY_NAMES = {
    "medicina-general": "medicina general", "enfermeria": "enfermería", "medicina-interna": "medicina interna",
    "pediatria": "pediatría", "neonatologia": "neonatología", "ginecologia-obstetricia": "ginecología y obstetricia",
    "cirugia-general": "cirugía general", "ortopedia": "ortopedia y traumatología", "cardiologia": "cardiología",
    "neumologia": "neumología", "nefrologia": "nefrología", "neurologia": "neurología",
    "neurocirugia": "neurocirugía", "oncologia": "oncología", "infectologia": "infectología",
    "endocrinologia": "endocrinología", "gastroenterologia": "gastroenterología", "urologia": "urología",
    "oftalmologia": "oftalmología", "otorrinolaringologia": "otorrinolaringología",
    "dermatologia": "dermatología", "psiquiatria": "psiquiatría", "odontologia": "odontología",
    "psicologia": "psicología",
}


@dataclass
class Facility:
    id: str
    code: str
    kind: str
    name: str
    municipality: geography.Municipality
    latitude: float
    longitude: float
    location_id: str
    roles: dict[str, list[str]] = field(default_factory=dict)  # specialty → PractitionerRole ids
    services: dict[str, str] = field(default_factory=dict)  # specialty → HealthcareService id

    @property
    def level(self) -> str:
        return "1" if self.kind in ("UAPS", "CIS", "POLI") else "2"

    @property
    def reference(self) -> str:
        return f"Organization/{self.id}"


@dataclass
class Network:
    seed: int
    size: int  # the ``facilities`` it was built with
    facilities: list[Facility]
    resources: list[dict]

    def first_level(self, department: str) -> list[Facility]:
        return [f for f in self.facilities if f.level == "1" and f.municipality.department == department]

    def hospitals(self, department: str) -> list[Facility]:
        """The department's own hospitals, then the national ones that receive its patients."""
        own = [f for f in self.facilities if f.kind in ("HB", "HG") and f.municipality.department == department]
        city = "0501" if department in NORTH_WEST else "0801"
        national = [f for f in self.facilities if f.kind == "HE" and f.municipality.code == city
                    and f.name not in FOCUSED]
        return own + national


def build(seed: int, facilities: int = DEFAULT_FACILITIES) -> Network:
    """The network of ``seed`` with about ``facilities`` facilities (never fewer than the hospitals plus one
    first-level facility per department)."""
    rng = stream("network", seed, facilities)
    plan = [(geography.MUNICIPALITIES[m], kind, name) for m, kind, name in HOSPITALS]
    plan += _first_level_plan(rng, max(facilities - len(HOSPITALS), len(geography.DEPARTMENTS)))
    network = Network(seed, facilities, [], [])
    numbers: dict[str, int] = {}
    licences: dict[str, int] = {}
    for municipality, kind, name in plan:
        numbers[municipality.code] = numbers.get(municipality.code, 0) + 1
        facility = Facility(new_id(rng), f"HN-{municipality.code}-{numbers[municipality.code]:04d}", kind, name,
                            municipality, round(municipality.latitude + rng.uniform(-0.06, 0.06), 5),
                            round(municipality.longitude + rng.uniform(-0.06, 0.06), 5), new_id(rng))
        network.facilities.append(facility)
    by_department: dict[str, str] = {}
    for facility in network.facilities:  # the network of a department is led by its first hospital
        if facility.kind in ("HG", "HE"):
            by_department.setdefault(facility.municipality.department, facility.id)
    for facility in network.facilities:
        head = by_department.get(facility.municipality.department)
        network.resources.append(_organization(rng, facility, head))
        network.resources.append(_location(rng, facility))
        specialties = FOCUSED.get(facility.name, SPECIALTIES[facility.kind])
        for specialty in specialties:
            for _ in range(PROFESSIONALS_PER_SPECIALTY[facility.kind] + (1 if specialty == "enfermeria" else 0)):
                practitioner, role = _professional(rng, facility, specialty, licences)
                network.resources += [practitioner, role]
                facility.roles.setdefault(specialty, []).append(role["id"])
            if specialty != "enfermeria":
                service = _service(rng, facility, specialty)
                facility.services[specialty] = service["id"]
                network.resources.append(service)
    return network


def _first_level_plan(rng: random.Random, count: int) -> list[tuple[geography.Municipality, str, str]]:
    """``count`` first-level facilities: at least one per department, the rest by population."""
    departments = list(geography.DEPARTMENTS)
    total = sum(d.population_thousands for d in departments)
    shares = {d.code: max(1, round(count * d.population_thousands / total)) for d in departments}
    while sum(shares.values()) > count:  # rounding up the small departments can overshoot
        largest = max(shares, key=lambda c: shares[c])
        shares[largest] -= 1
    plan = []
    used: set[tuple[str, str]] = set()
    for department in departments:
        for number in range(shares[department.code]):
            municipality = department.municipalities[0] if number == 0 or rng.random() < 0.4 \
                else rng.choice(department.municipalities)
            city = municipality.code in geography.METROPOLITAN_REGIONS
            roll = rng.random()
            kind = "POLI" if city and roll < 0.08 else ("CIS" if roll < 0.2 else "UAPS")
            place = rng.choice(geography.PLACES)
            while (municipality.code, place) in used and len(used) < 10_000:
                place = f"{rng.choice(geography.PLACES)} {rng.choice(('I', 'II', 'III', 'Norte', 'Sur'))}"
            used.add((municipality.code, place))
            label = {"UAPS": "UAPS", "CIS": "CIS", "POLI": "Policlínico"}[kind]
            plan.append((municipality, kind, f"{label} {place}, {municipality.name}"))
    return plan


def address(rng: random.Random, municipality: geography.Municipality) -> dict:
    """An address with the department and municipality extensions of the national profiles."""
    return {"extension": [{"url": s.EXT_DEPARTMENT, "valueCoding": {"system": s.CS_DEPARTMENT,
                                                                    "code": municipality.department}},
                          {"url": s.EXT_MUNICIPALITY, "valueCoding": {"system": s.CS_MUNICIPALITY,
                                                                      "code": municipality.code}}],
            "line": [f"{rng.choice(geography.STREET_KINDS)} {rng.choice(geography.PLACES)}, "
                     f"casa {rng.randrange(1, 400)}"],
            "city": "Tegucigalpa" if municipality.code == "0801" else municipality.name,
            "state": geography.department_of(municipality.code).name, "country": "HN"}


def _meta(profile: str) -> dict:
    return {"profile": [s.canonical("StructureDefinition", profile)]}


def _organization(rng: random.Random, facility: Facility, head: str | None) -> dict:
    extensions = [{"url": s.EXT_HEALTH_REGION, "valueCoding": {"system": s.CS_HEALTH_REGION,
                                                               "code": facility.municipality.region}}]
    if head is not None and head != facility.id:
        extensions.append({"url": s.EXT_HEALTH_NETWORK, "valueReference": {"reference": f"Organization/{head}"}})
    return {"resourceType": "Organization", "id": facility.id, "meta": _meta("hn-establecimiento"),
            "extension": extensions,
            "identifier": [{"system": s.FACILITY_CODE, "value": facility.code}], "active": True,
            "type": [{"coding": [{"system": s.CS_FACILITY_LEVEL, "code": facility.level}]},
                     {"coding": [{"system": s.CS_FACILITY_TYPE, "code": facility.kind}]}],
            "name": facility.name,
            "telecom": [{"system": "phone", "value": f"2{rng.randrange(100, 1000)}-{rng.randrange(10000):04d}",
                         "use": "work"}],
            "address": [address(rng, facility.municipality)]}


def _location(rng: random.Random, facility: Facility) -> dict:
    return {"resourceType": "Location", "id": facility.location_id, "meta": _meta("hn-ubicacion"),
            "status": "active", "name": facility.name, "mode": "instance",
            "physicalType": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/location-physical-type",
                                         "code": "bu"}]},
            "address": address(rng, facility.municipality),
            "position": {"latitude": Decimal(f"{facility.latitude:.5f}"),
                         "longitude": Decimal(f"{facility.longitude:.5f}")},
            "managingOrganization": {"reference": facility.reference}}


def _service(rng: random.Random, facility: Facility, specialty: str) -> dict:
    # Hospitals mostly receive referrals; CIS and polyclinics do for some of their specialists.
    if facility.level == "2":
        accepting = rng.random() < 0.9
    else:
        accepting = facility.kind in ("CIS", "POLI") and specialty != "medicina-general" and rng.random() < 0.5
    kinds = SERVICE_TYPES.get(facility.kind, ("consulta-externa",))
    if specialty == "ginecologia-obstetricia" and facility.kind in ("CIS", "HB", "HG", "HE"):
        kinds = (*kinds, "atencion-parto")
    label = "Consulta de" if facility.level == "1" else "Servicio de"
    return {"resourceType": "HealthcareService", "id": new_id(rng), "meta": _meta("hn-servicio"),
            "extension": [{"url": s.EXT_ACCEPTING_REFERRALS, "valueBoolean": accepting}], "active": True,
            "providedBy": {"reference": facility.reference},
            "type": [{"coding": [{"system": s.CS_REFERRAL_SERVICE, "code": k}]} for k in kinds],
            "specialty": [{"coding": [{"system": s.CS_SPECIALTY, "code": specialty}]}],
            "location": [{"reference": f"Location/{facility.location_id}"}],
            "name": f"{label} {SPECIALTY_NAMES[specialty]} — {facility.name}"}


def _professional(rng: random.Random, facility: Facility, specialty: str, licences: dict[str, int]
                  ) -> tuple[dict, dict]:
    prefix, college = COLLEGES.get(specialty, MEDICAL_COLLEGE)
    licences[prefix] = licences.get(prefix, 1000 + rng.randrange(9000)) + 1 + rng.randrange(3)
    gender = "female" if rng.random() < (0.85 if specialty == "enfermeria" else 0.55) else "male"
    first, second = people.surnames(rng, None)
    practitioner_id, role_id = new_id(rng), new_id(rng)
    practitioner = {
        "resourceType": "Practitioner", "id": practitioner_id, "meta": _meta("hn-profesional"),
        "identifier": [{"system": s.PROFESSIONAL_LICENCE, "value": f"{prefix}-{licences[prefix]}",
                        "assigner": {"display": college}}],
        "active": True,
        "name": [{"family": first, "given": people.given_names(rng, gender),
                  "extension": [{"url": s.EXT_SECOND_SURNAME, "valueString": second}]}],
        "telecom": [{"system": "phone", "value": people.mobile_phone(rng), "use": "work"}],
        "gender": gender,
    }
    role = {"resourceType": "PractitionerRole", "id": role_id, "meta": _meta("hn-rol-profesional"), "active": True,
            "practitioner": {"reference": f"Practitioner/{practitioner_id}"},
            "organization": {"reference": facility.reference},
            "specialty": [{"coding": [{"system": s.CS_SPECIALTY, "code": specialty}]}],
            "location": [{"reference": f"Location/{facility.location_id}"}]}
    if specialty not in NO_ROLE_CODE:
        role["code"] = [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/practitioner-role",
                                     "code": ROLE_CODES.get(specialty, "doctor")}]}]
    return practitioner, role
