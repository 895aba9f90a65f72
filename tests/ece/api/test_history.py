"""History over HTTP against the live server (R4 http.html#history): instance, type and system
history, newest first, with ``_since`` and ``_count`` paging followed through ``next`` links.

The database is shared, so each test writes under its own identifier system and checks its own
versions among whatever else the history holds.
"""

from __future__ import annotations

import httpx

from tests.ece.api.helpers import create, created_id, patient, put, unique_dni, unique_system


def observation(*, system: str, subject: str) -> dict:
    return {"resourceType": "Observation", "identifier": [{"system": system, "value": "peso-1"}],
            "status": "final", "code": {"text": "Peso"}, "subject": {"reference": subject},
            "valueQuantity": {"value": 72.5, "unit": "kg"}}


def test_instance_history_lists_every_version_newest_first_with_request_and_response(http):
    resource = patient(dni=unique_dni())
    resource_id = created_id(http, resource)
    put(http, resource_id, {**resource, "gender": "male"})
    http.delete(f"/Patient/{resource_id}")

    response = http.get(f"/Patient/{resource_id}/_history")

    assert response.status_code == 200
    bundle = response.json()
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "history"
    assert bundle["total"] == 3
    entries = bundle["entry"]
    assert [e["request"]["method"] for e in entries] == ["DELETE", "PUT", "POST"]
    assert [e["response"]["status"][:3] for e in entries] == ["204", "200", "201"]
    assert [e["response"]["etag"] for e in entries] == ['W/"3"', 'W/"2"', 'W/"1"']
    assert "resource" not in entries[0]
    assert entries[1]["resource"]["gender"] == "male" and entries[2]["resource"]["gender"] == "female"


def _follow_history(http: httpx.Client, path: str, params: dict) -> list[dict]:
    """Every entry of every page, following ``next`` links until there is none."""
    entries: list[dict] = []
    response = http.get(path, params=params)
    for _ in range(500):
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page.get("entry", [])) <= int(params["_count"])
        entries.extend(page.get("entry", []))
        following = [link["url"] for link in page["link"] if link["relation"] == "next"]
        if not following:
            return entries
        response = http.get(following[0])
    raise AssertionError("history paging did not end")


def _versions_written(http: httpx.Client, system: str) -> tuple[str, set[tuple[str, str, str]]]:
    """Three Patients and an Observation, two updates and a delete: seven versions under ``system``."""
    first = create(http, patient(system=system, dni="0801199000001")).json()
    since = first["meta"]["lastUpdated"]
    ids = [first["id"], created_id(http, patient(system=system, dni="0801199000002")),
           created_id(http, patient(system=system, dni="0801199000003"))]
    put(http, ids[0], patient(system=system, dni="0801199000001", family="López"))
    put(http, ids[1], patient(system=system, dni="0801199000002", family="Zelaya"))
    http.delete(f"/Patient/{ids[2]}")
    observation_id = created_id(http, observation(system=system, subject=f"Patient/{ids[0]}"))
    versions = {("Patient", ids[0], "1"), ("Patient", ids[0], "2"), ("Patient", ids[1], "1"),
                ("Patient", ids[1], "2"), ("Patient", ids[2], "1"), ("Patient", ids[2], "2"),
                ("Observation", observation_id, "1")}
    return since, versions


def _seen(entries: list[dict]) -> list[tuple[str, str, str]]:
    """(type, id, versionId) of each history entry, from its fullUrl and ETag."""
    return [(*entry["fullUrl"].split("/")[-2:], entry["response"]["etag"][3:-1]) for entry in entries]


def test_type_history_since_pages_through_every_version_exactly_once(http):
    since, versions = _versions_written(http, unique_system())

    entries = _follow_history(http, "/Patient/_history", {"_since": since, "_count": "2"})

    seen = _seen(entries)
    assert len(seen) == len(set(seen)), "a version appeared on two pages"
    assert {v for v in versions if v[0] == "Patient"} <= set(seen)
    assert all(v[0] == "Patient" for v in seen)
    moments = [e["response"]["lastModified"] for e in entries]
    assert moments == sorted(moments, reverse=True)  # newest first across pages


def test_system_history_since_pages_through_every_version_exactly_once(http):
    since, versions = _versions_written(http, unique_system())

    entries = _follow_history(http, "/_history", {"_since": since, "_count": "3"})

    seen = _seen(entries)
    assert len(seen) == len(set(seen)), "a version appeared on two pages"
    assert versions <= set(seen)
