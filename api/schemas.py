"""Request and response schemas of the API, one family per resource.

``XCreate`` / ``XUpdate`` are request bodies, ``XPublic`` a single resource, ``XsPublic`` a page
of them (``data`` and the total ``count``). Edits reuse :mod:`scenarios.edits`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from scenarios.edits import Edit

RunKind = Literal["catchment", "layout", "rotation"]
RunStatus = Literal["queued", "running", "done", "failed", "cancelled"]
Role = Literal["planner", "hr", "analyst", "admin"]


# -- errors (RFC 9457) ------------------------------------------------------------------
class ProblemError(BaseModel):
    """One wrong field."""

    path: str = Field(description="Field path: body field (``edits/2/count``) or file/row/column.")
    message: str = Field(description="What is wrong.")


class Problem(BaseModel):
    """An error, as ``application/problem+json`` (RFC 9457)."""

    type: str = Field(
        description="URI of the problem type.", examples=["urn:schoolplan:problem:not-found"]
    )
    title: str = Field(description="Short summary of the problem type.", examples=["Not Found"])
    status: int = Field(description="HTTP status code.", examples=[404])
    detail: str = Field(description="What went wrong here.", examples=["run 'run_0' not found"])
    instance: str = Field(description="The request path.", examples=["/v1/runs/run_0"])
    errors: list[ProblemError] = Field(default_factory=list, description="Every wrong field.")
    error_id: str | None = Field(None, description="Id of an internal error in the service log.")


# -- datasets ---------------------------------------------------------------------------
class DatasetInfo(BaseModel):
    """What the dataset holds (counts only, no personal data)."""

    model_config = ConfigDict(extra="allow")

    district: str = ""
    crs: str = ""
    schools: int = 0
    units: int = 0
    teachers: int = 0
    pupils_primary: int = 0
    pupils_junior: int = 0
    files: list[str] = Field(default_factory=list)
    warnings: list[ProblemError] = Field(default_factory=list, description="Validation warnings.")


class DatasetPublic(BaseModel):
    """A stored district folder."""

    model_config = ConfigDict(from_attributes=True)

    id: str = Field(examples=["ds_4b1f0c9e2a7d5e13"])
    name: str = Field(examples=["Sample county"])
    sha256: str = Field(description="sha256 of the normalised zip content.")
    size_bytes: int
    info: DatasetInfo
    created_at: datetime
    created_by: str = Field(description="API key id of the uploader.")


class DatasetsPublic(BaseModel):
    """A page of datasets."""

    data: list[DatasetPublic]
    count: int


# -- scenarios --------------------------------------------------------------------------
class RedactedEdit(BaseModel):
    """A teacher edit shown to a role without access to teacher personal data."""

    model_config = ConfigDict(extra="forbid")

    op: Literal["exempt_teacher", "lock_teacher"]
    redacted: Literal[True] = True


ShownEdit = Annotated[Edit | RedactedEdit, Field(union_mode="left_to_right")]

Settings = dict[str, dict[str, Any]]
_SETTINGS_DOC = (
    'Solver settings per run kind, e.g. {"catchment": {"k_nearest": 8}}; runs use them '
    "under their own settings."
)


class ScenarioCreate(BaseModel):
    """A new scenario."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "east school opens",
                    "dataset_id": "ds_4b1f0c9e2a7d5e13",
                    "edits": [
                        {
                            "op": "add_school",
                            "school_id": "NEW1",
                            "level": "primary",
                            "x": 5200.0,
                            "y": 3100.0,
                            "classrooms_primary": 24,
                            "open_cost": 8.0e7,
                        },
                        {"op": "set_policy", "path": "class_size_cap.primary", "value": 45},
                    ],
                    "settings": {"catchment": {"k_nearest": 8}},
                }
            ]
        },
    )

    name: str = Field(min_length=1, max_length=200, description="Unique name.")
    dataset_id: str = Field(description="The dataset it builds on.")
    description: str = Field("", max_length=10_000)
    edits: list[Edit] = Field(default_factory=list, description="Edits, applied in order.")
    settings: Settings = Field(default_factory=dict, description=_SETTINGS_DOC)


class ScenarioUpdate(BaseModel):
    """Changes to a scenario; ``edits`` replaces the whole list."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"edits": [{"op": "close_school", "school_id": "P07"}], "version": 1}]
        },
    )

    name: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=10_000)
    edits: list[Edit] | None = None
    settings: Settings | None = Field(None, description=_SETTINGS_DOC)
    version: int | None = Field(
        None, description="The version you changed; 409 if the scenario has moved on since."
    )


class ScenarioClone(BaseModel):
    """Name of the copy (default: '<name> (copy)')."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=200)


class ScenarioPublic(BaseModel):
    """A scenario."""

    id: str = Field(examples=["sc_9d2e4f61a0b3c7d8"])
    name: str
    description: str
    dataset_id: str
    edits: list[ShownEdit]
    settings: Settings
    version: int = Field(description="Bumped by every change.")
    parent_id: str | None = Field(None, description="The scenario this one was cloned from.")
    created_at: datetime
    updated_at: datetime
    created_by: str


class ScenariosPublic(BaseModel):
    """A page of scenarios."""

    data: list[ScenarioPublic]
    count: int


class EditChange(BaseModel):
    """A block of edits that differs."""

    change: Literal["added", "removed", "changed"]
    a_index: list[int]
    b_index: list[int]
    a: list[ShownEdit]
    b: list[ShownEdit]


class SettingChange(BaseModel):
    """A setting that differs (``kind/name`` path)."""

    path: str
    a: Any = None
    b: Any = None


class ScenarioDiff(BaseModel):
    """What differs between scenario ``a`` and ``b``."""

    a: str
    b: str
    same_dataset: bool
    dataset: dict[str, str]
    edits_equal: bool
    edits: list[EditChange]
    settings: list[SettingChange]


