"""Scenarios: a dataset plus ordered edits and settings; clone, diff, and start runs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response

from api.deps import AuditDep, CurrentUser, Reader, ScenarioWriter, ServiceDep
from api.routes.common import problems, run_public, scenario_public, shown_edits
from api.schemas import (
    RunCreate,
    RunPublic,
    RunsPublic,
    ScenarioClone,
    ScenarioCreate,
    ScenarioDiff,
    ScenarioPublic,
    ScenariosPublic,
    ScenarioUpdate,
)
from api.security import PERSONAL, RUN_PERMISSION, Principal
from scenarios.edits import TEACHER_OPS
from scenarios.service import RunRequest

router = APIRouter(prefix="/v1/scenarios", tags=["scenarios"])


def _check_teacher_edits(principal: Principal, *edit_lists: list[dict[str, Any]]) -> None:
    if any(e.get("op") in TEACHER_OPS for edits in edit_lists for e in edits):
        principal.require(PERSONAL)


@router.post(
    "",
    operation_id="create_scenario",
    summary="Create a scenario",
    status_code=201,
    responses=problems(403, 409),
)
def create_scenario(
    body: ScenarioCreate, service: ServiceDep, principal: ScenarioWriter, audit: AuditDep
) -> ScenarioPublic:
    """Create a scenario. Edits are checked against the dataset's district (422 naming the
    edit index and field); the name must be unique (409)."""
    edits = [e.model_dump(mode="json", exclude_none=True) for e in body.edits]
    _check_teacher_edits(principal, edits)
    sc = service.create_scenario(
        name=body.name,
        dataset_id=body.dataset_id,
        description=body.description,
        edits=edits,
        settings=body.settings,
        actor=principal.key_id,
    )
    audit("create_scenario", "scenario", sc.id, name=sc.name)
    return scenario_public(sc, principal)


@router.get("", operation_id="list_scenarios", summary="List scenarios")
def list_scenarios(
    service: ServiceDep,
    principal: Reader,
    dataset_id: Annotated[str | None, Query(description="Only scenarios of this dataset.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ScenariosPublic:
    """Scenarios, oldest first."""
    rows, count = service.store.list_scenarios(limit, offset, dataset_id)
    return ScenariosPublic(data=[scenario_public(r, principal) for r in rows], count=count)


@router.get(
    "/{scenario_id}",
    operation_id="get_scenario",
    summary="Read a scenario",
    responses=problems(404),
)
def get_scenario(scenario_id: str, service: ServiceDep, principal: Reader) -> ScenarioPublic:
    """A scenario; teacher edits are redacted for roles without teacher access."""
    return scenario_public(service.store.get_scenario(scenario_id), principal)


@router.patch(
    "/{scenario_id}",
    operation_id="update_scenario",
    summary="Change a scenario",
    responses=problems(403, 404, 409),
)
def update_scenario(
    scenario_id: str,
    body: ScenarioUpdate,
    service: ServiceDep,
    principal: ScenarioWriter,
    audit: AuditDep,
) -> ScenarioPublic:
    """Change name, description, settings, or the whole edit list.

    Allowed while the scenario has runs: each run keeps the edits and settings it started
    with. Send ``version`` to be told (409) if someone changed it since you read it.
    """
    changes = body.model_dump(exclude_unset=True, exclude={"version"})
    if "edits" in changes:
        new_edits = [e.model_dump(mode="json", exclude_none=True) for e in body.edits or []]
        changes["edits"] = new_edits
        _check_teacher_edits(principal, service.store.get_scenario(scenario_id).edits, new_edits)
    if "settings" in changes and changes["settings"] is None:
        changes["settings"] = {}
    for key in ("name", "description"):
        if key in changes and changes[key] is None:
            del changes[key]
    sc = service.update_scenario(scenario_id, changes, body.version)
    audit("update_scenario", "scenario", sc.id, fields=sorted(changes), version=sc.version)
    return scenario_public(sc, principal)


@router.post(
    "/{scenario_id}/clone",
    operation_id="clone_scenario",
    summary="Copy a scenario",
    status_code=201,
    responses=problems(403, 404, 409),
)
def clone_scenario(
    scenario_id: str,
    service: ServiceDep,
    principal: ScenarioWriter,
    audit: AuditDep,
    body: Annotated[ScenarioClone | None, Body()] = None,
) -> ScenarioPublic:
    """A new scenario with the same dataset, edits and settings."""
    sc = service.clone_scenario(scenario_id, principal.key_id, body.name if body else None)
    audit("clone_scenario", "scenario", sc.id, source=scenario_id)
    return scenario_public(sc, principal)


@router.get(
    "/{scenario_id}/diff",
    operation_id="diff_scenarios",
    summary="Compare two scenarios' edits and settings",
    responses=problems(404),
)
def diff_scenarios(
    scenario_id: str,
    other: Annotated[str, Query(description="The scenario to compare with.")],
    service: ServiceDep,
    principal: Reader,
) -> ScenarioDiff:
    """Edits as a sequence diff (added, removed, changed blocks) and differing settings."""
    diff = service.diff_scenarios(scenario_id, other)
    for block in diff["edits"]:
        block["a"] = shown_edits(block["a"], principal)
        block["b"] = shown_edits(block["b"], principal)
    return ScenarioDiff.model_validate(diff)


@router.post(
    "/{scenario_id}/runs",
    operation_id="create_run",
    summary="Start a run (a solve job)",
    status_code=202,
    responses=problems(403, 404),
)
def create_run(
    scenario_id: str,
    body: RunCreate,
    response: Response,
    service: ServiceDep,
    principal: CurrentUser,
    audit: AuditDep,
) -> RunPublic:
    """Queue a solve of the scenario; poll ``GET /v1/runs/{id}`` or stream its events.

    The run takes a snapshot of the scenario's edits and settings.
    """
    principal.require(RUN_PERMISSION[body.kind])
    req = RunRequest(
        kind=body.kind, time_limit=body.time_limit, seed=body.seed, settings=body.settings
    )
    run = service.submit_run(scenario_id, req, principal.key_id)
    audit("create_run", "run", run.id, scenario_id=scenario_id, kind=run.kind, seed=run.seed)
    response.headers["Location"] = f"/v1/runs/{run.id}"
    return run_public(run, service, principal)


@router.get(
    "/{scenario_id}/runs",
    operation_id="list_scenario_runs",
    summary="List a scenario's runs",
    responses=problems(404),
)
def list_scenario_runs(
    scenario_id: str,
    service: ServiceDep,
    principal: Reader,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> RunsPublic:
    """Runs of a scenario, newest first; rotation runs in the aggregate view for roles other
    than hr and admin (see ``GET /v1/runs/{run_id}``)."""
    service.store.get_scenario(scenario_id)
    rows, count = service.store.list_runs(
        scenario_id=scenario_id, kinds=list(service.runners.kinds()), limit=limit, offset=offset
    )
    return RunsPublic(data=[run_public(r, service, principal) for r in rows], count=count)
