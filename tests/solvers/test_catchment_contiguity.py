"""Contiguity on a line graph where the cheapest plan is not contiguous.

``detour``: units U0 — U1 — U2 on a line (adjacency given), 10 pupils each; school A sits in U0,
B in U1. Travel table (metres)::

            A     B
    U0    100   900
    U1    500   200
    U2    150   900

Cheapest: U0→A, U1→B, U2→A (travel 4,500) — but A's catchment {U0, U2} is cut by U1.

* closer-neighbour: U2 may join A only if a neighbour nearer A (none: U1 is at 500 > 150)
  does, so U2 must go to B, which needs U1 in B: U0→A, U1→B, U2→B, travel 12,000.
* exact (connected, containing the school's unit): A = {U0, U1, U2}, travel 7,500.
"""

from __future__ import annotations

import numpy as np
import pytest

from solvers.catchment import build_problem
from solvers.catchment.contiguity import disconnected_catchments
from solvers.catchment.lp import hard_violations
from tests.solvers.test_catchment_model import plan, school, settings, solve, tiny_district, unit

SOLVERS = ("cpsat", "highs")


def detour():  # type: ignore[no-untyped-def]
    costs = {"U0": (100, 900), "U1": (500, 200), "U2": (150, 900)}
    travel = [(u, s, float(c[i])) for u, c in costs.items() for i, s in enumerate("AB")]
    return tiny_district(
        [school("A", 0, 1000), school("B", 1000, 1000)],
        [unit("U0", 0, 10), unit("U1", 1000, 10), unit("U2", 2000, 10)],
        travel=travel,
        adjacency=[("U0", "U1"), ("U1", "U2")],
    )


@pytest.mark.parametrize("solver", SOLVERS)
def test_without_contiguity_the_cheapest_plan_is_cut(solver: str) -> None:
    d = detour()
    sol = solve(d, solver=solver, contiguity="none")
    assert plan(d, sol) == {"U0": "A", "U1": "B", "U2": "A"}
    assert sol.terms["travel_cost"] == pytest.approx(4_500)
    pb = build_problem(d, "primary", settings(contiguity="exact"))  # for its adjacency
    assert disconnected_catchments(sol.assign, pb.adj_a, pb.adj_b) == {0: 2}


@pytest.mark.parametrize("solver", SOLVERS)
def test_closer_neighbour_forces_the_detour(solver: str) -> None:
    d = detour()
    sol = solve(d, solver=solver, contiguity="closer_neighbour")
    assert plan(d, sol) == {"U0": "A", "U1": "B", "U2": "B"}
    assert sol.terms["travel_cost"] == pytest.approx(12_000)
    assert sol.status == "optimal"


@pytest.mark.parametrize("solver", SOLVERS)
def test_exact_contiguity_takes_the_connected_optimum(solver: str) -> None:
    d = detour()
    sol = solve(d, solver=solver, contiguity="exact")
    assert plan(d, sol) == {"U0": "A", "U1": "A", "U2": "A"}
    assert sol.terms["travel_cost"] == pytest.approx(7_500)
    assert sol.status == "optimal"


def test_closer_neighbour_prunes_the_unsupported_pair() -> None:
    pb = build_problem(detour(), "primary", settings(contiguity="closer_neighbour"))
    pairs = set(zip(pb.pair_unit.tolist(), pb.pair_school.tolist(), strict=True))
    assert (2, 0) not in pairs  # U2 → A has no neighbour nearer A
    assert pb.contig is not None
    assert pb.contig.own_unit.tolist() == [0, 1]


def test_violations_are_detected() -> None:
    d = detour()
    for mode in ("closer_neighbour", "exact"):
        pb = build_problem(d, "primary", settings(contiguity=mode))
        ok = np.array([0, 1, 1]) if mode == "closer_neighbour" else np.array([0, 0, 0])
        assert hard_violations(pb, ok) == []
    pb = build_problem(d, "primary", settings(contiguity="exact"))
    assert hard_violations(pb, np.array([0, 1, 0])) == [
        "1 unit(s) are cut off from their school's unit"
    ]


# -- heuristics and reporting on a generated county ---------------------------------------------


@pytest.fixture(scope="module")
def county():  # type: ignore[no-untyped-def]
    from planner.generate import make_district

    return make_district(units=300, primary_schools=12, secondary_schools=5, teachers=60, seed=4)


