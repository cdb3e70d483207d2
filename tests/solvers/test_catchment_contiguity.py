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
