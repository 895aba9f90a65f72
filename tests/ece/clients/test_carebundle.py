"""Realistic synthetic records from ``carebundle`` (US Core-shaped R4 transaction Bundles) go into the
live server as transactions and every created resource reads back as sent, with its ``urn:uuid``
references rewritten to the ids the server assigned (R4 http.html#transaction)."""

from __future__ import annotations

import copy
import json
from decimal import Decimal

import pytest
from carebundle import generate_bundle, to_json

FHIR_JSON = {"Content-Type": "application/fhir+json"}



def exact(raw: bytes | str) -> dict:
    return json.loads(raw, parse_float=Decimal)


def rewritten(node, targets: dict[str, str]):
    """``node`` with every reference to a fullUrl of the Bundle replaced by the assigned ``Type/id``."""
    if isinstance(node, dict):
        return {k: targets.get(v, v) if k == "reference" and isinstance(v, str) else rewritten(v, targets)
                for k, v in node.items()}
    if isinstance(node, list):
        return [rewritten(item, targets) for item in node]
    return node


def references(node) -> list[str]:
    if isinstance(node, dict):
        own = [node["reference"]] if isinstance(node.get("reference"), str) else []
        return own + [r for v in node.values() for r in references(v)]
    if isinstance(node, list):
        return [r for item in node for r in references(item)]
    return []


def without_server_fields(resource: dict) -> dict:
    out = copy.deepcopy(resource)
    out.pop("id", None)
    meta = {k: v for k, v in out.pop("meta", {}).items() if k not in ("versionId", "lastUpdated")}
    if meta:
        out["meta"] = meta
    return out


@pytest.mark.parametrize(("profile", "sex", "seed"), [("type2_diabetes", "F", 2026), ("ckd_stage3", "M", 504)])
def test_carebundle_transaction_is_stored_and_every_resource_reads_back(http, live_server, profile, sex, seed):
    raw = to_json(generate_bundle(profile=profile, sex=sex, seed=seed), indent=None)
    sent = exact(raw)
    assert sent["type"] == "transaction"

    response = http.post(live_server, content=raw.encode(), headers=FHIR_JSON, timeout=60)

    assert response.status_code == 200, response.text[:1000]
    results = response.json()["entry"]
    assert len(results) == len(sent["entry"])
    assert all(r["response"]["status"].startswith("201") for r in results)
    targets = {entry["fullUrl"]: "/".join(result["response"]["location"].split("/")[:2])
               for entry, result in zip(sent["entry"], results, strict=True)}
    assert len(set(targets.values())) == len(targets)

    for entry in sent["entry"]:
        target = targets[entry["fullUrl"]]
        read = http.get(f"/{target}")
        assert read.status_code == 200, f"{target}: {read.text[:300]}"
        stored = exact(read.content)
        assert f"{stored['resourceType']}/{stored['id']}" == target
        assert without_server_fields(stored) == rewritten(entry["resource"], targets), target
        assert not [r for r in references(stored) if r.startswith("urn:")], target


def test_carebundle_patient_is_found_by_its_observations(http, live_server):
    raw = to_json(generate_bundle(profile="hypertension", sex="F", seed=1821), indent=None)
    sent = exact(raw)
    response = http.post(live_server, content=raw.encode(), headers=FHIR_JSON, timeout=60)
    assert response.status_code == 200, response.text[:1000]
    located = [r["response"]["location"].split("/")[:2] for r in response.json()["entry"]]
    [patient_id] = [rid for rtype, rid in located if rtype == "Patient"]
    observations = sorted(rid for rtype, rid in located if rtype == "Observation")

    found = http.get("/Observation", params={"subject": f"Patient/{patient_id}", "_count": "1000"})

    assert found.status_code == 200
    assert sorted(e["resource"]["id"] for e in found.json()["entry"]) == observations
    assert len(observations) == sum(e["resource"]["resourceType"] == "Observation" for e in sent["entry"])
