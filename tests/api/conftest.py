"""API fixtures: an app with fake solvers on a temp data dir, and a key for every role."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from scenarios.runs.runners import RunnerRegistry
from tests.scenarios.fakes import fake_registry, make_tiny_folder, zip_folder

ADMIN_KEY = "sp_test-admin-key-0123456789"


def make_settings(data_dir: Path, **over: Any) -> Settings:
    """Settings for a test app (no environment)."""
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "admin_key": ADMIN_KEY,
        "sse_poll_interval": 0.02,
        "progress_interval": 0.0,
        "shutdown_grace": 2.0,
        **over,
    }
    return Settings(**values)


@dataclass
class Api:
    """A running test app: client, registry, and bearer headers per role."""

    client: TestClient
    runners: RunnerRegistry
    headers: dict[str, dict[str, str]]

    def as_(self, role: str) -> dict[str, str]:
        return self.headers[role]

    def upload(self, data: bytes, role: str = "planner") -> Any:
        return self.client.post(
            "/v1/datasets",
            headers=self.as_(role),
            files={"file": ("county.zip", data, "application/zip")},
        )

    def scenario(
        self, dataset_id: str, name: str = "today", edits: list | None = None, role: str = "planner"
    ) -> dict:
        r = self.client.post(
            "/v1/scenarios",
            headers=self.as_(role),
            json={"name": name, "dataset_id": dataset_id, "edits": edits or []},
        )
        assert r.status_code == 201, r.text
        return dict(r.json())

    def run(self, scenario_id: str, role: str = "planner", **body: Any) -> dict:
        r = self.client.post(f"/v1/scenarios/{scenario_id}/runs", headers=self.as_(role), json=body)
        assert r.status_code == 202, r.text
        return dict(r.json())

    def wait(self, run_id: str, role: str = "admin", timeout: float = 20.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            body = self.client.get(f"/v1/runs/{run_id}", headers=self.as_(role)).json()
            if body["status"] in ("done", "failed", "cancelled"):
                return dict(body)
            time.sleep(0.02)
        raise AssertionError(f"run {run_id} did not finish in {timeout}s")


def open_api(data_dir: Path, runners: RunnerRegistry, **settings: Any) -> tuple[TestClient, Api]:
    """Start an app (lifespan entered) and create one key per role."""
    client = TestClient(create_app(make_settings(data_dir, **settings), runners=runners))
    client.__enter__()
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    headers = {"admin": admin}
    for role in ("planner", "hr", "analyst"):
        r = client.post("/v1/keys", headers=admin, json={"name": f"test {role}", "role": role})
        assert r.status_code == 201, r.text
        headers[role] = {"Authorization": f"Bearer {r.json()['key']}"}
    return client, Api(client, runners, headers)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    """A test app with fake solvers."""
    client, a = open_api(tmp_path / "data", fake_registry())
    try:
        yield a
    finally:
        client.__exit__(None, None, None)


@pytest.fixture(scope="session")
def tiny_zip(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A 50-unit generated district folder, zipped."""
    return zip_folder(make_tiny_folder(tmp_path_factory.mktemp("tiny") / "county"))


@pytest.fixture
def dataset_id(api: Api, tiny_zip: bytes) -> str:
    r = api.upload(tiny_zip)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])
