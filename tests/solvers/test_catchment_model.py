"""The catchment model and its solvers on tiny named fixtures with hand-computed optima.

Layout of the base fixture ``two_schools`` (primary, straight-line metres)::

    A (x=0, 100 seats)   U1 (x=0, 100 pupils)   U2 (x=1000, 100 pupils)   B (x=3000, 500 seats)

Both units are nearest to A, but A holds only one of them; sending U2 (2000 m from B) costs
less than sending U1 (3000 m): optimum U1→A, U2→B, travel 100 × 2000 = 200,000.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from planner.errors import InfeasiblePlan
from planner.model import SCHOOL_COLUMNS, UNIT_COLUMNS, District
from planner.policy import Policy
from solvers.catchment import (
    CatchmentSettings,
    LevelSolution,
    build_problem,
    evaluate,
    solve_level,
    solve_levels,
)
from solvers.catchment.lp import hard_violations

SOLVERS = ("cpsat", "highs")


def tiny_district(
    schools: list[dict[str, Any]],
    units: list[dict[str, Any]],
    travel: list[tuple[str, str, float]] | None = None,
    adjacency: list[tuple[str, str]] | None = None,
) -> District:
    """A District from short dicts; every other column takes its documented default."""
    sc = pd.DataFrame([{c.name: s.get(c.name, c.default) for c in SCHOOL_COLUMNS} for s in schools])
    rows = []
    for u in units:
        row = {c.name: u.get(c.name, c.default) for c in UNIT_COLUMNS}
        row["pupils_junior"] = u.get("pupils_junior", 0)
        rows.append(row)
    un = pd.DataFrame(rows)
    geom = shapely.points(un[["x", "y"]].to_numpy(dtype=float))
    return District(
        name="tiny",
        crs="EPSG:32650",
        policy=Policy(),
        schools=sc,
        units=gpd.GeoDataFrame(un, geometry=geom, crs="EPSG:32650"),
        travel=None
        if travel is None
        else pd.DataFrame(travel, columns=["unit_id", "school_id", "cost"]),
        adjacency=None
        if adjacency is None
        else pd.DataFrame(adjacency, columns=["unit_a", "unit_b"]),
    )


def school(sid: str, x: float, seats: float, **kw: Any) -> dict[str, Any]:
    return {"school_id": sid, "level": "primary", "x": x, "y": 0.0, "capacity_primary": seats, **kw}


def unit(uid: str, x: float, pupils: int, **kw: Any) -> dict[str, Any]:
    return {"unit_id": uid, "x": x, "y": 0.0, "pupils_primary": pupils, **kw}


def two_schools(seats_a: float = 100, **unit_kw: Any) -> District:
    return tiny_district(
        [school("A", 0, seats_a), school("B", 3000, 500)],
        [unit("U1", 0, 100, **unit_kw), unit("U2", 1000, 100, **unit_kw)],
    )


def settings(**kw: Any) -> CatchmentSettings:
    base: dict[str, Any] = {"level": "primary", "contiguity": "none", "time_limit": 10}
    return CatchmentSettings(**(base | kw))


def solve(d: District, **kw: Any) -> LevelSolution:
    s = settings(**kw)
    pb = build_problem(d, "primary", s)
    sol = solve_level(pb, s)
    assert not hard_violations(pb, sol.assign)
    ev = evaluate(pb, sol.assign, s.weights, s.balance_delta)
    assert ev.terms == pytest.approx(sol.terms)
    return sol


def plan(d: District, sol: LevelSolution) -> dict[str, str]:
    ids = d.schools["school_id"].to_numpy()
    return {u: ids[s] for u, s in zip(d.units["unit_id"], sol.assign, strict=True)}


# -- soft capacity ----------------------------------------------------------------------------


@pytest.mark.parametrize("solver", SOLVERS)
def test_full_school_sends_the_cheaper_unit_farther(solver: str) -> None:
    d = two_schools()
    sol = solve(d, solver=solver)
    assert plan(d, sol) == {"U1": "A", "U2": "B"}
    assert sol.status == "optimal"
    assert sol.terms["travel_cost"] == pytest.approx(200_000)
    assert sol.terms["overflow_pupils"] == 0
    assert sol.objective == pytest.approx(200_000)
    assert sol.bound == pytest.approx(200_000, rel=1e-6)


@pytest.mark.parametrize("solver", SOLVERS)
def test_room_for_both_keeps_both_near(solver: str) -> None:
    sol = solve(two_schools(seats_a=200), solver=solver)
    assert sol.terms["travel_cost"] == pytest.approx(100_000)  # U2 travels 1000 m to A


@pytest.mark.parametrize("solver", SOLVERS)
def test_oversubscribed_county_reports_exact_overflow(solver: str) -> None:
    d = tiny_district([school("A", 0, 120)], [unit("U1", 0, 100), unit("U2", 1000, 100)])
    sol = solve(d, solver=solver)
    assert sol.terms["overflow_pupils"] == 80
    assert list(sol.info["overflow_by_school"]) == [80]
    assert sol.objective == pytest.approx(80 * 1_000_000 + 100_000)
    assert any(w.startswith("seats short by 80 in the area around A") for w in sol.info["warnings"])


# -- hard rules: feasible / infeasible pairs ---------------------------------------------------


@pytest.mark.parametrize("solver", SOLVERS)
def test_locked_unit_keeps_its_school(solver: str) -> None:
    d = two_schools(current_primary="A")
    d = d.with_tables(units=d.units.assign(locked=[False, True]))
    sol = solve(d, solver=solver)
    # U2 is locked to A, so U1 must go to B: 100×1000 + 100×3000; U1 moved away from A.
    assert plan(d, sol) == {"U1": "B", "U2": "A"}
    assert sol.terms["travel_cost"] == pytest.approx(400_000)
    assert sol.terms["moved_pupils"] == 100


def test_locked_to_closed_school_is_infeasible() -> None:
    d = tiny_district(
        [school("A", 0, 100, status="closed"), school("B", 3000, 500)],
        [unit("U1", 0, 100, current_primary="A", locked=True)],
    )
    with pytest.raises(InfeasiblePlan) as e:
        solve(d)
    assert e.value.reasons == ["unit U1 is locked to A, which is closed"]


def test_closed_and_candidate_schools_take_no_one() -> None:
    d = tiny_district(
        [
            school("A", 0, 100, status="closed"),
            school("C", 0, 100, status="candidate"),
            school("B", 3000, 500),
        ],
        [unit("U1", 0, 100)],
    )
    assert plan(d, solve(d)) == {"U1": "B"}
    d2 = d.with_tables(schools=d.schools[d.schools.school_id != "B"].reset_index(drop=True))
    with pytest.raises(InfeasiblePlan):
        solve(d2)


def test_max_travel_feasible_and_infeasible() -> None:
    d = two_schools(seats_a=200)
    assert solve(d, max_travel=1500).terms["travel_cost"] == pytest.approx(100_000)
    far = tiny_district([school("A", 0, 100)], [unit("U1", 0, 10), unit("U3", 10_000, 40)])
    with pytest.raises(InfeasiblePlan) as e:
        solve(far, max_travel=1500)
    assert e.value.reasons == [
        "unit U3 (40 primary pupils) has no allowed primary school: no open school teaching it "
        "within the travel rules"
    ]


def test_alpha_limits_to_today_travel() -> None:
    # Today U1 goes to B (3000 m); A is 0 m away. alpha=0 still allows A (nearer), and
    # forbids C at 3500 m (> 1.0 × 3000).
    d = tiny_district(
        [school("A", 0, 0), school("B", 3000, 500), school("C", -3500, 500)],
        [unit("U1", 0, 10, current_primary="B")],
    )
    pb = build_problem(d, "primary", settings(alpha=0.0))
    assert sorted(pb.pair_school.tolist()) == [0, 1]


@pytest.mark.parametrize("solver", SOLVERS)
def test_max_moved_share_respected(solver: str) -> None:
    # Four units of 10 pupils at x=0 go today to B (5000 m); A at x=0 has room for all.
    units = [unit(f"U{i}", 0, 10, current_primary="B") for i in range(4)]
    d = tiny_district([school("A", 0, 100), school("B", 5000, 100)], units)
    assert solve(d, solver=solver).terms["moved_pupils"] == 40
    assert solve(d, solver=solver, max_moved_share=0.5).terms["moved_pupils"] == 20
    assert solve(d, solver=solver, max_moved_share=0.2).terms["moved_pupils"] == 0


def test_max_moved_share_infeasible_when_a_school_closes() -> None:
    units = [unit(f"U{i}", 0, 10, current_primary="B") for i in range(4)]
    d = tiny_district([school("A", 0, 100), school("B", 5000, 100, status="closed")], units)
    with pytest.raises(InfeasiblePlan) as e:
        solve(d, max_moved_share=0.5)
    assert e.value.reasons == [
        "at least 40 primary pupils must leave today's school (closed, not teaching primary, "
        "or not allowed by the travel or contiguity rules) but max_moved_share allows only 20"
    ]


@pytest.mark.parametrize("solver", SOLVERS)
def test_phase_in_keeps_enrolled_pupils(solver: str) -> None:
    # U1: 100 pupils at A (90 seats), 20 of them entering grade 1. Enrolled 80 stay at A; A has
    # 10 seats left, so the 20 entrants go to B (20 × 3000 m) rather than overflow.
    d = tiny_district(
        [school("A", 0, 90), school("B", 3000, 500)],
        [unit("U1", 0, 100, g1=20, g2=80, current_primary="A")],
    )
    sol = solve(d, solver=solver, phase_in=True)
    assert plan(d, sol) == {"U1": "B"}
    assert list(sol.info["load_by_school"]) == [80, 20]
    assert sol.terms["moved_pupils"] == 20
    assert sol.terms["overflow_pupils"] == 0
    assert sol.terms["travel_cost"] == pytest.approx(60_000)
    # Without phase-in all 100 move to B.
    assert solve(d, solver=solver).terms["moved_pupils"] == 100


@pytest.mark.parametrize("solver", SOLVERS)
def test_balance_excess_term(solver: str) -> None:
    # County migrant share 0.5; A gets share 1.0, B 0.0: each deviates 50 pupils, minus δ×100.
    d = tiny_district(
        [school("A", 0, 100), school("B", 3000, 100)],
        [unit("U1", 0, 100, migrant_pupils=100), unit("U2", 3000, 100)],
    )
    sol = solve(d, solver=solver, balance_delta=0.1)
    assert sol.terms["balance_excess"] == pytest.approx(80)
    assert sol.objective == pytest.approx(80 * 1000)


def test_solvers_agree_and_same_seed_same_plan() -> None:
    from planner.generate import make_district

    d = make_district(units=120, primary_schools=6, secondary_schools=3, teachers=50, seed=3)
    s = dict(time_limit=20, contiguity="closer_neighbour", level="all")
    a = solve_levels(d, CatchmentSettings(solver="cpsat", **s))
    b = solve_levels(d, CatchmentSettings(solver="cpsat", **s))
    h = solve_levels(d, CatchmentSettings(solver="highs", **s))
    for lvl in a:
        assert np.array_equal(a[lvl].assign, b[lvl].assign)
        if a[lvl].status == h[lvl].status == "optimal":
            assert a[lvl].objective == pytest.approx(h[lvl].objective, rel=1e-6)


def test_progress_is_reported() -> None:
    from solvers.progress import ProgressEvent

    events: list[ProgressEvent] = []
    s = settings()
    solve_level(build_problem(two_schools(), "primary", s), s, progress=events.append)
    assert events[0].message == "start"
    assert events[-1].message == "done"
    assert events[-1].objective == pytest.approx(200_000)


# -- the solver-free floor of the reported bound -------------------------------------------------


def test_floor_bound_is_exact_with_room_and_counts_the_shortage() -> None:
    from solvers.catchment.solve import floor_bound

    s = settings()
    # room for both at A: each unit at its nearest school is the optimum (U2: 1000 m × 100)
    pb = build_problem(two_schools(seats_a=200), "primary", s)
    assert floor_bound(pb, s.weights) == pytest.approx(100_000)
    # A full (100 seats): the floor ignores where seats are, so it stays at 100,000 < 200,000
    pb = build_problem(two_schools(), "primary", s)
    assert floor_bound(pb, s.weights) == pytest.approx(100_000)
    # one school, 120 seats for 200 pupils: 80 pupils must overflow, as in the optimum
    d = tiny_district([school("A", 0, 120)], [unit("U1", 0, 100), unit("U2", 1000, 100)])
    pb = build_problem(d, "primary", s)
    assert floor_bound(pb, s.weights) == pytest.approx(80 * 1_000_000 + 100_000)
    assert solve(d).bound >= floor_bound(pb, s.weights) - 1e-6
