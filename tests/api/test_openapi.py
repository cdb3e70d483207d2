"""OpenAPI: stable operation ids on every route, and a bounded schemathesis run against it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance

from api.app import create_app
from tests.api.conftest import ADMIN_KEY, make_settings
from tests.scenarios.fakes import fake_registry

EXPECTED_OPERATIONS = {
    "get_health",
    "create_dataset",
    "list_datasets",
    "get_dataset",
    "create_scenario",
    "list_scenarios",
    "get_scenario",
    "update_scenario",
    "clone_scenario",
    "diff_scenarios",
    "create_run",
    "list_scenario_runs",
    "list_runs",
    "get_run",
    "stream_run_events",
    "cancel_run",
    "get_run_assignment",
    "get_run_catchments",
    "get_run_map",
    "get_run_rotation",
    "get_run_file",
    "compare_runs",
    "create_key",
    "list_keys",
    "revoke_key",
    "list_audit",
}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    app = create_app(make_settings(tmp_path_factory.mktemp("openapi")), runners=fake_registry())
    with TestClient(app) as c:
        yield c


def test_every_route_has_a_stable_operation_id(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    ops = {op["operationId"] for path in spec["paths"].values() for op in path.values()}
    assert ops == EXPECTED_OPERATIONS
    assert all(p.startswith("/v1/") for p in spec["paths"])
    assert spec["components"]["securitySchemes"]["ApiKey"]["scheme"] == "bearer"
    assert "examples" in spec["components"]["schemas"]["ScenarioCreate"]


HEADERS = {"Authorization": f"Bearer {ADMIN_KEY}"}
BOUNDED = settings(
    max_examples=3,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)


def _check_operations(
    client: TestClient, schema: schemathesis.BaseSchema, excluded: tuple = ()
) -> int:
    """Run schemathesis' checks on every operation of ``schema``; returns how many ran."""
    ops = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    for op in ops:

        @given(case=op.as_strategy())
        @BOUNDED
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=HEADERS, excluded_checks=list(excluded))

        check()
    return len(ops)


def test_reads_conform_to_our_openapi(client: TestClient) -> None:
    """Every GET (but the SSE stream), with generated parameters: no 5xx, documented status,
    content type and response schema."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    ran = _check_operations(
        client, schema.include(method="GET").exclude(operation_id="stream_run_events")
    )
    assert ran == 17


def test_safe_posts_conform_to_our_openapi(client: TestClient) -> None:
    """POSTs that only create small records (scenarios, clones, keys).

    Schema-valid bodies may still be refused with a 422 here (an edit naming a school the
    district lacks), so the "positive data accepted" check is left out.
    """
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    ops = schema.include(
        operation_id=["create_scenario", "clone_scenario", "create_key", "diff_scenarios"]
    )
    assert _check_operations(client, ops, excluded=(positive_data_acceptance,)) == 4
