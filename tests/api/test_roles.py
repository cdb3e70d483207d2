"""Role checks: teacher personal data only for hr and admin."""

from __future__ import annotations

from tests.api.conftest import Api

FORBIDDEN_PERSONAL = "role '{}' may not read teacher personal data (rotation runs and their results) (allowed: hr, admin)"


def test_rotation_results_are_for_hr_and_admin_only(api: Api, dataset_id: str) -> None:
    sc = api.scenario(dataset_id, role="hr")
    run = api.run(sc["id"], role="hr", kind="rotation")
    api.wait(run["id"], role="hr")
    for role in ("hr", "admin"):
        r = api.client.get(f"/v1/runs/{run['id']}/rotation", headers=api.as_(role))
        assert r.status_code == 200 and r.text.startswith("teacher_id,")
        xlsx = api.client.get(f"/v1/runs/{run['id']}/rotation?format=xlsx", headers=api.as_(role))
        assert xlsx.content.startswith(b"PK")
    for role in ("analyst", "planner"):
        for path in ("/rotation", "/files/summary.json"):
            r = api.client.get(f"/v1/runs/{run['id']}{path}", headers=api.as_(role))
            assert r.status_code == 403, (role, path)
            assert r.json()["detail"] == FORBIDDEN_PERSONAL.format(role)
        # issue #6: the run itself (aggregate view) is listed and readable, without files
        listed = api.client.get("/v1/runs", headers=api.as_(role)).json()
        assert run["id"] in {x["id"] for x in listed["data"]}
        seen = api.client.get(f"/v1/runs/{run['id']}", headers=api.as_(role)).json()
        assert seen["status"] == "done" and seen["files"] == []
    assert run["id"] in {
        x["id"] for x in api.client.get("/v1/runs", headers=api.as_("hr")).json()["data"]
    }


def test_teacher_edits_are_hidden_and_protected(api: Api, dataset_id: str) -> None:
    edits = [{"op": "exempt_teacher", "teacher_id": "T00001", "reason": "pregnancy"}]
    r = api.client.post(
        "/v1/scenarios",
        headers=api.as_("planner"),
        json={"name": "x", "dataset_id": dataset_id, "edits": edits},
    )
    assert r.status_code == 403
    assert r.json()["detail"] == FORBIDDEN_PERSONAL.format("planner")
    sc = api.scenario(dataset_id, name="hr plan", edits=edits, role="hr")
    assert (
        api.client.get(f"/v1/scenarios/{sc['id']}", headers=api.as_("hr")).json()["edits"] == edits
    )
    seen = api.client.get(f"/v1/scenarios/{sc['id']}", headers=api.as_("analyst")).json()
    assert seen["edits"] == [{"op": "exempt_teacher", "redacted": True}]
    assert "pregnancy" not in api.client.get("/v1/scenarios", headers=api.as_("planner")).text
    # a planner may not replace (and so drop) the teacher edits
    r = api.client.patch(
        f"/v1/scenarios/{sc['id']}", headers=api.as_("planner"), json={"edits": []}
    )
    assert r.status_code == 403


def test_analyst_reads_and_compares_but_cannot_write(api: Api, dataset_id: str) -> None:
    sc = api.scenario(dataset_id)
    runs = [api.run(sc["id"], kind="catchment", seed=s)["id"] for s in (0, 1)]
    for rid in runs:
        api.wait(rid)
    analyst = api.as_("analyst")
    assert (
        api.client.get(f"/v1/compare?runs={runs[0]},{runs[1]}", headers=analyst).status_code == 200
    )
    assert api.client.get(f"/v1/runs/{runs[0]}/assignment", headers=analyst).status_code == 200
    r = api.client.post(
        f"/v1/scenarios/{sc['id']}/runs", headers=analyst, json={"kind": "catchment"}
    )
    assert (
        r.json()["detail"]
        == "role 'analyst' may not start or cancel catchment and layout runs (allowed: planner, admin)"
    )
    r = api.client.patch(f"/v1/scenarios/{sc['id']}", headers=analyst, json={"description": "x"})
    assert (
        r.json()["detail"]
        == "role 'analyst' may not create or change scenarios (allowed: planner, hr, admin)"
    )
    assert api.client.get("/v1/audit", headers=analyst).status_code == 403


def test_keys_are_shown_once_and_can_be_revoked(api: Api) -> None:
    admin = api.as_("admin")
    created = api.client.post(
        "/v1/keys", headers=admin, json={"name": "temp", "role": "analyst"}
    ).json()
    assert created["key"].startswith("sp_") and created["prefix"] == created["key"][:8]
    listed = api.client.get("/v1/keys", headers=admin).json()
    assert created["key"] not in str(listed)
    headers = {"Authorization": f"Bearer {created['key']}"}
    assert api.client.get("/v1/datasets", headers=headers).status_code == 200
    assert api.client.delete(f"/v1/keys/{created['id']}", headers=admin).status_code == 200
    r = api.client.get("/v1/datasets", headers=headers)
    assert r.status_code == 401 and r.json()["detail"] == "invalid or revoked API key"
