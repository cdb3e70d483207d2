"""A restart in the middle of a run: the run is failed with its reason; scenarios are intact."""

from __future__ import annotations

import time
from pathlib import Path

from scenarios.runs.runners import RunnerRegistry
from tests.api.conftest import open_api
from tests.scenarios.fakes import FakeRunner, fake_registry


def test_run_interrupted_by_a_restart(tmp_path: Path, tiny_zip: bytes) -> None:
    data = tmp_path / "data"
    stuck = FakeRunner("catchment")
    registry = RunnerRegistry([stuck, FakeRunner("layout"), FakeRunner("rotation", personal=True)])
    client, api = open_api(data, registry, shutdown_grace=0.2)
    try:
        ds = api.upload(tiny_zip).json()["id"]
        sc = api.scenario(ds, "today", edits=[{"op": "close_school", "school_id": "S003"}])
        run = api.run(sc["id"], kind="catchment", settings={"block": True})
        queued = api.run(sc["id"], kind="layout")
        assert stuck.started.wait(10)
    finally:
        # the solver ignores stop (stuck in native code): the app goes away with the run
        # still "running" in the store, as after a crash or kill -9
        client.__exit__(None, None, None)

    client2, api2 = open_api(data, fake_registry())
    try:
        planner = api2.as_("planner")
        for rid in (run["id"], queued["id"]):
            body = client2.get(f"/v1/runs/{rid}", headers=planner).json()
            assert body["status"] == "failed"
            assert body["error"] == "interrupted by a service restart"
        same = client2.get(f"/v1/scenarios/{sc['id']}", headers=planner).json()
        assert (
            same["edits"] == [{"op": "close_school", "school_id": "S003"}] and same["version"] == 1
        )
        assert client2.get(f"/v1/datasets/{ds}", headers=planner).status_code == 200
        # the old worker finishing late does not overwrite the verdict
        stuck.gate.set()
        time.sleep(0.3)
        assert client2.get(f"/v1/runs/{run['id']}", headers=planner).json()["status"] == "failed"
        # and the service works: a new run completes
        again = api2.run(sc["id"], kind="catchment")
        assert api2.wait(again["id"])["status"] == "done"
    finally:
        stuck.gate.set()
        client2.__exit__(None, None, None)


def test_graceful_shutdown_fails_running_runs_with_a_reason(
    tmp_path: Path, tiny_zip: bytes
) -> None:
    client, api = open_api(tmp_path / "data", fake_registry())
    ds = api.upload(tiny_zip).json()["id"]
    sc = api.scenario(ds)
    run = api.run(sc["id"], kind="catchment", settings={"steps": 1000, "step_seconds": 0.01})
    while (
        client.get(f"/v1/runs/{run['id']}", headers=api.as_("planner")).json()["status"]
        != "running"
    ):
        time.sleep(0.01)
    client.__exit__(None, None, None)
    client2, api2 = open_api(tmp_path / "data", fake_registry())
    try:
        body = client2.get(f"/v1/runs/{run['id']}", headers=api2.as_("planner")).json()
        assert body["status"] == "failed"
        assert body["error"] == "interrupted by a service shutdown"
    finally:
        client2.__exit__(None, None, None)
