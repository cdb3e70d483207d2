"""The sparse HiGHS builder: a knapsack and an assignment with known optima."""

from __future__ import annotations

import threading

import numpy as np

from solvers.highs_model import INF, SparseMip


def test_knapsack_optimum() -> None:
    # max 10a + 13b + 7c s.t. 4a + 6b + 3c <= 9 → a + c (17; b + c = 20 fits 9: 6+3) → 20
    m = SparseMip()
    x = m.add_vars(3, lb=0, ub=1, cost=-np.array([10.0, 13.0, 7.0]), integer=True)
    m.add_rows(np.zeros(3, int), x, np.array([4.0, 6.0, 3.0]), lower=-INF, upper=9.0)
    r = m.solve(time_limit=10)
    assert r.status == "optimal"
    assert round(-r.objective, 6) == 20.0
    assert r.x is not None and np.round(r.x).tolist() == [0.0, 1.0, 1.0]


def test_relaxation_bound_and_duplicate_entries_summed() -> None:
    m = SparseMip()
    x = m.add_vars(1, lb=0, ub=INF, cost=1.0)
    # row: 0.5x + 0.5x >= 3 → x >= 3
    m.add_rows(np.array([0, 0]), np.array([x[0], x[0]]), np.array([0.5, 0.5]), lower=3.0, upper=INF)
    r = m.solve(time_limit=10, relax=True)
    assert r.objective == 3.0 and r.bound == 3.0


def test_infeasible_is_reported() -> None:
    m = SparseMip()
    x = m.add_vars(1, lb=0, ub=1, integer=True)
    m.add_rows(np.array([0]), x, np.array([1.0]), lower=2.0, upper=INF)
    assert m.solve(time_limit=5).status == "infeasible"


def test_stop_event_already_set_returns_quickly() -> None:
    rng = np.random.default_rng(0)
    m = SparseMip()
    n = 60
    x = m.add_vars(n, lb=0, ub=1, cost=-rng.integers(1, 100, n).astype(float), integer=True)
    m.add_rows(np.zeros(n, int), x, rng.integers(1, 100, n).astype(float), lower=-INF, upper=500.0)
    ev = threading.Event()
    ev.set()
    r = m.solve(time_limit=30, stop=ev)
    assert r.seconds < 10


def test_every_solver_shares_one_thread_count() -> None:
    """A layout MIP, then a one-thread MIP, in one fresh process (as in the API service).

    HiGHS fixes its global thread scheduler at the first run; before every instance was made
    with HIGHS_THREADS, the layout's HiGHS default (2 threads here) made the next catchment or
    rotation solve fail with kError ("scheduler has already been initialized").
    """
    import subprocess
    import sys

    script = """
import numpy as np
from solvers.benchdata import FacilityInstance
from solvers.layout.highs_model import solve_highs
from solvers.layout.problem import FacilityProblem
from solvers.highs_model import SparseMip, new_highs, HIGHS_THREADS
inst = FacilityInstance(name="t", kind="test", cost=np.array([[0.0, 1, 10], [10, 9, 0]]),
    demand=np.array([1.0, 1, 1]), capacity=np.array([2.0, 2.0]), fixed_cost=np.array([20.0, 20.0]))
raw = solve_highs(FacilityProblem.from_instance(inst), time_limit=10, seed=0)
m = SparseMip()
x = m.add_vars(2, ub=1.0, cost=-np.array([3.0, 2.0]), integer=True)
m.add_rows(np.zeros(2, int), x, np.array([2.0, 1.0]), lower=-np.inf, upper=2.0)
res = m.solve(time_limit=10)
print(raw.status, res.status, new_highs().getOptionValue("threads")[1] == HIGHS_THREADS)
"""
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.split() == ["optimal", "optimal", "True"], out.stdout + out.stderr
