"""Helpers shared by routes: problem responses for OpenAPI, converting store rows."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
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


#: Summary keys of a personal-data run (rotation) that any reader may see: counts, shares,
#: balance CVs and solver figures, none of which names a teacher (solvers/rotation/result.py
#: builds them). An allow-list: a key added to the summary later stays hidden until it is
#: checked and listed here. ``warnings`` and ``stages`` are free text / solver detail: left out.
AGGREGATE_SUMMARY_KEYS: frozenset[str] = frozenset(
    {
        "status", "year", "eligible", "pool", "exempt", "quota", "rotated",
        "backbone_rotated", "backbone_pool", "rotated_share", "backbone_share",
        "backbone_denominator", "cv_before", "cv_after", "cv_limit", "shortfall_before",
        "shortfall_after", "groups", "solve_seconds", "seed", "objective", "bound", "gap",
        "tie_break", "solver", "deterministic",
    }
)  # fmt: skip
#: Settings keys of a personal-data run that any reader may see (policy and solver knobs of
#: RotationSettings; never teacher lists). ``settings`` in the summary is filtered the same way.
AGGREGATE_SETTINGS_KEYS: frozenset[str] = frozenset(
    {
        "year", "time_limit", "seed", "solver", "mip_gap", "num_workers", "deterministic",
        "log", "rules", "lessons_per_week", "min_cap", "couple_distance_m", "home_cell_m",
        "max_targets", "lp_iterations", "cg_rounds", "mip_nodes", "tie_break_share", "weights",
    }
)  # fmt: skip
#: Progress keys shown in the aggregate view (``message`` is free solver text: dropped).
AGGREGATE_PROGRESS_KEYS: frozenset[str] = frozenset(
    {"objective", "bound", "gap", "elapsed", "solver_elapsed"}
)
#: ``error`` of a finished personal-data run in the aggregate view (the real text and
#: ``error_details`` may quote teachers.csv rows).
REDACTED_ERROR = "details withheld: they may name teachers (hr and admin only)"


_DROP = object()


def _numbers_only(value: Any) -> Any:
    """Nested dicts with str keys down to numbers, bools, strings or None (lists dropped)."""
    if isinstance(value, Mapping):
        out = {str(k): _numbers_only(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not _DROP}
    if value is None or isinstance(value, int | float | str):
        return value
    return _DROP


def aggregate_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The allow-listed settings of a personal-data run (:data:`AGGREGATE_SETTINGS_KEYS`)."""
    return {k: v for k, v in settings.items() if k in AGGREGATE_SETTINGS_KEYS}


def aggregate_summary(summary: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The allow-listed summary of a personal-data run (:data:`AGGREGATE_SUMMARY_KEYS`),
    with nested values reduced to dicts of scalars and ``settings`` filtered."""
    if summary is None:
        return None
    out: dict[str, Any] = {}
    for key, value in summary.items():
        if key in AGGREGATE_SUMMARY_KEYS:
            kept = _numbers_only(value)
            if kept is not _DROP:
                out[key] = kept
    if isinstance(summary.get("settings"), Mapping):
        out["settings"] = aggregate_settings(summary["settings"])
    return out


def public_progress(progress: Mapping[str, Any] | None) -> dict[str, Any]:
    """Progress in the aggregate view (:data:`AGGREGATE_PROGRESS_KEYS`)."""
    return {k: v for k, v in (progress or {}).items() if k in AGGREGATE_PROGRESS_KEYS}


def sees_full(run: Run, principal: Principal, service: ScenarioService) -> bool:
    """Whether the caller gets the full run (else the aggregate view): every run for hr and
    admin, runs without teacher personal data for everyone."""
    return principal.can(PERSONAL) or not service.runners.personal(run.kind)


def run_public(run: Run, service: ScenarioService, principal: Principal | None = None) -> RunPublic:
    """A run with its progress and the names of its stored files.

    Without ``principal`` (or for a caller who may read it in full) the whole run; for a
    caller without teacher access to a personal-data run, the aggregate view: allow-listed
    summary, settings and progress, no files, no error details.
    """
    fields = {
        "id": run.id,
        "scenario_id": run.scenario_id,
        "dataset_id": run.dataset_id,
        "kind": run.kind,
        "status": run.status,
        "seed": run.seed,
        "time_limit": run.time_limit,
        "cancel_requested": run.cancel_requested,
        "created_at": run.created_at,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "created_by": run.created_by,
    }
    if principal is not None and not sees_full(run, principal, service):
        # the aggregate view: allow-listed figures, no files, no free text
        fields |= {
            "settings": aggregate_settings(run.settings or {}),
            "progress": public_progress(run.progress),
            "summary": aggregate_summary(run.summary),
            "error": REDACTED_ERROR if run.error else None,
            "error_details": [],
            "files": [],
        }
    else:
        fields |= {
            "settings": run.settings,
            "progress": run.progress or {},
            "summary": run.summary,
            "error": run.error,
            "error_details": run.error_details or [],
            "files": [f.name for f in service.store.run_files(run.id)]
            if run.status == "done"
            else [],
        }
    return RunPublic.model_validate(fields)


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
