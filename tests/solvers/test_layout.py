"""Layout model: tiny instances with hand-computed optima, published optima, determinism."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from planner.errors import InfeasiblePlan
from planner.model import SCHOOL_COLUMNS, UNIT_COLUMNS, District
from planner.policy import Policy
from solvers.benchdata import FacilityInstance, load_instance
from solvers.layout import FacilityProblem, FacilitySettings, evaluate, solve_facility
from solvers.layout.district import LayoutSettings, solve_layout


def instance(cost: list[list[float]], **kw: object) -> FacilityInstance:
    """A facilities × customers instance with unit demand, uncapacitated, free by default."""
    c = np.array(cost, dtype=float)
    m, n = c.shape
    base: dict[str, object] = dict(
        name="tiny",
        kind="test",
        cost=c,
        demand=np.ones(n),
        capacity=np.full(m, np.inf),
        fixed_cost=np.zeros(m),
    )
    base.update(kw)
    return FacilityInstance(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize("solver", ["highs", "cpsat"])
def test_open_one_of_two_sites(solver: str) -> None:
    # customers at 0, 1, 10; sites at 0 and 10, 20 to open each.
    # both: 40 + 1 = 41; site 0: 20 + 0 + 1 + 10 = 31; site 10: 20 + 10 + 9 + 0 = 39.
    inst = instance([[0, 1, 10], [10, 9, 0]], fixed_cost=np.array([20.0, 20.0]))
    pb = FacilityProblem.from_instance(inst)
    sol = solve_facility(pb, FacilitySettings(solver=solver, time_limit=10))  # type: ignore[arg-type]
    assert sol.status == "optimal"
    assert sol.objective == pytest.approx(31.0)
    assert sol.open.tolist() == [True, False]
    assert evaluate(pb, sol.open, sol.modules, sol.assign)[1] == []


def test_capacity_of_the_p_largest_is_explained() -> None:
    # p = 2 sites of 10 seats each against 25 pupils
    inst = instance(
        [[1, 1, 1], [2, 2, 2], [3, 3, 3]],
        demand=np.array([10.0, 10.0, 5.0]),
        capacity=np.array([10.0, 10.0, 8.0]),
        p=2,
    )
    with pytest.raises(InfeasiblePlan) as err:
        solve_facility(FacilityProblem.from_instance(inst))
    assert "the 2 largest capacities (with all modules) sum to 20 < total demand 25" in str(
        err.value
    )


def test_sparsified_relaxation_grows_until_proven(shared_benchmarks) -> None:  # type: ignore[no-untyped-def]
    """k = 2 pairs per customer is far too few: fallbacks are used, pairs grow, optimum proven."""
    pb = FacilityProblem.from_instance(load_instance(shared_benchmarks / "orlib_pmed", "pmed1"))
    sol = solve_facility(
        pb, FacilitySettings(sparsify_above=0, k_nearest=2, lagrangian=False, time_limit=60)
    )
    assert sol.status == "optimal"
    assert sol.objective == 5819
    assert int(sol.info["rounds"]) >= 2  # type: ignore[call-overload]


@pytest.mark.parametrize(
    ("set_name", "name", "optimum"),
    [
        ("orlib_pmed", "pmed1", 5819),
        ("cpmp_osman_christofides", "pmedcap01", 713),
        ("sscflp_holmberg", "p1", 8848),
    ],
)
def test_published_optimum(shared_benchmarks, set_name: str, name: str, optimum: float) -> None:  # type: ignore[no-untyped-def]
    inst = load_instance(shared_benchmarks / set_name, name)
    sol = solve_facility(FacilityProblem.from_instance(inst), FacilitySettings(time_limit=60))
    assert sol.status == "optimal"
    assert sol.objective == pytest.approx(optimum)
    assert inst.objective(sol.open, sol.assign) == pytest.approx(optimum)
    assert sol.bound == pytest.approx(optimum)


# -- district layout ------------------------------------------------------------------------------
def district(
    schools: list[dict[str, object]], units: list[dict[str, object]], name: str = "t"
) -> District:
    """A district from a few columns per row; every other column takes its default."""
    sch = pd.DataFrame(
        {c.name: [r.get(c.name, c.default) for r in schools] for c in SCHOOL_COLUMNS}
    )
    un = pd.DataFrame({c.name: [r.get(c.name, c.default) for r in units] for c in UNIT_COLUMNS})
    gdf = gpd.GeoDataFrame(
        un, geometry=[Point(x, y) for x, y in zip(un["x"], un["y"], strict=True)], crs="EPSG:32650"
    )
    return District(name, "EPSG:32650", Policy(), sch, gdf)


def grow(open_cost: float) -> District:
    """S1 at 0 m: 2 classrooms (90 seats), up to 2 more at 50 each; candidate C1 at 2,000 m.

    U0 (90 pupils) lives at S1, U1 (30 pupils) at C1. With travel weight 0.01 per pupil-metre:
    expand S1 by one classroom = 50 + 30 × 2000 × 0.01 = 650; open C1 = open_cost.
    """
    return district(
        [
            {
                "school_id": "S1",
                "level": "primary",
                "x": 0.0,
                "y": 0.0,
                "classrooms_primary": 2,
                "status": "open",
                "max_extra_classrooms": 2,
                "cost_per_classroom": 50.0,
            },
            {
                "school_id": "C1",
                "level": "primary",
                "x": 2000.0,
                "y": 0.0,
                "classrooms_primary": 4,
                "status": "candidate",
                "open_cost": open_cost,
            },
        ],
        [
            {"unit_id": "U0", "x": 0.0, "y": 0.0, "pupils_primary": 90, "current_primary": "S1"},
            {"unit_id": "U1", "x": 2000.0, "y": 0.0, "pupils_primary": 30, "current_primary": "S1"},
        ],
    )


def actions(res) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return dict(zip(res.decisions["school_id"], res.decisions["action"], strict=True))


@pytest.mark.parametrize("solver", ["highs", "cpsat"])
def test_expand_rather_than_build(solver: str) -> None:
    res = solve_layout(
        grow(1000.0), LayoutSettings(travel_weight=0.01, solver=solver, time_limit=10)
    )  # type: ignore[arg-type]
    assert res.summary["status"] == "optimal"
    assert res.summary["objective"] == pytest.approx(650.0)
    assert actions(res) == {"S1": "expand", "C1": "none"}
    assert res.summary["expanded"] == {"S1": 1}
    assert res.summary["build_cost"] == pytest.approx(50.0)


def test_build_when_cheaper_than_travel() -> None:
    res = solve_layout(grow(500.0), LayoutSettings(travel_weight=0.01, time_limit=10))
    assert res.summary["objective"] == pytest.approx(500.0)
    assert actions(res) == {"S1": "keep", "C1": "open"}
    assert res.summary["opened"] == ["C1"]
    assert res.assignment["primary"].tolist() == [0, 1]


def test_budget_that_forces_overflow_is_reported() -> None:
    # budget 0: nothing can be built, 120 pupils in 90 seats → 30 over, all at S1
    res = solve_layout(grow(500.0), LayoutSettings(travel_weight=0.01, budget=0.0, time_limit=10))
    assert res.summary["overflow_seats"] == pytest.approx(30.0)
    assert res.summary["overflow_by_level"]["primary"] == pytest.approx(30.0)
    assert res.summary["objective"] == pytest.approx(30 * 1_000_000 + 600.0)
    assert actions(res) == {"S1": "keep", "C1": "none"}


def test_small_school_is_merged() -> None:
    # S2 has 20 pupils < 50: with closure allowed it closes and its pupils all go to S1
    d = district(
        [
            {
                "school_id": "S1",
                "level": "primary",
                "x": 0.0,
                "y": 0.0,
                "classrooms_primary": 10,
                "status": "open",
            },
            {
                "school_id": "S2",
                "level": "primary",
                "x": 1000.0,
                "y": 0.0,
                "classrooms_primary": 2,
                "status": "open",
            },
        ],
        [
            {"unit_id": "U0", "x": 0.0, "y": 0.0, "pupils_primary": 200, "current_primary": "S1"},
            {"unit_id": "U1", "x": 1000.0, "y": 0.0, "pupils_primary": 20, "current_primary": "S2"},
        ],
    )
    res = solve_layout(d, LayoutSettings(allow_closure=True, min_open_pupils=50, time_limit=10))
    assert res.summary["status"] == "optimal"
    assert res.summary["objective"] == pytest.approx(20 * 1000.0)
    assert res.decisions.set_index("school_id").loc["S2", ["action", "merged_into"]].tolist() == [
        "merge",
        "S1",
    ]
    assert res.summary["merged"] == {"S2": "S1"}
    # without closure S2 stays open and keeps its pupils
    keep = solve_layout(d, LayoutSettings(min_open_pupils=50, time_limit=10))
    assert actions(keep) == {"S1": "keep", "S2": "keep"}


def test_same_seed_same_plan(tmp_path) -> None:  # type: ignore[no-untyped-def]
    a = solve_layout(grow(650.0), LayoutSettings(travel_weight=0.01, seed=7, time_limit=10))
    b = solve_layout(grow(650.0), LayoutSettings(travel_weight=0.01, seed=7, time_limit=10))
    assert a.decisions.equals(b.decisions)
    assert all((a.assignment[k] == b.assignment[k]).all() for k in a.assignment)
    files = {p.name for p in a.write(tmp_path)}
    assert {"decisions.csv", "summary.json"} <= files
    dec = pd.read_csv(tmp_path / "decisions.csv")
    assert list(dec.columns[:5]) == ["school_id", "action", "open", "classrooms_added", "cost"]


# -- starts, Lagrangian reductions and the HiGHS guard ------------------------------------------
def test_regret_assignment_respects_capacity() -> None:
    from solvers.layout.heuristics import improve_assignment, regret_assign

    # two facilities of 2 seats; customer 2 is cheap at 0 but 0 fills up with 0 and 1
    c = np.array([[1.0, 1.0, 2.0], [5.0, 4.0, 9.0]])
    w = np.ones((2, 3))
    cap = np.array([2.0, 2.0])
    a = improve_assignment(c, w, cap, regret_assign(c, w, cap))
    assert np.bincount(a, minlength=2).max() <= 2
    # best: 2 stays at 0 (saves 7), one of 0/1 moves: 1 to facility 1 (+3)
    assert c[a, np.arange(3)].sum() == pytest.approx(1 + 4 + 2)


def test_capacitated_start_is_feasible_and_close(shared_benchmarks) -> None:  # type: ignore[no-untyped-def]
    from solvers.layout.heuristics import capacitated_local_search

    pb = FacilityProblem.from_instance(
        load_instance(shared_benchmarks / "cpmp_osman_christofides", "pmedcap08")
    )
    res = capacitated_local_search(pb, time_limit=5)
    assert res is not None
    open_, assign = res
    terms, bad = evaluate(pb, open_, np.zeros((pb.n_facilities, 1), np.int64), assign)
    assert bad == []
    assert 820 <= terms["objective"] <= 820 * 1.05  # published optimum 820


def test_reduced_pmedian_is_proven(shared_benchmarks) -> None:  # type: ignore[no-untyped-def]
    """pmed4: pair elimination leaves a model on which HiGHS's presolve misreported 3022."""
    pb = FacilityProblem.from_instance(load_instance(shared_benchmarks / "orlib_pmed", "pmed4"))
    sol = solve_facility(pb, FacilitySettings(time_limit=60))
    assert int(sol.info["eliminated_pairs"]) > 0  # type: ignore[call-overload]
    assert sol.status == "optimal"
    assert sol.objective == 3034
    assert sol.bound == 3034


