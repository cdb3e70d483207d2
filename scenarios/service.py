"""The service layer: everything the API and the CLI do with datasets, scenarios and runs.

Routes in ``api/`` and the CLI demo call these functions; none of them knows about HTTP.
:func:`run_scenario_sync` runs a scenario in the calling thread through the very same job code
the service's workers use.
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import logging
import tempfile
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from planner.errors import InfeasiblePlan, NoPlanFound, ValidationFailed
from planner.jsonsafe import dumps, json_ready
from planner.model import District
from scenarios.audit import AuditQueue
from scenarios.compare import METRICS_FILE
from scenarios.datasets import (
    DistrictCache,
    DistrictLoader,
    PlannerLoader,
    check_problems,
    district_info,
    extract,
    normalise_zip,
)
from scenarios.edits import apply_edits, dump_edits, parse_edits
from scenarios.errors import Conflict, FieldError, Invalid, NotFound
from scenarios.models import FINISHED, Dataset, Run, Scenario, new_id
from scenarios.runs.executor import Executor
from scenarios.runs.runners import RunnerRegistry, RunnerUnavailable, SolveResult
from scenarios.store import Store
from solvers.progress import Cancelled, ProgressEvent

log = logging.getLogger(__name__)

#: The reason given to runs that were queued or running when the service stopped.
INTERRUPTED = "interrupted by a service restart"
SHUTDOWN = "interrupted by a service shutdown"

MEDIA_TYPES: dict[str, str] = {
    ".csv": "text/csv; charset=utf-8",
    ".json": "application/json",
    ".geojson": "application/geo+json",
    ".png": "image/png",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".txt": "text/plain; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
}


@dataclass(frozen=True)
class RunRequest:
    """What a client asks for when it starts a run."""

    kind: str
    time_limit: float | None = None
    seed: int = 0
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Limits:
    """Size and time limits of the service."""

    max_unpacked_bytes: int = 500 * 1024 * 1024
    max_zip_files: int = 1000
    #: A run is stopped (keeping its best plan) after time_limit × factor + grace seconds.
    hard_limit_factor: float = 2.0
    hard_limit_grace: float = 30.0
    #: Least seconds between two progress writes of one run.
    progress_interval: float = 0.5
    #: Memory for result files of finished runs kept in memory (they never change).
    max_cached_bytes: int = 128 * 1024 * 1024
    #: Seconds between batched writes of queued audit entries (downloads).
    audit_flush_interval: float = 0.2
    #: Queued audit entries that trigger a write before the interval is up.
    audit_batch_rows: int = 500


class ScenarioService:
    """Datasets, scenarios and runs over a :class:`Store`.

    Parameters
    ----------
    store : Store
    runners : RunnerRegistry
        Solvers by kind.
    data_dir : pathlib.Path
        Where unpacked datasets are cached (``data_dir/datasets/<sha256>``).
    loader : DistrictLoader, optional
        Validation and loading of district folders; default the CLI's (planner.io).
    limits : Limits, optional
    """

    def __init__(
        self,
        store: Store,
        runners: RunnerRegistry,
        data_dir: Path,
        loader: DistrictLoader | None = None,
        limits: Limits | None = None,
    ) -> None:
        self.store = store
        self.runners = runners
        self.data_dir = Path(data_dir)
        self.loader: DistrictLoader = loader or PlannerLoader()
        self.limits = limits or Limits()
        self.districts = DistrictCache(self.data_dir / "datasets", self.loader)
        self.executor: Executor | None = None
        self._shutting_down = threading.Event()
        self._files = _FileCache(self.limits.max_cached_bytes)
        #: The audit log writer; started on first use, closed by :meth:`close`.
        self.audit_log = AuditQueue(
            store, self.limits.audit_flush_interval, self.limits.audit_batch_rows
        )

    # -- datasets -------------------------------------------------------------------------
    def create_dataset(self, data: bytes, name: str, actor: str) -> tuple[Dataset, bool]:
        """Validate and store an uploaded zip; returns (dataset, created).

        Uploading content that is already stored returns the existing dataset and False.

        Raises
        ------
        Invalid
            Unsafe or broken zip, or district errors with ``file/row/column`` paths.
        """
        nz = normalise_zip(
            data,
            max_uncompressed=self.limits.max_unpacked_bytes,
            max_files=self.limits.max_zip_files,
        )
        existing = self.store.find_dataset(nz.sha256)
        if existing is not None:
            return existing, False
        with tempfile.TemporaryDirectory(prefix="schoolplan-upload-") as tmp:
            folder = Path(tmp)
            extract(nz.files, folder)
            warnings = check_problems(self.loader.validate(folder))
            try:
                district = self.loader.load(folder)
            except ValidationFailed as exc:
                check_problems(exc.problems)
                raise
        info = district_info(district, warnings)
        info["files"] = sorted(nz.files)
        return self.store.add_dataset(
            sha256=nz.sha256,
            name=name or district.name,
            content=nz.content,
            info=info,
            created_by=actor,
        )

    def district(self, dataset_id: str) -> District:
        """The stored district of a dataset (unpacked and loaded once, then cached)."""
        ds = self.store.get_dataset(dataset_id)
        return self.districts.get(ds.sha256, lambda: self.store.dataset_content(dataset_id))

    # -- scenarios ------------------------------------------------------------------------
    def check_settings(self, settings: dict[str, Any], prefix: str = "settings") -> dict[str, Any]:
        """Validate per-kind settings ``{"catchment": {...}}``; returns them normalised.

        Settings of a kind whose solver is not installed are kept as given.

        Raises
        ------
        Invalid
        """
        out: dict[str, Any] = {}
        errors: list[FieldError] = []
        for kind, values in settings.items():
            if kind not in self.runners.kinds():
                errors.append(FieldError(f"{prefix}/{kind}", f"unknown run kind '{kind}'"))
                continue
            if not isinstance(values, dict):
                errors.append(FieldError(f"{prefix}/{kind}", "must be an object"))
                continue
            try:
                model = self.runners.get(kind).settings_model()
            except RunnerUnavailable:
                out[kind] = values
                continue
            try:
                model.model_validate(values)
            except ValidationError as exc:
                errors += _pydantic_errors(exc, f"{prefix}/{kind}")
                continue
            out[kind] = values
        if errors:
            raise Invalid("the settings are not valid", errors)
        return out

    def check_edits_fit(self, dataset_id: str, edits: Sequence[Any]) -> list[dict[str, Any]]:
        """Parse edits and apply them to the dataset's district; returns them as JSON.

        Raises
        ------
        Invalid
            Naming the edit index and field.
        """
        typed = parse_edits(edits)
        if typed:
            apply_edits(self.district(dataset_id), typed)
        return dump_edits(typed)

    def create_scenario(
        self,
        *,
        name: str,
        dataset_id: str,
        actor: str,
        description: str = "",
        edits: Sequence[Any] = (),
        settings: dict[str, Any] | None = None,
        parent_id: str | None = None,
    ) -> Scenario:
        """Create a scenario after checking its dataset, edits and settings.

        Raises
        ------
        NotFound
            Unknown dataset (reported as a 422 on the ``dataset_id`` field by the API).
        Invalid
        Conflict
            Name taken.
        """
        try:
            self.store.get_dataset(dataset_id)
        except NotFound:
            raise Invalid(
                f"dataset '{dataset_id}' not found",
                [FieldError("dataset_id", f"dataset '{dataset_id}' not found")],
            ) from None
        if self.store.find_scenario(name) is not None:
            raise Conflict(f"a scenario named '{name}' already exists")
        checked_settings = self.check_settings(settings or {})
        checked_edits = self.check_edits_fit(dataset_id, edits)
        sc = Scenario(
            id=new_id("sc"),
            name=name,
            description=description,
            dataset_id=dataset_id,
            edits=checked_edits,
            settings=checked_settings,
            parent_id=parent_id,
            created_by=actor,
        )
        return self.store.add_scenario(sc)

    def update_scenario(
        self, scenario_id: str, changes: dict[str, Any], expected_version: int | None = None
    ) -> Scenario:
        """Change name, description, edits (whole list) or settings; bumps the version.

        Runs keep the snapshot they were started with, so a scenario with runs can change.
        """
        sc = self.store.get_scenario(scenario_id)
        clean = dict(changes)
        if "settings" in clean:
            clean["settings"] = self.check_settings(clean["settings"] or {})
        if "edits" in clean:
            clean["edits"] = self.check_edits_fit(sc.dataset_id, clean["edits"] or [])
        if "name" in clean and clean["name"] != sc.name and self.store.find_scenario(clean["name"]):
            raise Conflict(f"a scenario named '{clean['name']}' already exists")
        return self.store.update_scenario(scenario_id, clean, expected_version)

    def clone_scenario(self, scenario_id: str, actor: str, name: str | None = None) -> Scenario:
        """Copy a scenario (dataset, edits, settings) under a new name."""
        src = self.store.get_scenario(scenario_id)
        new_name = name or self._free_name(f"{src.name} (copy)")
        if self.store.find_scenario(new_name) is not None:
            raise Conflict(f"a scenario named '{new_name}' already exists")
        sc = Scenario(
            id=new_id("sc"),
            name=new_name,
            description=src.description,
            dataset_id=src.dataset_id,
            edits=list(src.edits),
            settings=dict(src.settings),
            parent_id=src.id,
            created_by=actor,
        )
        return self.store.add_scenario(sc)

    def _free_name(self, base: str) -> str:
        name, k = base, 2
        while self.store.find_scenario(name) is not None:
            name, k = f"{base} {k}", k + 1
        return name

    def diff_scenarios(self, a_id: str, b_id: str) -> dict[str, Any]:
        """What differs between two scenarios: dataset, edits (as a sequence diff), settings."""
        a, b = self.store.get_scenario(a_id), self.store.get_scenario(b_id)
        return diff_scenarios(a, b)

    # -- runs -----------------------------------------------------------------------------
    def build_settings(
        self, kind: str, scenario_settings: dict[str, Any], req: RunRequest
    ) -> dict[str, Any]:
        """The effective settings of a run: scenario's, then the request's, then limit and seed.

        Raises
        ------
        Invalid
            Unknown or unavailable kind, or settings that do not validate.
        """
        if kind not in self.runners.kinds():
            raise Invalid(
                f"unknown run kind '{kind}'",
                [FieldError("kind", f"must be one of: {', '.join(self.runners.kinds())}")],
            )
        try:
            model: type[BaseModel] = self.runners.get(kind).settings_model()
        except RunnerUnavailable as exc:
            raise Invalid(str(exc), [FieldError("kind", str(exc))]) from None
        values: dict[str, Any] = {**scenario_settings.get(kind, {}), **req.settings}
        if "seed" in model.model_fields:
            values["seed"] = req.seed
        if req.time_limit is not None and "time_limit" in model.model_fields:
            values["time_limit"] = req.time_limit
        try:
            return model.model_validate(values).model_dump(mode="json")
        except ValidationError as exc:
            raise Invalid(
                "the run settings are not valid", _pydantic_errors(exc, "settings")
            ) from None

    def create_run(self, scenario_id: str, req: RunRequest, actor: str) -> Run:
        """Store a queued run with a snapshot of the scenario's edits and the settings."""
        sc = self.store.get_scenario(scenario_id)
        settings = self.build_settings(req.kind, sc.settings, req)
        run = Run(
            id=new_id("run"),
            scenario_id=sc.id,
            dataset_id=sc.dataset_id,
            kind=req.kind,
            status="queued",
            seed=req.seed,
            time_limit=settings.get("time_limit", req.time_limit),
            settings=settings,
            edits=list(sc.edits),
            progress={},
            created_by=actor,
        )
        return self.store.add_run(run)

    def submit_run(self, scenario_id: str, req: RunRequest, actor: str) -> Run:
        """Create a run and hand it to the executor."""
        if self.executor is None:
            raise RuntimeError("no executor attached to the service")
        run = self.create_run(scenario_id, req, actor)
        self.executor.submit(run.id)
        return run

    def cancel_run(self, run_id: str) -> Run:
        """Cancel a queued run, or ask a running one to stop (it keeps its best plan).

        Raises
        ------
        NotFound
        Conflict
            The run has finished.
        """
        run = self.store.request_cancel(run_id)
        if self.executor is not None:
            self.executor.cancel(run_id)
        return run

    def recover(self) -> list[str]:
        """At start-up: mark runs left queued or running by a previous process as failed."""
        ids = self.store.fail_interrupted(INTERRUPTED)
        if ids:
            log.warning("%d run(s) %s: %s", len(ids), INTERRUPTED, ", ".join(ids))
        return ids

    def begin_shutdown(self) -> None:
        """Runs stopped from now on are failed as interrupted, not finished."""
        self._shutting_down.set()

    def close(self) -> None:
        """Write queued audit entries (call before closing the store)."""
        self.audit_log.close()

    def execute(self, run_id: str, stop: threading.Event) -> None:
        """The job: claim a queued run, solve it, store the outcome. Never raises."""
        if not self.store.claim_run(run_id):
            return  # cancelled while queued, or taken by another worker
        started = time.monotonic()
        progress = _ProgressRecorder(self.store, run_id, self.limits.progress_interval, started)
        timer: threading.Timer | None = None
        try:
            run = self.store.get_run(run_id)
            runner = self.runners.get(run.kind)
            model = runner.settings_model()
            settings = model.model_validate(run.settings)
            if run.time_limit:
                hard = run.time_limit * self.limits.hard_limit_factor + self.limits.hard_limit_grace
                timer = threading.Timer(hard, stop.set)
                timer.daemon = True
                timer.start()
            district = apply_edits(self.district(run.dataset_id), parse_edits(run.edits))
            if stop.is_set():
                raise Cancelled("stopped before solving")
            result = runner.solve(district, settings, progress, stop)
            if stop.is_set() and self._shutting_down.is_set() and not self._cancelled(run_id):
                self.store.finish_run(
                    run_id, status="failed", progress=progress.final(), error=SHUTDOWN
                )
                return
            files, assignments = collect_outputs(result)
            if assignments:
                files.append(
                    (METRICS_FILE, "application/json", plan_metrics(district, assignments))
                )
            status, error = "done", None
            if stop.is_set() and self._cancelled(run_id):
                status, error = "cancelled", "cancelled while running; the best plan found is kept"
            self.store.finish_run(
                run_id,
                status=status,
                summary=json_ready(result.summary),
                progress=progress.final(),
                error=error,
                files=files,
                assignments=assignments,
            )
        except Cancelled:
            self._finish_stopped(run_id, progress)
        except (InfeasiblePlan, NoPlanFound) as exc:
            self.store.finish_run(
                run_id,
                status="failed",
                progress=progress.final(),
                error="infeasible: no plan meets the hard rules"
                if isinstance(exc, InfeasiblePlan)
                else "no plan found within the time limit",
                error_details=[{"path": "", "message": r} for r in exc.reasons],
            )
        except Invalid as exc:
            self.store.finish_run(
                run_id,
                status="failed",
                progress=progress.final(),
                error=exc.detail,
                error_details=[{"path": e.path, "message": e.message} for e in exc.errors],
            )
        except Exception:
            error_id = uuid.uuid4().hex[:12]
            log.exception("run %s failed (error id %s)", run_id, error_id)
            self.store.finish_run(
                run_id,
                status="failed",
                progress=progress.final(),
                error=f"internal error while solving (error id {error_id}); see the service log",
            )
        finally:
            if timer is not None:
                timer.cancel()

    def _cancelled(self, run_id: str) -> bool:
        return self.store.get_run(run_id).cancel_requested

    def _finish_stopped(self, run_id: str, progress: _ProgressRecorder) -> None:
        if self._cancelled(run_id):
            status, error = "cancelled", "cancelled before a plan was found"
        elif self._shutting_down.is_set():
            status, error = "failed", SHUTDOWN
        else:
            status, error = "failed", "time limit reached before a plan was found"
        self.store.finish_run(run_id, status=status, progress=progress.final(), error=error)

    def run_file(self, run: Run, name: str) -> tuple[str, bytes] | None:
        """(media type, content) of a result file; finished runs' files are cached."""
        if run.status not in FINISHED:
            return self.store.run_file(run.id, name)
        return self._files.get((run.id, name), lambda: self.store.run_file(run.id, name))

    def run_sync(self, scenario_id: str, req: RunRequest, actor: str) -> Run:
        """Create and execute a run in the calling thread; returns the finished run."""
        run = self.create_run(scenario_id, req, actor)
        self.execute(run.id, threading.Event())
        return self.store.get_run(run.id)


