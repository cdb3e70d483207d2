"""The comparison baseline: a plain PuLP + CBC model of the same instance.

Dense ``x_ij`` for every customer × facility, ``x_ij ≤ y_i``, capacity rows, ``Σ y = p``: the
textbook formulation users write today (spopt's ``PMedian``/capacitated models are the same),
with no sparsification, start, bound or elimination. Same time limit as ours.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pulp

from solvers.benchdata.instances import FacilityInstance


@dataclass
class BaselineResult:
    """CBC's answer: objective (nan if none), status, seconds."""

    objective: float
    status: str
    seconds: float


def solve_pulp(inst: FacilityInstance, *, time_limit: float, seed: int = 0) -> BaselineResult:
    """Build and solve the dense model with CBC (single thread); time includes building."""
    t0 = time.perf_counter()
    m_, n = inst.cost.shape
    prob = pulp.LpProblem(inst.name, pulp.LpMinimize)
    y = [pulp.LpVariable(f"y{i}", cat="Binary") for i in range(m_)]
    x = [[pulp.LpVariable(f"x{i}_{j}", cat="Binary") for j in range(n)] for i in range(m_)]
    prob += pulp.lpSum(
        float(inst.fixed_cost[i]) * y[i] for i in range(m_) if inst.fixed_cost[i]
    ) + pulp.lpSum(float(inst.cost[i, j]) * x[i][j] for i in range(m_) for j in range(n))
    for j in range(n):
        prob += pulp.lpSum(x[i][j] for i in range(m_)) == 1
    for i in range(m_):
        for j in range(n):
            prob += x[i][j] <= y[i]
        if np.isfinite(inst.capacity[i]):
            use = inst.usage[i] if inst.usage is not None else inst.demand
            prob += (
                pulp.lpSum(float(use[j]) * x[i][j] for j in range(n))
                <= float(inst.capacity[i]) * y[i]
            )
    if inst.all_open:
        for i in range(m_):
            prob += y[i] == 1
    if inst.p is not None:
        prob += pulp.lpSum(y) == inst.p
    left = max(1.0, time_limit - (time.perf_counter() - t0))
    solver = pulp.PULP_CBC_CMD(msg=False, timeLimit=left, threads=1, options=[f"randomSeed {seed}"])
    prob.solve(solver)
    secs = time.perf_counter() - t0
    status = pulp.LpStatus[prob.status]
    obj = pulp.value(prob.objective)
    hit = secs >= time_limit * 0.98
    if status != "Optimal" and obj is not None:
        # after a time limit PuLP may hold LP values: only an integral assignment is a solution
        vals = np.array([v.value() or 0.0 for v in prob.variables()])
        if np.abs(vals - np.round(vals)).max(initial=0.0) > 1e-6:
            obj = None
    if status == "Optimal" and not hit:
        st = "optimal"
    elif obj is not None and status in ("Optimal", "Not Solved"):
        st = "time limit"
    else:
        st = status.lower() if not hit else "time limit"
    return BaselineResult(float(obj) if obj is not None else float("nan"), st, secs)
