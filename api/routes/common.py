"""Helpers shared by routes: problem responses for OpenAPI, converting store rows."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from api.schemas import Problem, RunPublic, ScenarioPublic
from api.security import PERSONAL, Principal
from scenarios.edits import TEACHER_OPS
from scenarios.models import Run, Scenario
from scenarios.service import ScenarioService


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries of problem+json errors."""
    text = {
        403: "The key's role may not do this.",
        404: "Not found.",
        409: "Conflicts with the current state.",
        413: "Upload over the size limit.",
    }
    return {c: {"model": Problem, "description": text.get(c, "Error.")} for c in codes}


def shown_edits(edits: list[dict[str, Any]], principal: Principal) -> list[dict[str, Any]]:
    """Edits as the caller may see them: teacher edits redacted without teacher access."""
    if principal.can(PERSONAL):
        return edits
    return [{"op": e["op"], "redacted": True} if e.get("op") in TEACHER_OPS else e for e in edits]


def scenario_public(sc: Scenario, principal: Principal) -> ScenarioPublic:
    """A scenario for this caller."""
    return ScenarioPublic.model_validate(
        {
            "id": sc.id,
            "name": sc.name,
            "description": sc.description,
            "dataset_id": sc.dataset_id,
            "edits": shown_edits(sc.edits, principal),
            "settings": sc.settings,
            "version": sc.version,
            "parent_id": sc.parent_id,
            "created_at": sc.created_at,
            "updated_at": sc.updated_at,
            "created_by": sc.created_by,
        }
    )


def run_public(run: Run, service: ScenarioService) -> RunPublic:
    """A run with its progress and the names of its stored files."""
    return RunPublic.model_validate(
        {
            "id": run.id,
            "scenario_id": run.scenario_id,
            "dataset_id": run.dataset_id,
            "kind": run.kind,
            "status": run.status,
            "seed": run.seed,
            "time_limit": run.time_limit,
            "settings": run.settings,
            "progress": run.progress or {},
            "summary": run.summary,
            "error": run.error,
            "error_details": run.error_details or [],
            "cancel_requested": run.cancel_requested,
            "files": [f.name for f in service.store.run_files(run.id)]
            if run.status == "done"
            else [],
            "created_at": run.created_at,
            "started_at": run.started_at,
            "finished_at": run.finished_at,
            "created_by": run.created_by,
        }
    )


def check_run_access(run: Run, principal: Principal, service: ScenarioService) -> None:
    """Runs whose results hold teacher personal data are for hr and admin only.

    Raises
    ------
    scenarios.errors.Forbidden
    """
    check_kind_access((run.kind,), principal, service)


def check_kind_access(kinds: Iterable[str], principal: Principal, service: ScenarioService) -> None:
    """:func:`check_run_access` by run kind (for responses served from the cache).

    Raises
    ------
    scenarios.errors.Forbidden
    """
    if any(service.runners.personal(kind) for kind in kinds):
        principal.require(PERSONAL)