def run_scenario_sync(
    store: Store,
    scenario_id: str,
    kind: str,
    settings: dict[str, Any] | None = None,
    *,
    seed: int = 0,
    time_limit: float | None = None,
    data_dir: Path | None = None,
    actor: str = "cli",
) -> Run:
    """Run a scenario now, in this thread, through the service layer (for the CLI demo).

    Parameters
    ----------
    store : Store
        An open store (migrated).
    scenario_id : str
    kind : {"catchment", "layout", "rotation"}
    settings : dict, optional
        Solver settings on top of the scenario's.
    seed, time_limit
        As in ``POST /v1/scenarios/{id}/runs``.
    data_dir : pathlib.Path, optional
        Cache of unpacked datasets; a temporary folder by default.

    Returns
    -------
    Run
        The finished run (``status`` done, failed or cancelled; ``summary``; results in the
        store, e.g. ``store.run_file(run.id, "map.png")``).
    """
    with tempfile.TemporaryDirectory(prefix="schoolplan-") as tmp:
        service = ScenarioService(store, RunnerRegistry.default(), Path(data_dir or tmp))
        req = RunRequest(kind=kind, time_limit=time_limit, seed=seed, settings=settings or {})
        return service.run_sync(scenario_id, req, actor)


# -- helpers ------------------------------------------------------------------------------
class _FileCache:
    """A thread-safe LRU of immutable result files, bounded in bytes."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._data: OrderedDict[tuple[str, str], tuple[str, bytes] | None] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(
        self, key: tuple[str, str], load: Callable[[], tuple[str, bytes] | None]
    ) -> tuple[str, bytes] | None:
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]
        value = load()
        size = 0 if value is None else len(value[1])
        if size > self.max_bytes:
            return value
        with self._lock:
            if key not in self._data:
                self._data[key] = value
                self._size += size
            while self._size > self.max_bytes:
                _, old = self._data.popitem(last=False)
                self._size -= 0 if old is None else len(old[1])
        return value


class _ProgressRecorder:
    """The solver's progress callback: writes to the store at most every ``interval`` s."""

    def __init__(self, store: Store, run_id: str, interval: float, started: float) -> None:
        self.store, self.run_id, self.interval, self.started = store, run_id, interval, started
        self.last: dict[str, Any] = {}
        self._written = 0.0
        self._lock = threading.Lock()

    def __call__(self, ev: ProgressEvent) -> None:
        data = {
            "objective": _finite(ev.objective),
            "bound": _finite(ev.bound),
            "gap": _finite(ev.gap),
            "elapsed": round(time.monotonic() - self.started, 3),
            "solver_elapsed": round(ev.elapsed, 3),
            "message": ev.message,
        }
        with self._lock:
            self.last = data
            now = time.monotonic()
            if now - self._written < self.interval:
                return
            self._written = now
        try:
            self.store.set_progress(self.run_id, data)
        except Exception:  # progress is best effort; the run goes on
            log.warning("could not record progress of run %s", self.run_id, exc_info=True)

    def final(self) -> dict[str, Any]:
        out = dict(self.last)
        out["elapsed"] = round(time.monotonic() - self.started, 3)
        return out