def test_knapsack_lagrangian_bound_is_valid(shared_benchmarks) -> None:  # type: ignore[no-untyped-def]
    from solvers.layout.lagrangian import knapsack_applies, lagrangian_knapsack

    pb = FacilityProblem.from_instance(
        load_instance(shared_benchmarks / "cpmp_osman_christofides", "pmedcap01")
    )
    assert knapsack_applies(pb)
    lag = lagrangian_knapsack(pb, 713.0, integral=True, time_limit=5)
    assert 690 <= lag.bound <= 713  # LP bound of the strong form ≈ 705
    assert lag.dropped is not None and lag.dropped.any()
    sol = solve_facility(pb, FacilitySettings(time_limit=60, lagrangian_knapsack=True))
    assert sol.status == "optimal"
    assert sol.objective == 713


def test_no_plan_in_time_is_not_called_infeasible(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A search the clock stopped before any plan says so, and names no impossible rule."""
    import solvers.layout.district as dmod
    from planner.errors import NoPlanFound
    from solvers.layout.solve import _empty

    def timed_out(pb, settings, progress=None, stop=None):  # type: ignore[no-untyped-def]
        return _empty(pb, settings, {"note": "no solution within the time limit"}, 0.0)

    monkeypatch.setattr(dmod, "solve_facility", timed_out)
    with pytest.raises(NoPlanFound, match="no solution within the time limit") as err:
        solve_layout(grow(500.0), LayoutSettings(travel_weight=0.01, time_limit=10))
    assert "raise the time limit" in err.value.reasons[0]

    def proved(pb, settings, progress=None, stop=None):  # type: ignore[no-untyped-def]
        return _empty(pb, settings, {"note": "the solver proved that no plan exists"}, 0.0)

    monkeypatch.setattr(dmod, "solve_facility", proved)
    with pytest.raises(InfeasiblePlan):
        solve_layout(grow(500.0), LayoutSettings(travel_weight=0.01, time_limit=10))
