"""Set-partitioning column generation for CPMP with small clusters (solvers/layout/cluster_cg)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solvers.benchdata import FacilityInstance
from solvers.layout import FacilityProblem, evaluate
from solvers.layout.cap_start import WorkBudget
from solvers.layout.capacitated import capacitated_start, solution_cost
from solvers.layout.cluster_cg import (
    cluster_cg,
    cluster_cg_applies,
    knapsack_bound_applies,
    lagrangian_bound,
)
from solvers.layout.heuristics import capacitated_local_search
from tests.solvers.test_layout_capacitated import (
    brute_force_cpmp,
    eight_point_cpmp,
    no_modules,
    random_cpmp,
)


def pairs_cpmp() -> FacilityProblem:
    """Six points on a line at 0, 1, 2, 3, 20, 21 with demands 2, 2, 2, 2, 3, 3; Q = 6, p = 3.

    A median seats three of the 2-demand points, or the two 3-demand points. Optimum 3: the
    pair {20, 21} (cost 1) and the four left points as {0, 1} + {2, 3} (1 + 1) or
    {0, 1, 2} at 1 + {3} (2 + 0); checked by enumeration below.
    """
    x = np.array([0.0, 1.0, 2.0, 3.0, 20.0, 21.0])
    inst = FacilityInstance(
        name="pairs_cpmp",
        kind="cpmp",
        cost=np.abs(x[:, None] - x[None, :]),
        demand=np.array([2.0, 2, 2, 2, 3, 3]),
        capacity=np.full(6, 6.0),
        fixed_cost=np.zeros(6),
        p=3,
    )
    return FacilityProblem.from_instance(inst)


def spread_start(pb: FacilityProblem) -> tuple[np.ndarray, np.ndarray]:
    """A feasible poor plan: medians 0, 3 and 4; points 1, 2 to 3; 5 to 4; 0 alone."""
    open_ = np.zeros(pb.n_facilities, dtype=bool)
    open_[[0, 3, 4]] = True
    return open_, np.array([0, 3, 3, 3, 4, 4])


def test_pairs_optimum_by_enumeration() -> None:
    assert brute_force_cpmp(pairs_cpmp()) == 3.0


def test_column_generation_reaches_the_pairs_optimum_and_bounds_it() -> None:
    """From the poor plan (cost 0 + 2 + 1 + 0 + 0 + 1 = 4) the master MIP finds 3; the
    Lagrangian bound is 3 too (the set-partitioning LP is integral here)."""
    pb = pairs_cpmp()
    start = spread_start(pb)
    assert solution_cost(pb, *start) == 4.0
    res = cluster_cg(pb, *start, WorkBudget.start(5.0))
    assert res.converged
    assert res.plan is not None and solution_cost(pb, *res.plan) == 3.0
    assert int(res.plan[0].sum()) == 3
    assert evaluate(pb, res.plan[0], no_modules(pb), res.plan[1])[1] == []
    assert abs(res.bound - 3.0) < 1e-6
    assert res.report["before"] == 4.0


def test_eight_point_bound_is_below_the_optimum_and_stronger_than_the_lp() -> None:
    """Eight points (optimum 31): the set-partitioning bound is 27.5, from the swap plan (41)."""
    pb = eight_point_cpmp()
    start = capacitated_local_search(pb, time_limit=30, max_evaluations=400)
    assert start is not None and solution_cost(pb, *start) == 41.0
    res = cluster_cg(pb, *start, WorkBudget.start(5.0))
    assert abs(res.bound - 27.5) < 1e-6
    assert res.bound <= 31.0
    assert res.plan is None or solution_cost(pb, *res.plan) < 41.0


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n=st.integers(5, 8), p=st.integers(2, 3))
def test_bound_never_passes_the_optimum_and_plans_are_feasible(seed: int, n: int, p: int) -> None:
    """For any tiny CPMP: the Lagrangian bound ≤ the enumerated optimum ≤ any plan returned,
    which is feasible with exactly p medians and cheaper than the start."""
    pb = random_cpmp(seed, n, p)
    start = capacitated_local_search(pb, time_limit=30, max_evaluations=100)
    if start is None:
        return
    optimum = brute_force_cpmp(pb)
    res = cluster_cg(pb, *start, WorkBudget.start(5.0))
    assert res.bound <= optimum + 1e-6
    if res.plan is not None:
        cost = solution_cost(pb, *res.plan)
        assert optimum - 1e-6 <= cost < solution_cost(pb, *start)
        assert int(res.plan[0].sum()) == p
        assert evaluate(pb, res.plan[0], no_modules(pb), res.plan[1])[1] == []


def test_lagrangian_bound_by_hand_on_the_pairs() -> None:
    """π = 1 for the four left points and 0.5 for the pair {20, 21}: Σ π = 5. The profit of
    a point at a site is π − distance: a site at 0..3 gains 1 from its own point and nothing
    from the others (neighbours 0, the rest negative); at 20 or 21 its own point gives 0.5
    and the other −0.5. Reduced values −1, −1, −1, −1, −0.5, −0.5: the 3 smallest sum to −3,
    bound 2 (≤ the optimum 3). π = 0: bound 0."""
    pb = pairs_cpmp()
    pi = np.array([1.0, 1.0, 1.0, 1.0, 0.5, 0.5])
    assert abs(lagrangian_bound(pb, pi, WorkBudget.start(5.0)) - 2.0) < 1e-9
    assert lagrangian_bound(pb, np.zeros(6), WorkBudget.start(5.0)) == 0.0
    assert lagrangian_bound(pb, np.zeros(5), WorkBudget.start(5.0)) == -np.inf  # wrong shape


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(5, 8),
    p=st.integers(2, 3),
    scale=st.floats(0.0, 80.0),
)
def test_lagrangian_bound_never_passes_the_optimum(seed: int, n: int, p: int, scale: float) -> None:
    """Any multipliers give a lower bound: random π ≤ ``scale`` on tiny CPMPs against the
    enumerated optimum; the knapsack cells are charged."""
    pb = random_cpmp(seed, n, p)
    if not knapsack_bound_applies(pb):
        return
    optimum = brute_force_cpmp(pb)
    pi = np.random.default_rng(seed).uniform(0.0, scale, size=n)
    budget = WorkBudget.start(5.0)
    assert lagrangian_bound(pb, pi, budget) <= optimum + 1e-6
    if (pi > 1e-9).any():  # a point gains at its own site (distance 0): cells are charged
        assert budget.used > 0


def test_applies_to_small_integral_clusters_only(monkeypatch: pytest.MonkeyPatch) -> None:
    from solvers.layout import cluster_cg as module

    pb = pairs_cpmp()
    assert cluster_cg_applies(pb)
    assert not cluster_cg_applies(replace(pb, p=None))
    monkeypatch.setattr(module, "CG_MAX_CLUSTER", 2.0)
    assert cluster_cg_applies(pb)  # two customers per median
    assert not cluster_cg_applies(replace(pb, p=2))  # three
    assert not cluster_cg_applies(replace(pb, pair_load=pb.pair_load + 0.5))
    fixed = pb.fixed_open.copy()
    fixed[0] = True
    assert not cluster_cg_applies(replace(pb, fixed_open=fixed))
    assert not knapsack_bound_applies(replace(pb, fixed_open=fixed))
    assert knapsack_bound_applies(replace(pb, p=1))  # any cluster size for the bound
    assert not knapsack_bound_applies(replace(pb, pair_load=pb.pair_load + 0.5))


def test_spent_budget_returns_no_plan() -> None:
    pb = pairs_cpmp()
    spent = WorkBudget.start(1.0)
    spent.charge(1.0)
    res = cluster_cg(pb, *spread_start(pb), spent)
    assert res.plan is None and res.bound == -np.inf


def test_capacitated_start_runs_it_and_keeps_the_bound() -> None:
    """``cluster_cg=True`` runs it once after the first LNS, reports it and keeps its bound;
    the same seed gives the same plan."""
    pb = random_cpmp(7, 30, 6)
    assert cluster_cg_applies(pb)
    plain = capacitated_start(pb, time_limit=3.0)
    assert plain is not None and plain.cluster_cg is None and plain.bound == -np.inf
    runs = [capacitated_start(pb, time_limit=3.0, cluster_cg=True) for _ in range(2)]
    for res in runs:
        assert res is not None and res.cluster_cg is not None
        assert {"lp", "bound", "columns", "work_seconds"} <= set(res.cluster_cg)
        assert res.bound <= res.objective + 1e-9
        assert evaluate(pb, res.open, no_modules(pb), res.assign)[1] == []
    assert runs[0].assign.tolist() == runs[1].assign.tolist()  # type: ignore[union-attr]