def _finite(x: float | None) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if x == x and abs(x) != float("inf") else None


def _pydantic_errors(exc: ValidationError, prefix: str) -> list[FieldError]:
    return [FieldError("/".join([prefix, *map(str, e["loc"])]), e["msg"]) for e in exc.errors()]


def collect_outputs(
    result: SolveResult,
) -> tuple[list[tuple[str, str, bytes]], list[tuple[str, str, str]]]:
    """Write a result's files to a temp folder and read them back as blobs, plus assignments."""
    files: list[tuple[str, str, bytes]] = []
    with tempfile.TemporaryDirectory(prefix="schoolplan-out-") as tmp:
        out = Path(tmp)
        written = result.write(out)
        for path in sorted({Path(p) for p in written} | {p for p in out.rglob("*") if p.is_file()}):
            if not path.is_file():
                continue
            name = str(path.relative_to(out)) if path.is_relative_to(out) else path.name
            media = MEDIA_TYPES.get(path.suffix.lower(), "application/octet-stream")
            files.append((name, media, path.read_bytes()))
    assignments: list[tuple[str, str, str]] = []
    for name, _media, content in files:
        if name == "assignment.csv":
            assignments = parse_assignment(content)
    return files, assignments


def plan_metrics(district: District, assignments: Sequence[tuple[str, str, str]]) -> bytes:
    """``planner.metrics.compute_metrics`` of a plan, as JSON bytes (``{}`` if it fails).

    Schools the plan names that the district lacks (e.g. opened by a layout run under another
    id) count as unassigned.
    """
    try:
        import numpy as np

        from planner.metrics import compute_metrics

        sidx, uidx = district.school_index(), district.unit_index()
        asg: dict[Any, Any] = {}
        for level in ("primary", "junior"):
            rows = [(u, s) for lv, u, s in assignments if lv == level]
            if not rows:
                continue
            a = district.current(level).copy()  # type: ignore[arg-type]
            for unit, school in rows:
                if unit in uidx:
                    a[uidx[unit]] = sidx.get(school, -1) if school else -1
            asg[level] = np.asarray(a, dtype=np.int64)
        return dumps(compute_metrics(district, asg)).encode()
    except Exception:
        log.warning("metrics of a plan could not be computed", exc_info=True)
        return b"{}"