# -- runs -------------------------------------------------------------------------------
class RunCreate(BaseModel):
    """Start a run of a scenario."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"kind": "catchment", "time_limit": 30, "seed": 0, "settings": {"level": "primary"}}
            ]
        },
    )

    kind: RunKind = Field(description="catchment | layout | rotation.")
    time_limit: float | None = Field(
        None,
        gt=0,
        le=86_400,
        description="Solver time limit in seconds (the solver's default if unset).",
    )
    seed: int = Field(
        0, ge=0, le=2**31 - 1, description="Random seed: same inputs and seed, same plan."
    )
    settings: dict[str, Any] = Field(
        default_factory=dict, description="Solver settings on top of the scenario's for this kind."
    )


class Progress(BaseModel):
    """A run's progress."""

    objective: float | None = Field(None, description="Best objective so far.")
    bound: float | None = Field(None, description="Best bound so far.")
    gap: float | None = Field(None, description="Relative gap |objective − bound| / |objective|.")
    elapsed: float | None = Field(None, description="Seconds since the run started.")
    solver_elapsed: float | None = Field(None, description="The solver's own clock, seconds.")
    message: str = ""


class RunPublic(BaseModel):
    """A run: status, progress and (when done) the CLI's summary."""

    id: str = Field(examples=["run_0f3a9b2c4d5e6f70"])
    scenario_id: str
    dataset_id: str
    kind: RunKind
    status: RunStatus
    seed: int
    time_limit: float | None
    settings: dict[str, Any] = Field(
        description="The effective solver settings (rotation runs, roles other than hr and "
        "admin: the allow-listed keys only)."
    )
    progress: Progress
    summary: dict[str, Any] | None = Field(
        None,
        description="The CLI's summary.json, when finished. Rotation runs, roles other than "
        "hr and admin: the aggregate KPIs only (quota, rotated, backbone figures, CVs, "
        "shortfall, solver figures), never a teacher id, name or exemption reason.",
    )
    error: str | None = Field(
        None,
        description="Why the run failed or was cancelled (rotation runs, roles other than hr "
        "and admin: a fixed text, and no error_details).",
    )
    error_details: list[ProblemError] = Field(default_factory=list)
    cancel_requested: bool
    files: list[str] = Field(
        default_factory=list,
        description="Stored output files (empty for rotation runs unless hr or admin).",
    )
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    created_by: str


class RunsPublic(BaseModel):
    """A page of runs."""

    data: list[RunPublic]
    count: int


class AssignmentPublic(BaseModel):
    """A run's assignment.csv as JSON rows."""

    columns: list[str]
    data: list[dict[str, str]]
    count: int


# -- compare ----------------------------------------------------------------------------
class CompareRun(BaseModel):
    """One run in a comparison, with its headline KPIs."""

    id: str
    scenario_id: str
    kind: RunKind
    status: RunStatus
    seed: int
    headline: dict[str, float | None] = Field(
        description="Headline KPIs (see headline_keys); null where the run lacks one."
    )


class CompareKpi(BaseModel):
    """One numeric summary figure across the runs (null where a run lacks it)."""

    key: str = Field(examples=["primary.travel_mean_m"])
    values: dict[str, float | None]


class UnitDifference(BaseModel):
    """A unit whose school differs between run ``a`` and run ``b``."""

    level: str
    unit_id: str
    school_a: str | None
    school_b: str | None


class RunPairDifference(BaseModel):
    """Units whose school differs between the first run and another."""

    a: str
    b: str
    count: int
    units: list[UnitDifference]
    truncated: bool
    comparable: bool = Field(description="Both runs have assignments (catchment or layout).")


class ComparePublic(BaseModel):
    """Runs side by side."""

    headline_keys: list[str] = Field(
        description="travel_mean_*, travel_cost, overflow_pupils, large_classes_* (大班额), "
        "super_large_classes_*, moved_pupils, build_cost, rotated, quota, backbone_*, cv_max_*."
    )
    runs: list[CompareRun]
    kpis: list[CompareKpi]
    unit_differences: list[RunPairDifference]


# -- keys and audit ---------------------------------------------------------------------
class KeyCreate(BaseModel):
    """A new API key."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "east district planner", "role": "planner"}]},
    )

    name: str = Field(min_length=1, max_length=200, description="Who or what uses it.")
    role: Role


class KeyPublic(BaseModel):
    """An API key record (never the key itself)."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    role: Role
    prefix: str = Field(description="First characters of the key, to recognise it.")
    created_at: datetime
    created_by: str
    revoked_at: datetime | None


class KeyCreated(KeyPublic):
    """A new key: ``key`` is shown this once and cannot be recovered."""

    key: str = Field(examples=["sp_q0Yl6u8k3..."])


class KeysPublic(BaseModel):
    """Every API key record."""

    data: list[KeyPublic]
    count: int


class AuditEntryPublic(BaseModel):
    """Who did what, when."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor: str = Field(description="API key id ('admin' for the configured admin key).")
    role: str
    action: str = Field(examples=["create_run", "download_map"])
    target_type: str
    target_id: str
    detail: dict[str, Any]


class AuditPublic(BaseModel):
    """A page of the audit log, newest first."""

    data: list[AuditEntryPublic]
    count: int


# -- health -----------------------------------------------------------------------------
class KindHealth(BaseModel):
    """Whether a run kind can be solved by this service."""

    available: bool
    reason: str | None = None


class Health(BaseModel):
    """Service health."""

    status: Literal["ok"]
    version: str
    database: str = Field(description="sqlite | postgresql.")
    kinds: dict[str, KindHealth]
    queued: int
    running: int
