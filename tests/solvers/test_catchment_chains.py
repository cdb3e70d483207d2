"""Ejection chains (:mod:`solvers.catchment.chains`) on a line where single moves are stuck.

``line``: units U0 — U1 — U2 — U3 — U4 (adjacency given), 10 pupils each; school A sits in U0
(10 seats), B in U2 (20 seats), C in U4 (100 seats). Travel table (metres)::

            A     B     C
    U0      0   400   800
    U1    100   300   700
    U2    400     0   400
    U3    600   200   300
    U4    800   400     0

Start: U0, U1 → A (10 over), U2, U3 → B (full), U4 → C. Moving U1 to B only shifts the
overflow to B, moving U3 to C only adds travel, and under the closer-neighbour rule U0 and U1
may not join C (their neighbours nearer C are not in C): no single move helps. The chain
U1: A→B, U3: B→C frees A's seat for +2,000 + 1,000 travel. Without contiguity U1 could also go
straight to C (+6,000, a single move); the chain is cheaper.
"""

from __future__ import annotations

import numpy as np
import pytest

from solvers.catchment import build_problem
from solvers.catchment.chains import eject_chains
from solvers.catchment.heuristic import WorkMeter, grow, local_search
from solvers.catchment.lp import hard_violations
from solvers.catchment.problem import evaluate
from tests.solvers.test_catchment_model import school, settings, tiny_district, unit

W_O = 1_000_000.0  # the default overflow weight


def line():  # type: ignore[no-untyped-def]
    costs = {
        "U0": (0, 400, 800),
        "U1": (100, 300, 700),
        "U2": (400, 0, 400),
        "U3": (600, 200, 300),
        "U4": (800, 400, 0),
    }
    travel = [(u, s, float(c[i])) for u, c in costs.items() for i, s in enumerate("ABC")]
    return tiny_district(
        [school("A", 0, 10), school("B", 2000, 20), school("C", 4000, 100)],
        [unit(f"U{i}", 1000 * i, 10) for i in range(5)],
        travel=travel,
        adjacency=[(f"U{i}", f"U{i + 1}") for i in range(4)],
    )


START = np.array([0, 0, 1, 1, 2])  # U0, U1 → A; U2, U3 → B; U4 → C
CHAINED = [0, 1, 1, 2, 2]  # U1 → B, U3 → C


def test_single_moves_are_stuck() -> None:
    s = settings(contiguity="closer_neighbour")
    pb = build_problem(line(), "primary", s)
    assert hard_violations(pb, START) == []
    assert local_search(pb, START, s.weights).tolist() == START.tolist()
    assert evaluate(pb, START, s.weights).terms["overflow_pupils"] == 10


@pytest.mark.parametrize("contiguity", ["closer_neighbour", "none"])
def test_the_chain_frees_the_seat_at_least_travel(contiguity: str) -> None:
    s = settings(contiguity=contiguity)
    pb = build_problem(line(), "primary", s)
    out = eject_chains(pb, START, s.weights)
    assert out.tolist() == CHAINED
    assert hard_violations(pb, out) == []
    before = evaluate(pb, START, s.weights).terms
    after = evaluate(pb, out, s.weights).terms
    assert after["overflow_pupils"] == 0
    # travel 0+1,000+0+2,000+0 = 3,000 → 0+3,000+0+3,000+0 = 6,000: +3,000 (not +6,000 via U1 → C)
    assert before["travel_cost"] == pytest.approx(3_000)
    assert after["travel_cost"] == pytest.approx(6_000)
    assert START.tolist() == [0, 0, 1, 1, 2]  # the input is not changed


def test_a_spent_meter_changes_nothing() -> None:
    s = settings(contiguity="closer_neighbour")
    pb = build_problem(line(), "primary", s)
    out = eject_chains(pb, START, s.weights, meter=WorkMeter(limit=0.0))
    assert out.tolist() == START.tolist()


def test_a_chain_that_would_cost_more_than_it_saves_is_not_taken() -> None:
    """With a tiny overflow weight the seat is not worth 3,000 metres × pupils."""
    s = settings(contiguity="closer_neighbour", weights={"overflow": 100.0})
    pb = build_problem(line(), "primary", s)
    assert eject_chains(pb, START, s.weights).tolist() == START.tolist()


def test_exact_contiguity_is_left_alone() -> None:
    s = settings(contiguity="exact")
    pb = build_problem(line(), "primary", s)
    assert eject_chains(pb, START, s.weights).tolist() == START.tolist()


@pytest.fixture(scope="module")
def county():  # type: ignore[no-untyped-def]
    from planner.generate import make_district

    return make_district(units=400, primary_schools=14, secondary_schools=6, teachers=60, seed=7)


@pytest.mark.parametrize("contiguity", ["closer_neighbour", "none"])
def test_chains_keep_the_rules_and_never_worsen(county, contiguity: str) -> None:  # type: ignore[no-untyped-def]
    """On a generated county with seats cut to 80 %: a valid plan, no worse, the same twice."""
    s = settings(contiguity=contiguity)
    pb = build_problem(county, "primary", s)
    pb.seats[:] = np.floor(0.8 * pb.seats)  # tight: the start overflows
    # a grown closer-neighbour plan is a valid start for both rules
    cn = settings(contiguity="closer_neighbour")
    grown = pb if contiguity == "closer_neighbour" else build_problem(county, "primary", cn)
    start = local_search(pb, grow(grown, cn.weights), s.weights)
    assert hard_violations(pb, start) == []
    before = evaluate(pb, start, s.weights).terms
    assert before["overflow_pupils"] > 0
    out = eject_chains(pb, start, s.weights)
    assert hard_violations(pb, out) == []
    after = evaluate(pb, out, s.weights).terms
    assert after["objective"] <= before["objective"]
    assert after["overflow_pupils"] < before["overflow_pupils"]
    assert eject_chains(pb, start, s.weights).tolist() == out.tolist()
