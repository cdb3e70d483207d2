"""CatchmentPlan outputs on a tiny fixture whose numbers are written out by hand.

``tiny``: six 1 km square units in a 3 × 2 grid, two primary schools::

    U4 (36)  U5 (48)  U6 (72) ← B (150 seats) at U6's centre
    U1 (60)  U2 (30)  U3 (24)
    ↑ A (130 seats) at U1's centre

Today U1, U2, U4, U5 go to A (174 pupils, 44 over) and U3, U6 to B. The hand plan ``PLAN``
moves U5 to B: A 126 pupils, B 144, no overflow; travel 30·1000 + 24·1000 + 36·1000 + 48·1000 =
138,000 pupil-metres; 48 moved pupils; objective 138,000 + 300 × 48 = 152,400.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from planner.model import SCHOOL_COLUMNS, UNIT_COLUMNS, District
from planner.policy import Policy
from solvers.catchment.plan import CatchmentPlan, level_kpis
from solvers.catchment.types import CatchmentSettings, LevelSolution

X0, Y0 = 500_000.0, 3_400_000.0  # UTM 50N, somewhere in Jiangxi
PUPILS = {"U1": 60, "U2": 30, "U3": 24, "U4": 36, "U5": 48, "U6": 72}
CURRENT = {"U1": "A", "U2": "A", "U3": "B", "U4": "A", "U5": "A", "U6": "B"}
#: The hand plan (school positions: A = 0, B = 1).
PLAN = np.array([0, 0, 1, 0, 1, 1])


def tiny_district(
    *,
    pupils: dict[str, int] | None = None,
    current: dict[str, str] | None = None,
    locked: tuple[str, ...] = (),
    extra_schools: list[dict[str, object]] | None = None,
    junior: bool = False,
    travel: pd.DataFrame | None = None,
) -> District:
    """The ``tiny`` district (see the module docstring); keyword arguments derive variants."""
    pupils = pupils or PUPILS
    current = current or CURRENT
    schools = [
        {
            "school_id": "A",
            "level": "primary",
            "x": X0 + 500,
            "y": Y0 + 500,
            "capacity_primary": 130,
        },
        {
            "school_id": "B",
            "level": "primary",
            "x": X0 + 2500,
            "y": Y0 + 1500,
            "capacity_primary": 150,
        },
    ]
    if junior:
        schools.append(
            {
                "school_id": "J",
                "level": "junior",
                "x": X0 + 1500,
                "y": Y0 + 1000,
                "capacity_junior": 100,
            }
        )
    schools += extra_schools or []
    sdf = pd.DataFrame(schools)
    for c in SCHOOL_COLUMNS:
        if c.name not in sdf:
            sdf[c.name] = c.default
        elif isinstance(c.default, str):
            sdf[c.name] = sdf[c.name].fillna(c.default)
    sdf[["capacity_primary", "capacity_junior"]] = sdf[
        ["capacity_primary", "capacity_junior"]
    ].astype(float)
    sdf = sdf[[c.name for c in SCHOOL_COLUMNS]]
    rows, geoms = [], []
    for k, uid in enumerate(PUPILS):
        i, j = k % 3, k // 3
        p = pupils[uid]
        row: dict[str, object] = {
            "unit_id": uid,
            "x": X0 + 1000 * i + 500,
            "y": Y0 + 1000 * j + 500,
            "pupils_primary": p,
            "current_primary": current[uid],
            "locked": uid in locked,
        }
        for g in range(1, 7):
            row[f"g{g}"] = p // 6
        if junior:  # 9 junior pupils per unit, 3 per grade; all go to J today
            row.update({"pupils_junior": 9, "g7": 3, "g8": 3, "g9": 3, "current_junior": "J"})
        rows.append(row)
        geoms.append(box(X0 + 1000 * i, Y0 + 1000 * j, X0 + 1000 * (i + 1), Y0 + 1000 * (j + 1)))
    udf = pd.DataFrame(rows)
    for c in UNIT_COLUMNS:
        if c.name not in udf:
            udf[c.name] = c.default
    udf = udf[[c.name for c in UNIT_COLUMNS]]
    units = gpd.GeoDataFrame(udf, geometry=geoms, crs="EPSG:32650")
    return District(
        name="tiny", crs="EPSG:32650", policy=Policy(), schools=sdf, units=units, travel=travel
    )


def solution(
    assign: np.ndarray, level: str = "primary", objective: float = 152_400.0
) -> LevelSolution:
    """A LevelSolution as a solver would return it (proved optimal)."""
    return LevelSolution(
        level=level,  # type: ignore[arg-type]
        assign=np.asarray(assign, dtype=np.int64),
        status="optimal",
        objective=objective,
        bound=objective,
        solve_seconds=0.25,
        first_feasible_seconds=0.1,
        solver="cpsat",
    )


SETTINGS = CatchmentSettings(level="primary", seed=7)


@pytest.fixture
def tiny_plan() -> CatchmentPlan:
    return CatchmentPlan.from_solutions(tiny_district(), SETTINGS, {"primary": solution(PLAN)})


def test_summary_terms_are_hand_computed(tiny_plan: CatchmentPlan) -> None:
    s = tiny_plan.summary
    assert s["status"] == "optimal"
    assert s["travel_cost"] == 138_000.0
    assert s["overflow_pupils"] == 0.0
    assert s["moved_pupils"] == 48.0
    assert s["balance_excess"] == 0.0
    assert s["objective"] == 152_400.0
    assert s["weighted_terms"] == {
        "overflow": 0.0,
        "travel": 138_000.0,
        "moved": 14_400.0,
        "balance": 0.0,
    }
    assert s["gap"] == 0.0
    assert s["seed"] == 7 and s["solver"] == "cpsat"
    assert s["first_feasible_seconds"] == 0.1
    assert s["levels"]["primary"]["objective"] == 152_400.0
    assert s["levels"]["primary"]["pupils"] == 270
    assert s["warnings"] == []
    json.dumps(s)  # JSON-ready


def test_status_quo_overflows_and_solver_mismatch_is_warned() -> None:
    today = np.array([0, 0, 1, 0, 0, 1])
    plan = CatchmentPlan.from_solutions(
        tiny_district(), SETTINGS, {"primary": solution(today, objective=1.0)}
    )
    s = plan.summary
    # A: 60+30+36+48 = 174 of 130 seats; B: 24+72 = 96 of 150
    assert s["overflow_pupils"] == 44.0
    assert s["moved_pupils"] == 0.0
    # travel: U2, U3, U4 1000 m each; U5 → A is √2 km
    assert s["travel_cost"] == pytest.approx(90_000 + 48 * 1000 * np.sqrt(2), rel=1e-15)
    assert s["objective"] == pytest.approx(44_000_000 + s["travel_cost"], rel=1e-15)
    assert any("solver reported objective" in w for w in s["warnings"])


def test_phase_in_moves_only_grade_one() -> None:
    settings = SETTINGS.model_copy(update={"phase_in": True})
    k = level_kpis(tiny_district(), settings, "primary", PLAN)
    # U5 has 8 pupils in grade 1: only they move to B; the other 40 stay at A
    assert k["moved_pupils"] == 8.0
    assert k["movable_pupils"] == 270 // 6
    assert k["overflow_pupils"] == 44.0 - 8.0
    assert k["travel_cost"] == pytest.approx(90_000 + 8 * 1000 + 40 * 1000 * np.sqrt(2), rel=1e-15)


def test_written_tables_exact(tiny_plan: CatchmentPlan, tmp_path: Path) -> None:
    paths = tiny_plan.write(tmp_path)
    assert sorted(p.name for p in paths) == sorted(
        [
            "assignment.csv",
            "schools.csv",
            "diff.csv",
            "summary.json",
            "catchments.geojson",
            "map.png",
        ]
    )
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp dir left
    assert (tmp_path / "assignment.csv").read_text() == (
        "unit_id,level,school_id\n"
        "U1,primary,A\nU2,primary,A\nU3,primary,B\nU4,primary,A\nU5,primary,B\nU6,primary,B\n"
    )
    assert (tmp_path / "diff.csv").read_text() == (
        "unit_id,level,from_school,to_school,pupils\nU5,primary,A,B,48\n"
    )
    assert (tmp_path / "schools.csv").read_text() == (
        "school_id,level,status,pupils,seats,overflow,classes,utilisation\n"
        "A,primary,open,126,130,0,6,0.969231\n"
        "B,primary,open,144,150,0,6,0.96\n"
    )
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["objective"] == 152_400.0
    assert summary["settings"]["seed"] == 7
    gj = json.loads((tmp_path / "catchments.geojson").read_text())
    assert len(gj["features"]) == 2
    lon, lat = gj["features"][0]["geometry"]["coordinates"][0][0][:2]
    assert 116 < lon < 118 and 30 < lat < 31  # WGS84 (RFC 7946)


def test_classes_count_per_grade() -> None:
    # 46 grade-1 pupils at A need two classes of ≤45
    pupils = {**PUPILS, "U1": 276}  # 46 per grade
    plan = CatchmentPlan.from_solutions(
        tiny_district(pupils=pupils), SETTINGS, {"primary": solution(PLAN)}
    )
    t = plan.school_table().set_index("school_id")
    assert t.at["A", "pupils"] == 276 + 30 + 36
    assert t.at["A", "classes"] == 6 * 2  # 46+5+6 = 57 per grade → 2 classes each


def test_write_is_atomic_on_failure(
    tiny_plan: CatchmentPlan, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(CatchmentPlan, "_write_geometry", boom)
    with pytest.raises(RuntimeError):
        tiny_plan.write(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_wrong_assign_shape_is_refused() -> None:
    with pytest.raises(ValueError, match="expected \\(6,\\)"):
        CatchmentPlan.from_solutions(tiny_district(), SETTINGS, {"primary": solution(PLAN[:3])})


def test_full_seats_can_still_pack_a_large_class() -> None:
    """A at 126 of 130 seats (no overflow), but grade 1 there has 50 + 5 + 6 = 61 pupils.

    130 seats = 3 rooms of 45; every grade with pupils still gets one room, so grade 1 is one
    class of 61: a 大班额 (56–65). The summary says so and warns, although no school overflows.
    """
    d = tiny_district()
    units = d.units.copy()
    units.loc[units["unit_id"] == "U1", ["g1", "g2", "g3", "g4", "g5", "g6"]] = [50, 2, 2, 2, 2, 2]
    plan = CatchmentPlan.from_solutions(
        d.with_tables(units=units), SETTINGS, {"primary": solution(PLAN)}
    )
    s = plan.summary
    assert s["overflow_pupils"] == 0
    c = s["levels"]["primary"]["classes"]
    assert (c["over_cap"], c["large"], c["super_large"], c["largest"]) == (1, 1, 0, 61)
    assert any("1 大班额 56–65" in w for w in s["warnings"])
    assert s["school_size"] == {"violations": 0, "schools": []}
