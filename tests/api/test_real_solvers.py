"""The flow with the real solvers on the tiny generated county (a few seconds each)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from scenarios.runs.runners import RunnerRegistry
from tests.api.conftest import Api, open_api


@pytest.fixture
def real(tmp_path: Path) -> Iterator[Api]:
    registry = RunnerRegistry.default()
    missing = {k: r for k, r in registry.availability().items() if r}
    if "catchment" in missing:
        pytest.skip(missing["catchment"] or "catchment solver missing")
    client, api = open_api(tmp_path / "data", registry)
    try:
        yield api
    finally:
        client.__exit__(None, None, None)


def test_catchment_flow_with_the_real_solver(real: Api, tiny_zip: bytes) -> None:
    ds = real.upload(tiny_zip).json()["id"]
    today = real.scenario(ds, "today")
    grow = real.client.post(
        f"/v1/scenarios/{today['id']}/clone", headers=real.as_("planner"), json={"name": "growth"}
    ).json()
    r = real.client.patch(
        f"/v1/scenarios/{grow['id']}",
        headers=real.as_("planner"),
        json={"edits": [{"op": "add_pupils", "unit_id": "U00001", "grade": 1, "count": 60}]},
    )
    assert r.status_code == 200, r.text
    settings = {"level": "primary", "num_workers": 1}
    a = real.run(today["id"], kind="catchment", time_limit=5, settings=settings)
    b = real.run(grow["id"], kind="catchment", time_limit=5, settings=settings)
    done_a, done_b = real.wait(a["id"], timeout=90), real.wait(b["id"], timeout=90)
    assert done_a["status"] == "done", done_a["error"]
    assert done_b["status"] == "done", done_b["error"]
    assert {"assignment.csv", "summary.json", "map.png", "catchments.geojson"} <= set(
        done_a["files"]
    )
    rows = real.client.get(f"/v1/runs/{a['id']}/assignment", headers=real.as_("analyst")).json()
    assert rows["columns"][:3] == ["unit_id", "level", "school_id"] and rows["count"] == 50
    png = real.client.get(f"/v1/runs/{a['id']}/map.png", headers=real.as_("analyst"))
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    cmp = real.client.get(
        f"/v1/compare?runs={a['id']},{b['id']}", headers=real.as_("analyst")
    ).json()
    assert cmp["kpis"] and cmp["unit_differences"][0]["comparable"]
