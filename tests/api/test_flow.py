"""The whole flow: upload → scenario → edit → run → poll → results → compare."""

from __future__ import annotations

import csv
import io
import json

from tests.api.conftest import Api


def test_full_flow_with_a_fake_solver(api: Api, tiny_zip: bytes) -> None:
    planner, analyst = api.as_("planner"), api.as_("analyst")
    first = api.upload(tiny_zip)
    assert first.status_code == 201
    again = api.upload(tiny_zip)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    ds = first.json()
    assert ds["info"]["units"] == 50 and ds["info"]["schools"] == 9 and len(ds["sha256"]) == 64

    today = api.scenario(ds["id"], "today")
    east = api.client.post(
        f"/v1/scenarios/{today['id']}/clone", headers=planner, json={"name": "east"}
    ).json()
    assert east["parent_id"] == today["id"]
    patched = api.client.patch(
        f"/v1/scenarios/{east['id']}",
        headers=planner,
        json={
            "edits": [
                {"op": "close_school", "school_id": "S003"},
                {"op": "add_pupils", "unit_id": "U00001", "grade": 1, "count": 40},
            ],
            "settings": {"catchment": {"steps": 2}},
        },
    )
    assert patched.status_code == 200 and patched.json()["version"] == 2
    diff = api.client.get(
        f"/v1/scenarios/{today['id']}/diff", params={"other": east["id"]}, headers=analyst
    ).json()
    assert diff["same_dataset"] and not diff["edits_equal"]
    assert diff["edits"][0]["change"] == "added" and len(diff["edits"][0]["b"]) == 2
    assert diff["settings"] == [{"path": "catchment", "a": None, "b": {"steps": 2}}]

    a = api.run(today["id"], kind="catchment", seed=0)
    b = api.run(east["id"], kind="catchment", seed=1, time_limit=5)
    assert a["status"] in ("queued", "running")
    done_a, done_b = api.wait(a["id"]), api.wait(b["id"])
    assert done_a["status"] == done_b["status"] == "done"
    assert done_b["settings"]["steps"] == 2 and done_b["settings"]["time_limit"] == 5
    assert done_a["summary"]["primary"]["travel_mean_m"] == 1000.0
    assert done_a["progress"]["objective"] is not None and done_a["progress"]["elapsed"] >= 0
    assert set(done_a["files"]) >= {
        "assignment.csv",
        "map.png",
        "catchments.geojson",
        "summary.json",
    }

    as_json = api.client.get(f"/v1/runs/{a['id']}/assignment", headers=analyst).json()
    assert as_json["columns"] == ["unit_id", "level", "school_id"] and as_json["count"] == 100
    as_csv = api.client.get(
        f"/v1/runs/{a['id']}/assignment", headers={**analyst, "Accept": "text/csv"}
    )
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert len(list(csv.DictReader(io.StringIO(as_csv.text)))) == 100
    assert (
        api.client.get(f"/v1/runs/{a['id']}/assignment?format=csv", headers=analyst).text
        == as_csv.text
    )
    png = api.client.get(f"/v1/runs/{a['id']}/map.png", headers=analyst)
    assert png.headers["content-type"] == "image/png" and png.content.startswith(b"\x89PNG")
    geo = api.client.get(f"/v1/runs/{a['id']}/catchments.geojson", headers=analyst)
    assert (
        geo.headers["content-type"] == "application/geo+json"
        and geo.json()["type"] == "FeatureCollection"
    )
    summary = api.client.get(f"/v1/runs/{a['id']}/files/summary.json", headers=analyst)
    assert json.loads(summary.content) == done_a["summary"]

    cmp = api.client.get(
        "/v1/compare", params={"runs": f"{a['id']},{b['id']}"}, headers=analyst
    ).json()
    travel = next(k for k in cmp["kpis"] if k["key"] == "primary.travel_mean_m")
    assert travel["values"] == {a["id"]: 1000.0, b["id"]: 1001.0}
    head = cmp["runs"][1]["headline"]
    assert head["moved_pupils"] == 3.0 and head["build_cost"] is None
    assert head["large_classes_primary"] is not None and head["cv_max_primary"] is not None
    assert any(k["key"] == "metrics.levels.primary.classes.large" for k in cmp["kpis"])
    pair = cmp["unit_differences"][0]
    assert (
        pair["comparable"]
        and pair["count"] == 100
        and pair["units"][0]["school_a"] != pair["units"][0]["school_b"]
    )

    audit = api.client.get("/v1/audit", headers=api.as_("admin")).json()
    actions = {e["action"] for e in audit["data"]}
    assert {
        "create_dataset",
        "create_scenario",
        "clone_scenario",
        "update_scenario",
        "create_run",
        "download_map",
    } <= actions


def test_run_snapshot_survives_later_edits(api: Api, dataset_id: str) -> None:
    sc = api.scenario(dataset_id)
    run = api.run(sc["id"], kind="catchment")
    api.client.patch(
        f"/v1/scenarios/{sc['id']}",
        headers=api.as_("planner"),
        json={"edits": [{"op": "close_school", "school_id": "S001"}]},
    )
    assert api.wait(run["id"])["status"] == "done"
    # the run used the scenario as it was at submission: no edits
    assert (
        api.client.get(f"/v1/runs/{run['id']}", headers=api.as_("planner")).json()["settings"][
            "seed"
        ]
        == 0
    )


def test_run_without_a_plan_in_time_is_not_called_infeasible(api: Api, dataset_id: str) -> None:
    run = api.run(api.scenario(dataset_id)["id"], kind="layout", settings={"fail": "no_plan"})
    done = api.wait(run["id"])
    assert done["status"] == "failed"
    assert done["error"] == "no plan found within the time limit"
    assert done["error_details"] == [
        {"path": "", "message": "no solution within the time limit (5.0 s of 5 s); raise it"}
    ]


def test_infeasible_run_fails_with_reasons(api: Api, dataset_id: str) -> None:
    run = api.run(api.scenario(dataset_id)["id"], kind="layout", settings={"fail": "infeasible"})
    done = api.wait(run["id"])
    assert done["status"] == "failed"
    assert done["error"] == "infeasible: no plan meets the hard rules"
    assert done["error_details"] == [
        {"path": "", "message": "primary: 1,200 pupils but only 1,000 seats within reach"}
    ]
    r = api.client.get(f"/v1/runs/{run['id']}/map.png", headers=api.as_("planner"))
    assert r.status_code == 409
    assert (
        r.json()["detail"] == f"run '{run['id']}' is failed: results are available once it is done"
    )


def test_cancel_a_running_run(api: Api, dataset_id: str) -> None:
    run = api.run(
        api.scenario(dataset_id)["id"],
        kind="catchment",
        settings={"steps": 500, "step_seconds": 0.02},
    )
    deadline = 0
    while (
        api.client.get(f"/v1/runs/{run['id']}", headers=api.as_("planner")).json()["progress"][
            "objective"
        ]
        is None
    ):
        deadline += 1
        assert deadline < 500
    r = api.client.delete(f"/v1/runs/{run['id']}", headers=api.as_("planner"))
    assert r.status_code == 202 and r.json()["cancel_requested"]
    done = api.wait(run["id"])
    assert done["status"] == "cancelled"
    assert done["error"] == "cancelled while running; the best plan found is kept"
    assert done["summary"]["status"] == "feasible"


def test_health_lists_kinds(api: Api) -> None:
    body = api.client.get("/v1/health").json()
    assert body["status"] == "ok" and body["database"] == "sqlite"
    assert body["kinds"]["catchment"] == {"available": True, "reason": None}
