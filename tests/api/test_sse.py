"""Server-Sent Events: status and progress until the run ends."""

from __future__ import annotations

import json

from tests.api.conftest import Api


def _events(text: str) -> list[tuple[str, dict]]:
    out = []
    for block in text.strip().split("\n\n"):
        fields = dict(
            line.split(": ", 1)
            for line in block.splitlines()
            if ": " in line and not line.startswith(":")
        )
        if "event" in fields:
            out.append((fields["event"], json.loads(fields["data"])))
    return out


def test_events_stream_until_the_run_ends(api: Api, dataset_id: str) -> None:
    sc = api.scenario(dataset_id)
    run = api.run(sc["id"], kind="catchment", settings={"steps": 15, "step_seconds": 0.03})
    with api.client.stream("GET", f"/v1/runs/{run['id']}/events", headers=api.as_("analyst")) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        text = "".join(r.iter_text())
    events = _events(text)
    kinds = [k for k, _ in events]
    assert kinds[-1] == "end" and events[-1][1]["status"] == "done"
    assert "progress" in kinds and "status" in kinds
    objectives = [
        d["objective"] for k, d in events if k == "progress" and d["objective"] is not None
    ]
    assert objectives == sorted(objectives, reverse=True)  # the fake improves every step


def test_events_of_a_finished_run_end_at_once(api: Api, dataset_id: str) -> None:
    run = api.run(api.scenario(dataset_id)["id"], kind="catchment")
    api.wait(run["id"])
    r = api.client.get(f"/v1/runs/{run['id']}/events", headers=api.as_("planner"))
    assert [k for k, _ in _events(r.text)] == ["status", "progress", "end"]