def parse_assignment(content: bytes) -> list[tuple[str, str, str]]:
    """(level, unit, school) rows from a CLI ``assignment.csv``.

    Accepts the long form (``unit_id, level, school_id``) and the wide form
    (``unit_id, school_primary, school_junior`` or ``primary_school, junior_school``).
    """
    reader = csv.DictReader(io.StringIO(content.decode("utf-8-sig")))
    cols = reader.fieldnames or []
    rows = list(reader)
    out: list[tuple[str, str, str]] = []
    if {"unit_id", "level", "school_id"} <= set(cols):
        out = [(r["level"], r["unit_id"], r["school_id"] or "") for r in rows]
    elif "unit_id" in cols:
        for level in ("primary", "junior"):
            col = next(
                (
                    c
                    for c in (
                        f"school_{level}",
                        f"{level}_school",
                        f"{level}_school_id",
                        f"new_{level}",
                        level,
                    )
                    if c in cols
                ),
                None,
            )
            if col is not None:
                out += [(level, r["unit_id"], r[col] or "") for r in rows]
    seen: dict[tuple[str, str], str] = {}
    for level, unit, school in out:
        seen[(level, unit)] = school
    return [(lv, u, s) for (lv, u), s in seen.items()]


def diff_scenarios(a: Scenario, b: Scenario) -> dict[str, Any]:
    """Differences between two scenarios: dataset, edits (sequence diff) and settings."""
    ea = [json.dumps(e, sort_keys=True) for e in a.edits]
    eb = [json.dumps(e, sort_keys=True) for e in b.edits]
    changes: list[dict[str, Any]] = []
    sm = difflib.SequenceMatcher(a=ea, b=eb, autojunk=False)
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag == "equal":
            continue
        changes.append(
            {
                "change": {"replace": "changed", "delete": "removed", "insert": "added"}[tag],
                "a_index": list(range(i1, i2)),
                "b_index": list(range(j1, j2)),
                "a": a.edits[i1:i2],
                "b": b.edits[j1:j2],
            }
        )
    settings = [
        {"path": path, "a": va, "b": vb} for path, va, vb in _dict_diff(a.settings, b.settings)
    ]
    return {
        "a": a.id,
        "b": b.id,
        "same_dataset": a.dataset_id == b.dataset_id,
        "dataset": {"a": a.dataset_id, "b": b.dataset_id},
        "edits_equal": ea == eb,
        "edits": changes,
        "settings": settings,
    }


