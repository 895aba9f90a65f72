"""A small care network on the live server for the access tests, written by a trusted system client.

Two facilities, A (region 08) and B (region 05), and five patients, each with one Observation of a code of
its own:
- registered: managingOrganization A;
- encountered: an Encounter at B only;
- referred: a referral Task from A to B tagged with regions 08 and 05, and its ServiceRequest;
- refusing: managingOrganization A, with an active Consent denying A;
- stranger: no relation to A or B.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import httpx

from ece.access.policy import REGION_SYSTEM
from tests.conftest import auth_headers

FHIR_JSON = {"Content-Type": "application/fhir+json"}
PATIENTS = ("registered", "encountered", "referred", "refusing", "stranger")


@dataclass
class Network:
    suffix: str
    facility_a: str
    facility_b: str
    patients: dict[str, str] = field(default_factory=dict)  # name -> id
    observations: dict[str, str] = field(default_factory=dict)  # patient name -> Observation id
    codes: dict[str, str] = field(default_factory=dict)  # patient name -> its Observation's code
    families: dict[str, str] = field(default_factory=dict)
    task: str = ""
    service_request: str = ""
    encounter: str = ""

    def clinician_a(self, **extra) -> dict[str, str]:
        return auth_headers("clinician", subject=f"dra-a-{self.suffix}", facility=f"Organization/{self.facility_a}",
                            name="Dra. Ana Aguilar", **extra)

    def clinician_b(self, **extra) -> dict[str, str]:
        return auth_headers("clinician", subject=f"dr-b-{self.suffix}", facility=f"Organization/{self.facility_b}",
                            name="Dr. Bruno Bonilla", **extra)

    def patient(self, name: str) -> dict[str, str]:
        return auth_headers("patient", subject=f"pac-{name}-{self.suffix}",
                            patient=f"Patient/{self.patients[name]}")

    def coordinator(self, region: str = "08") -> dict[str, str]:
        return auth_headers("coordinator", subject=f"coord-{region}-{self.suffix}", region=region)


def _post(http: httpx.Client, resource: dict) -> str:
    response = http.post(f"/{resource['resourceType']}", json=resource, headers=FHIR_JSON)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def build(http: httpx.Client) -> Network:
    suffix = uuid.uuid4().hex[:10]
    net = Network(suffix, _post(http, {"resourceType": "Organization", "name": f"Hospital A {suffix}"}),
                  _post(http, {"resourceType": "Organization", "name": f"Hospital B {suffix}"}))
    org_a, org_b = {"reference": f"Organization/{net.facility_a}"}, {"reference": f"Organization/{net.facility_b}"}
    for name in PATIENTS:
        family = f"Fam{name.capitalize()}{suffix}"
        patient: dict = {"resourceType": "Patient", "name": [{"family": family, "given": ["Prueba"]}],
                         "telecom": [{"system": "phone", "value": "+504 9999-0000"}], "gender": "female",
                         "birthDate": "1990-05-02"}
        if name in ("registered", "refusing"):
            patient["managingOrganization"] = org_a
        net.patients[name] = _post(http, patient)
        net.families[name] = family
        net.codes[name] = f"code-{name}-{suffix}"
        subject = {"reference": f"Patient/{net.patients[name]}"}
        net.observations[name] = _post(http, {
            "resourceType": "Observation", "status": "final", "subject": subject,
            "effectiveDateTime": "2026-11-20T08:00:00-06:00",
            "code": {"coding": [{"system": "urn:ece-test:codes", "code": net.codes[name]}]}})
    net.encounter = _post(http, {"resourceType": "Encounter", "status": "finished",
                                 "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                                           "code": "AMB"},
                                 "subject": {"reference": f"Patient/{net.patients['encountered']}"},
                                 "serviceProvider": org_b})
    tags = [{"system": REGION_SYSTEM, "code": "08"}, {"system": REGION_SYSTEM, "code": "05"}]
    referred = {"reference": f"Patient/{net.patients['referred']}"}
    net.service_request = _post(http, {"resourceType": "ServiceRequest", "meta": {"tag": tags}, "status": "active",
                                       "intent": "order", "subject": referred})
    net.task = _post(http, {"resourceType": "Task", "meta": {"tag": tags}, "status": "requested", "intent": "order",
                            "for": referred, "requester": org_a, "owner": org_b,
                            "focus": {"reference": f"ServiceRequest/{net.service_request}"}})
    _post(http, {"resourceType": "Consent", "status": "active",
                 "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope",
                                       "code": "patient-privacy"}]},
                 "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
                 "patient": {"reference": f"Patient/{net.patients['refusing']}"},
                 "policyRule": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                                            "code": "OPTOUT"}]},
                 "provision": {"type": "deny", "actor": [{
                     "role": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                                          "code": "PRCP"}]},
                     "reference": org_a}]}})
    return net
