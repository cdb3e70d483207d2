"""Fast fake solvers and a tiny district, shared by scenario and API tests.

A fake runner follows the real solver contract (``solve(district, settings, progress, stop)``
returning a result with ``summary`` and ``write(out_dir)``) and writes files shaped like the
CLI's, so everything above the solver is exercised for real.
"""

from __future__ import annotations

import csv
import io
import json
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from planner.errors import InfeasiblePlan, NoPlanFound
from planner.model import District
from scenarios.runs.runners import RunnerRegistry
from solvers.progress import Cancelled, ProgressEvent, ProgressFn

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 16


class FakeSettings(BaseModel):
    """Settings of the fake solver."""

    model_config = ConfigDict(extra="forbid")

    time_limit: float = 5.0
    seed: int = 0
    steps: int = 3
    step_seconds: float = 0.01
    fail: Literal["none", "infeasible", "no_plan", "crash", "cancelled"] = "none"
    block: bool = False


@dataclass
class FakeResult:
    """A result with CLI-shaped files."""

    kind: str
    district: District
    seed: int
    summary: dict[str, Any] = field(default_factory=dict)

    def rows(self) -> list[tuple[str, str, str]]:
        out = []
        for level in ("primary", "junior"):
            schools = list(self.district.schools["school_id"][self.district.serves(level)])
            for i, unit in enumerate(self.district.units["unit_id"]):
                out.append((unit, level, schools[(i + self.seed) % len(schools)]))
        return out

    def write(self, out_dir: Path) -> list[Path]:
        out_dir.mkdir(parents=True, exist_ok=True)
        paths = []
        if self.kind == "rotation":
            teachers = self.district.teachers
            assert teachers is not None
            with open(out_dir / "rotation.csv", "w", newline="", encoding="utf-8") as fh:
                w = csv.writer(fh)
                w.writerow(["teacher_id", "from_school", "to_school", "reason"])
                for t in teachers.head(3).itertuples():
                    w.writerow([t.teacher_id, t.school_id, "S001", "years at school ≥ 6"])
            (out_dir / "rotation.xlsx").write_bytes(b"PK\x03\x04fake-xlsx")
            paths += [out_dir / "rotation.csv", out_dir / "rotation.xlsx"]
        else:
            with open(out_dir / "assignment.csv", "w", newline="", encoding="utf-8") as fh:
                w = csv.writer(fh)
                w.writerow(["unit_id", "level", "school_id"])
                w.writerows(self.rows())
            (out_dir / "catchments.geojson").write_text(
                json.dumps({"type": "FeatureCollection", "features": []})
            )
            (out_dir / "map.png").write_bytes(PNG)
            paths += [out_dir / n for n in ("assignment.csv", "catchments.geojson", "map.png")]
        (out_dir / "summary.json").write_text(json.dumps(self.summary))
        return [*paths, out_dir / "summary.json"]


class FakeRunner:
    """A solver that takes ``steps × step_seconds``, reports progress and honours ``stop``.

    ``block=True`` makes it wait on :attr:`gate` *ignoring* stop, like a solver stuck in a long
    native call: the restart test uses it to leave a run "running" when the app goes away.
    """

    def __init__(self, kind: str, personal: bool = False) -> None:
        self.kind = kind
        self.personal = personal
        self.gate = threading.Event()
        self.started = threading.Event()
        self.calls = 0

    def settings_model(self) -> type[BaseModel]:
        return FakeSettings

    def solve(
        self,
        district: District,
        settings: BaseModel,
        progress: ProgressFn | None,
        stop: threading.Event | None,
    ) -> FakeResult:
        assert isinstance(settings, FakeSettings)
        self.calls += 1
        self.started.set()
        t0 = time.monotonic()
        if settings.block:
            self.gate.wait(30)
        best = None
        for i in range(settings.steps):
            if stop is not None and stop.is_set():
                break
            best = 1000.0 - i
            if progress:
                progress(ProgressEvent(elapsed=time.monotonic() - t0, objective=best, bound=900.0))
            time.sleep(settings.step_seconds)
        if settings.fail == "infeasible":
            raise InfeasiblePlan(["primary: 1,200 pupils but only 1,000 seats within reach"])
        if settings.fail == "no_plan":
            raise NoPlanFound(["no solution within the time limit (5.0 s of 5 s); raise it"])
        if settings.fail == "crash":
            raise RuntimeError("secret internal detail")
        if settings.fail == "cancelled" or best is None:
            raise Cancelled("no plan yet")
        pupils = int(district.pupils("primary").sum())
        summary = {
            "kind": self.kind,
            "seed": settings.seed,
            "status": "feasible" if stop is not None and stop.is_set() else "optimal",
            "primary": {"travel_mean_m": 1000.0 + settings.seed, "overflow": 0, "pupils": pupils},
            "moved_pupils": 3 * settings.seed,
            "schools": len(district.schools),
        }
        return FakeResult(self.kind, district, settings.seed, summary)


def fake_registry() -> RunnerRegistry:
    """catchment, layout and rotation kinds, all fake."""
    return RunnerRegistry(
        [FakeRunner("catchment"), FakeRunner("layout"), FakeRunner("rotation", personal=True)]
    )


def zip_folder(folder: Path, prefix: str = "", reverse: bool = False) -> bytes:
    """Zip a folder (optionally under a top-level folder, files in reverse order)."""
    buf = io.BytesIO()
    files = sorted((p for p in folder.rglob("*") if p.is_file()), reverse=reverse)
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in files:
            zf.write(p, prefix + str(p.relative_to(folder)))
    return buf.getvalue()


def make_tiny_folder(out: Path, seed: int = 1) -> Path:
    """A generated 50-unit county (9 schools, 60 teachers) written as a district folder."""
    from planner.generate import make_district
    from planner.writer import write_district

    d = make_district(units=50, primary_schools=4, secondary_schools=2, teachers=60, seed=seed)
    write_district(d, out)
    return out