def test_growth_and_local_search_keep_the_rule(county) -> None:  # type: ignore[no-untyped-def]
    from solvers.catchment import evaluate
    from solvers.catchment.heuristic import grow, local_search, repair_chains

    s = settings(contiguity="closer_neighbour")
    pb = build_problem(county, "primary", s)
    start = grow(pb, s.weights)
    assert hard_violations(pb, start) == []
    better = local_search(pb, start, s.weights)
    assert hard_violations(pb, better) == []
    obj = evaluate(pb, better, s.weights).terms["objective"]
    assert obj <= evaluate(pb, start, s.weights).terms["objective"]
    # today's catchments (with quirks) repaired into a valid plan
    has = np.diff(pb.unit_ptr) > 0
    today = np.where(has, pb.current, -1)
    off = has & (pb.pair_index(np.arange(pb.n_units), today) < 0)
    today[off] = pb.pair_school[pb.unit_ptr[np.flatnonzero(off)]]
    assert hard_violations(pb, repair_chains(pb, today, s.weights)) == []


def test_priced_growth_keeps_the_rule_and_is_deterministic(county) -> None:  # type: ignore[no-untyped-def]
    from solvers.catchment import evaluate
    from solvers.catchment.heuristic import price_search

    s = settings(contiguity="closer_neighbour")
    pb = build_problem(county, "primary", s)
    a = price_search(pb, s.weights, iterations=6)
    assert a is not None
    assert hard_violations(pb, a) == []
    b = price_search(pb, s.weights, iterations=6)
    assert b is not None and a.tolist() == b.tolist()
    # starting prices are used: a huge price on every school still yields a valid plan
    c = price_search(pb, s.weights, price0=np.full(pb.n_schools, 1e5), iterations=2)
    assert c is not None and hard_violations(pb, c) == []
    assert np.isfinite(evaluate(pb, c, s.weights).terms["objective"])


def test_priced_growth_makes_a_cascade() -> None:
    """Schools A ─ B ─ C on a line (10, 20, 100 seats), five units of 10 pupils between them.

    Nearest school: A takes U0 and U1b (over by 10), B takes U1 and U2b (full), C takes U2.
    Freeing A needs U1b → B *and* U2b → C: each move alone only shifts the overflow or adds
    travel, so the local search stays there; the seat prices make the cascade.
    """
    d = tiny_district(
        [school("A", 0, 10), school("B", 2000, 20), school("C", 4000, 100)],
        [
            unit("U0", 0, 10), unit("U1b", 900, 10), unit("U1", 2000, 10),
            unit("U2b", 2900, 10), unit("U2", 4000, 10),
        ],
        adjacency=[("U0", "U1b"), ("U1b", "U1"), ("U1", "U2b"), ("U2b", "U2")],
    )  # fmt: skip
    from solvers.catchment import evaluate
    from solvers.catchment.heuristic import local_search, price_search

    s = settings(contiguity="closer_neighbour")
    pb = build_problem(d, "primary", s)
    # grown by plain cost: U1b → A (over by 10), U2b → B (full)
    nearest = np.array([0, 0, 1, 1, 2])
    assert hard_violations(pb, nearest) == []
    stuck = local_search(pb, nearest, s.weights)
    assert evaluate(pb, stuck, s.weights).terms["overflow_pupils"] == 10
    priced = price_search(pb, s.weights, iterations=10)
    assert priced is not None and hard_violations(pb, priced) == []
    assert evaluate(pb, priced, s.weights).terms["overflow_pupils"] == 0
    assert priced.tolist() == [0, 1, 1, 2, 2]  # U1b → B, U2b → C


@pytest.mark.parametrize("solver", SOLVERS)
def test_a_plan_comes_back_fast_under_closer_neighbour(county, solver: str) -> None:  # type: ignore[no-untyped-def]
    from solvers.catchment import solve_level

    s = settings(contiguity="closer_neighbour", solver=solver, time_limit=1.0)
    pb = build_problem(county, "primary", s)
    sol = solve_level(pb, s)
    assert sol.status in ("optimal", "feasible")
    assert hard_violations(pb, sol.assign) == []
    assert sol.first_feasible_seconds is not None and sol.first_feasible_seconds < 1.0
    assert sol.solve_seconds < 3.0  # the time limit is enforced (slack for a loaded machine)
    assert sol.bound <= sol.objective + 1e-6
    assert "contiguity_waived" in sol.info
    waived = np.asarray(sol.info["contiguity_waived"])
    assert waived.tolist() == np.flatnonzero(pb.contiguity_waived).tolist()
    g = sol.info["gap_travel_moved"]
    assert g is not None and 0.0 <= g <= 1.0
    lo = sol.info["overflow_lower_bound"]
    assert lo is None or lo <= sol.terms["overflow_pupils"] + 1e-9
    if sol.status == "optimal":
        assert sol.gap <= 1e-6


