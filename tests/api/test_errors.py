"""One test per error status, asserting the exact problem text (RFC 9457)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from fastapi.testclient import TestClient

from tests.api.conftest import Api, open_api
from tests.scenarios.fakes import fake_registry

PROBLEM = "application/problem+json"


def _problem(r, status: int, detail: str) -> dict:  # type: ignore[no-untyped-def]
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    body = r.json()
    assert body["status"] == status
    assert body["detail"] == detail
    assert set(body) >= {"type", "title", "status", "detail", "instance", "errors"}
    return dict(body)


def test_401_without_a_key(api: Api) -> None:
    r = api.client.get("/v1/datasets")
    body = _problem(r, 401, "missing API key: send the header 'Authorization: Bearer <key>'")
    assert (
        body["type"] == "urn:schoolplan:problem:unauthorized" and body["instance"] == "/v1/datasets"
    )
    assert r.headers["www-authenticate"] == "Bearer"


def test_401_with_an_unknown_key(api: Api) -> None:
    r = api.client.get("/v1/datasets", headers={"Authorization": "Bearer sp_nope"})
    _problem(r, 401, "invalid or revoked API key")


def test_403_wrong_role(api: Api, tiny_zip: bytes) -> None:
    _problem(
        api.upload(tiny_zip, role="analyst"),
        403,
        "role 'analyst' may not upload datasets (allowed: planner, hr, admin)",
    )
    _problem(
        api.client.post(
            "/v1/keys", headers=api.as_("planner"), json={"name": "x", "role": "admin"}
        ),
        403,
        "role 'planner' may not manage API keys or read the audit log (allowed: admin)",
    )


def test_403_planner_cannot_start_rotation(api: Api, dataset_id: str) -> None:
    sc = api.scenario(dataset_id)
    r = api.client.post(
        f"/v1/scenarios/{sc['id']}/runs", headers=api.as_("planner"), json={"kind": "rotation"}
    )
    _problem(r, 403, "role 'planner' may not start or cancel rotation runs (allowed: hr, admin)")


def test_404s(api: Api) -> None:
    _problem(
        api.client.get("/v1/runs/run_x", headers=api.as_("analyst")), 404, "run 'run_x' not found"
    )
    _problem(
        api.client.get("/v1/scenarios/sc_x", headers=api.as_("analyst")),
        404,
        "scenario 'sc_x' not found",
    )
    _problem(
        api.client.get("/v1/datasets/ds_x", headers=api.as_("analyst")),
        404,
        "dataset 'ds_x' not found",
    )
    _problem(api.client.get("/v1/nowhere"), 404, "no such endpoint: /v1/nowhere")


def test_409_cancelling_a_finished_run(api: Api, dataset_id: str) -> None:
    run = api.run(api.scenario(dataset_id)["id"], kind="catchment")
    api.wait(run["id"])
    r = api.client.delete(f"/v1/runs/{run['id']}", headers=api.as_("planner"))
    _problem(r, 409, f"run '{run['id']}' has already finished (done): nothing to cancel")


def test_409_duplicate_scenario_name_and_stale_version(api: Api, dataset_id: str) -> None:
    sc = api.scenario(dataset_id)
    r = api.client.post(
        "/v1/scenarios",
        headers=api.as_("planner"),
        json={"name": "today", "dataset_id": dataset_id},
    )
    _problem(r, 409, "a scenario named 'today' already exists")
    ok = api.client.patch(
        f"/v1/scenarios/{sc['id']}",
        headers=api.as_("planner"),
        json={"description": "a", "version": 1},
    )
    assert ok.status_code == 200 and ok.json()["version"] == 2
    stale = api.client.patch(
        f"/v1/scenarios/{sc['id']}",
        headers=api.as_("planner"),
        json={"description": "b", "version": 1},
    )
    _problem(
        stale,
        409,
        f"scenario '{sc['id']}' is at version 2, not 1: reload it and apply your change again",
    )


def test_413_upload_over_the_limit(tmp_path: Path) -> None:
    client, api = open_api(tmp_path / "d", fake_registry(), max_upload_bytes=1000)
    try:
        r = api.upload(b"0" * 5000)
        _problem(r, 413, "request body exceeds the upload limit of 1,000 bytes")
    finally:
        client.__exit__(None, None, None)


def test_413_chunked_upload_over_the_limit(tmp_path: Path) -> None:
    client, api = open_api(tmp_path / "d", fake_registry(), max_upload_bytes=1000)
    try:

        def body():  # type: ignore[no-untyped-def]
            yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="x.zip"\r\n\r\n'
            for _ in range(10):
                yield b"0" * 500
            yield b"\r\n--b--\r\n"

        r = client.post(
            "/v1/datasets",
            headers={**api.as_("planner"), "Content-Type": "multipart/form-data; boundary=b"},
            content=body(),
        )
        _problem(r, 413, "request body exceeds the upload limit of 1,000 bytes")
    finally:
        client.__exit__(None, None, None)


def test_422_request_fields(api: Api, dataset_id: str) -> None:
    r = api.client.post(
        "/v1/scenarios",
        headers=api.as_("planner"),
        json={
            "name": "",
            "dataset_id": dataset_id,
            "edits": [{"op": "add_pupils", "unit_id": "U1", "count": -1}],
        },
    )
    body = _problem(r, 422, "the request is not valid")
    paths = {e["path"] for e in body["errors"]}
    assert {"name", "edits/0/add_pupils/count"} <= paths


def test_422_edit_that_does_not_fit_the_district(api: Api, dataset_id: str) -> None:
    r = api.client.post(
        "/v1/scenarios",
        headers=api.as_("planner"),
        json={
            "name": "x",
            "dataset_id": dataset_id,
            "edits": [{"op": "close_school", "school_id": "S999"}],
        },
    )
    body = _problem(r, 422, "edit 0 cannot be applied: school 'S999' is not in the district")
    assert body["errors"] == [
        {"path": "edits/0/school_id", "message": "school 'S999' is not in the district"}
    ]


def test_422_run_settings(api: Api, dataset_id: str) -> None:
    sc = api.scenario(dataset_id)
    r = api.client.post(
        f"/v1/scenarios/{sc['id']}/runs",
        headers=api.as_("planner"),
        json={"kind": "catchment", "settings": {"steps": "x"}},
    )
    body = _problem(r, 422, "the run settings are not valid")
    assert body["errors"][0]["path"] == "settings/steps"


def test_422_dataset_errors_have_file_row_column_paths(api: Api, tiny_zip: bytes) -> None:
    src = zipfile.ZipFile(io.BytesIO(tiny_zip))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name in src.namelist():
            body = src.read(name)
            if name == "teachers.csv":
                lines = body.decode("utf-8-sig").splitlines()
                header = lines[0].split(",")
                row = lines[1].split(",")
                row[header.index("age")] = "old"
                lines[1] = ",".join(row)
                body = ("\n".join(lines) + "\n").encode()
            zf.writestr(name, body)
    r = api.upload(buf.getvalue())
    problem = _problem(r, 422, "the district folder has 1 error(s)")
    assert problem["errors"][0]["path"] == "teachers.csv/2/age"


def test_422_not_a_zip(api: Api) -> None:
    body = _problem(api.upload(b"hello"), 422, "the upload is not a zip file")
    assert body["errors"] == [{"path": "file", "message": "not a zip file"}]


def test_500_hides_the_trace(api: Api, dataset_id: str) -> None:
    sc = api.scenario(dataset_id)
    run = api.run(sc["id"], kind="catchment", settings={"fail": "crash"})
    done = api.wait(run["id"])
    assert done["status"] == "failed"
    assert done["error"].startswith("internal error while solving (error id ")
    assert "secret" not in str(done)


def test_500_handler_returns_a_problem_with_an_error_id(api: Api) -> None:
    def boom() -> None:
        raise RuntimeError("secret trace detail")

    api.client.app.add_api_route("/v1/boom", boom)  # type: ignore[attr-defined]
    r = TestClient(api.client.app, raise_server_exceptions=False).get("/v1/boom")
    assert r.status_code == 500 and r.headers["content-type"] == PROBLEM
    body = r.json()
    assert (
        body["detail"]
        == f"internal error (error id {body['error_id']}); the details are in the service log"
    )
    assert "secret" not in r.text


def test_compare_with_a_malformed_id_says_what_to_give(api: Api) -> None:
    r = api.client.get("/v1/compare?runs=a,b c", headers=api.as_("analyst"))
    assert r.status_code == 422
    body = r.json()
    assert body["detail"] == "give 2 to 10 run ids separated by commas"
    assert body["errors"] == [{"path": "query/runs", "message": "not a run id: 'b c'"}]