def _dict_diff(a: Any, b: Any, prefix: str = "") -> list[tuple[str, Any, Any]]:
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[tuple[str, Any, Any]] = []
        for key in sorted(set(a) | set(b)):
            path = f"{prefix}/{key}" if prefix else str(key)
            out += _dict_diff(a.get(key), b.get(key), path)
        return out
    return [] if a == b else [(prefix, a, b)]


def is_finished(run: Run) -> bool:
    """Whether a run has reached done, failed or cancelled."""
    return run.status in FINISHED


def demo_runs(
    district: District,
    folder: Path,
    out: Path,
    *,
    seed: int = 0,
    time_limit: float | None = None,
    kinds: Sequence[str] = ("catchment", "rotation"),
) -> dict[str, dict[str, Any]]:
    """The CLI demo's runs, through the service layer and an embedded SQLite store.

    Stores ``folder`` as a dataset in ``out/scenarios.db`` (once: same content, same id),
    creates the scenario "today" if missing, runs each kind in this thread and writes each
    run's stored files to ``out/<kind>/``.

    Returns
    -------
    dict
        Per kind: ``run_id``, ``status``, ``headline`` (one line) and ``folder``.
    """
    import io
    import zipfile

    from scenarios.compare import headline, run_numbers

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
            zf.write(path, str(path.relative_to(folder)))
    store = Store.open(f"sqlite:///{(out / 'scenarios.db').resolve()}")
    try:
        service = ScenarioService(store, RunnerRegistry.default(), out / ".datasets")
        ds, _ = service.create_dataset(buf.getvalue(), district.name, "demo")
        sc = store.find_scenario("today") or service.create_scenario(
            name="today", dataset_id=ds.id, actor="demo"
        )
        results: dict[str, dict[str, Any]] = {}
        for kind in kinds:
            req = RunRequest(kind=kind, time_limit=time_limit, seed=seed)
            run = service.run_sync(sc.id, req, "demo")
            target = out / kind
            target.mkdir(parents=True, exist_ok=True)
            metrics = None
            for f in store.run_files(run.id):
                found = store.run_file(run.id, f.name)
                if found is not None:
                    (target / f.name).write_bytes(found[1])
                    if f.name == METRICS_FILE:
                        metrics = json.loads(found[1])
            if run.status == "done":
                head = headline(run_numbers(run, metrics))
                text = ", ".join(f"{k} {v:,.4g}" for k, v in head.items() if v is not None)
            else:
                text = f"{run.status}: {run.error}"
            results[kind] = {
                "run_id": run.id,
                "status": run.status,
                "headline": text,
                "folder": str(target),
            }
        return results
    finally:
        store.close()