def test_waived_units_are_reported() -> None:
    # U2 is adjacent to nothing: no contiguous option, so the rule is waived for it
    d = tiny_district(
        [school("A", 0, 1000)],
        [unit("U0", 0, 10), unit("U1", 1000, 10), unit("U2", 5000, 10)],
        adjacency=[("U0", "U1")],
    )
    sol = solve(d, contiguity="closer_neighbour")
    assert sol.info["contiguity_waived"].tolist() == [2]
    assert sol.info["overflow_proven_minimal"] is True


def test_highs_banner_is_silenced(capfd) -> None:  # type: ignore[no-untyped-def]
    from solvers.catchment.mip import new_highs

    capfd.readouterr()
    new_highs()
    assert "HiGHS" not in capfd.readouterr().out


# -- reproducibility of a solve cut by its budget -------------------------------------------------


@pytest.fixture(scope="module")
def cut_county():  # type: ignore[no-untyped-def]
    """Closer-neighbour, seats short: a 2 s budget cuts the solve (not proven optimal)."""
    from planner.generate import make_district

    return make_district(units=400, primary_schools=10, secondary_schools=5, teachers=100, seed=3)


def test_a_cut_solve_is_reproducible(cut_county) -> None:  # type: ignore[no-untyped-def]
    from solvers.catchment import solve_level

    s = settings(contiguity="closer_neighbour", time_limit=2.0, seed=5)
    assert s.deterministic  # the default
    pb = build_problem(cut_county, "primary", s)
    a, b = solve_level(pb, s), solve_level(pb, s)
    assert a.status == "feasible"  # cut by the budget, not ended by a proof
    assert a.info["deterministic"] and b.info["deterministic"], a.info["deterministic_reason"]
    assert np.array_equal(a.assign, b.assign)
    assert a.objective == b.objective and a.bound == b.bound
    assert hard_violations(pb, a.assign) == []
    assert a.solve_seconds < 2.0 * 2.5 + 1.0  # within the wall-clock safety cap


def test_the_cli_writes_the_same_bytes_twice(cut_county, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from typer.testing import CliRunner

    from api.cli import app
    from planner.writer import write_district

    write_district(cut_county, tmp_path / "district")
    args = ["solve", "catchment", str(tmp_path / "district"), "--level", "primary"]
    args += ["--time-limit", "2", "--seed", "5", "--no-maps"]
    outs = [tmp_path / "a", tmp_path / "b"]
    for out in outs:
        res = CliRunner().invoke(app, [*args, "--out", str(out)])
        assert res.exit_code == 0, res.output
    summaries = [json.loads((o / "summary.json").read_text()) for o in outs]
    assert all(sm["deterministic"] for sm in summaries)
    assert summaries[0]["levels"]["primary"]["status"] == "feasible"
    assert (outs[0] / "assignment.csv").read_bytes() == (outs[1] / "assignment.csv").read_bytes()


def test_wall_clock_cuts_are_reported(cut_county, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import solvers.catchment.solve as solve_mod
    from solvers.catchment import solve_level

    s = settings(contiguity="closer_neighbour", time_limit=2.0)
    pb = build_problem(cut_county, "primary", s)
    monkeypatch.setattr(solve_mod, "WALL_CAP_FACTOR", 1e-3)  # the safety cap fires at once
    sol = solve_level(pb, s)
    assert sol.info["deterministic"] is False
    assert "safety cap" in sol.info["deterministic_reason"]
    assert hard_violations(pb, sol.assign) == []
    monkeypatch.undo()
    fast = settings(contiguity="closer_neighbour", time_limit=0.5, deterministic=False)
    sol = solve_level(pb, fast)
    assert sol.info["deterministic"] is False
    assert "deterministic=False" in sol.info["deterministic_reason"]
