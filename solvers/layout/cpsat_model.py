"""CP-SAT model of the facility problem (formulation in :mod:`solvers.layout.problem`).

CP-SAT needs integers. Costs are multiplied by ``scale`` and rounded: automatically the
smallest power of ten (1 … 10⁶) that makes every cost integral, else 10³ capped so that the
largest scaled objective stays below 2⁵³. Each rounded coefficient is off by at most
``0.5 / scale``, so a solution's true objective differs from the scaled one by at most
``(n_customers + Σ modules + n_facilities + overflow seats) × 0.5 / scale``; that bound is
reported as ``info['scale_error_bound']`` and added to the gap. Loads, capacities and seats
must be integers (pupils are); otherwise use HiGHS.
"""

from __future__ import annotations

import threading
import time

import numpy as np
from ortools.sat.python import cp_model

from solvers.layout.highs_model import RawSolve
from solvers.layout.problem import FacilityProblem
from solvers.progress import ProgressEvent, ProgressFn


def choose_scale(problem: FacilityProblem) -> float:
    """The cost scale: smallest power of ten making costs integral, within the 2⁵³ budget."""
    parts = [problem.pair_cost, problem.open_cost, problem.module_cost.ravel()]
    if problem.fallback_cost is not None:
        parts.append(problem.fallback_cost[np.isfinite(problem.fallback_cost)])
    coefs = np.concatenate([np.abs(np.asarray(p, dtype=float)) for p in parts])
    total = float(coefs.sum()) + 1.0
    for d in range(7):
        s = 10.0**d
        if np.allclose(coefs * s, np.round(coefs * s), rtol=0, atol=1e-6) and total * s < 2**53:
            return s
    return float(max(1.0, min(1e3, 2**53 / total)))


def _as_int(a: np.ndarray, what: str) -> np.ndarray:
    r = np.round(a)
    if not np.allclose(a, r, atol=1e-9):
        raise ValueError(f"CP-SAT needs integral {what}; use solver='highs'")
    return r.astype(np.int64)


class _Watcher(cp_model.CpSolverSolutionCallback):
    def __init__(self, scale: float, progress: ProgressFn | None, t0: float) -> None:
        super().__init__()
        self.scale, self.progress, self.t0 = scale, progress, t0

    def on_solution_callback(self) -> None:
        if self.progress is not None:
            self.progress(
                ProgressEvent(
                    time.perf_counter() - self.t0,
                    self.objective_value / self.scale,
                    self.best_objective_bound / self.scale,
                    "cpsat",
                )
            )


def solve_cpsat(
    problem: FacilityProblem,
    *,
    time_limit: float,
    seed: int,
    num_workers: int = 2,
    gap_limit: float = 0.0,
    scale: float | None = None,
    start: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    progress: ProgressFn | None = None,
    stop: threading.Event | None = None,
    t0: float | None = None,
) -> RawSolve:
    """Build and solve the CP-SAT model (deterministic: fixed seed and worker count).

    Raises
    ------
    ValueError
        If loads or capacities are not integers.
    """
    t0 = time.perf_counter() if t0 is None else t0
    t_start = time.perf_counter()
    pb = problem
    n_f, n_c, n_l, n_p = pb.n_facilities, pb.n_customers, pb.n_levels, pb.n_pairs
    scale = scale or choose_scale(pb)
    soft = pb.overflow_penalty is not None
    load = _as_int(pb.pair_load, "loads")
    total_load = int(load.sum()) + 1
    m = cp_model.CpModel()
    y = [m.new_bool_var(f"y{i}") for i in range(n_f)]
    for i in range(n_f):
        if pb.fixed_open[i]:
            m.add(y[i] == 1)
        if pb.forbidden[i]:
            m.add(y[i] == 0)
    x = [m.new_bool_var(f"x{q}") for q in range(n_p)]
    obj: list[tuple[object, int]] = []
    pc = np.round(pb.pair_cost * scale).astype(np.int64)
    oc = np.round(np.where(pb.fixed_open, 0.0, pb.open_cost) * scale).astype(np.int64)
    # every customer served once (x, or the relaxation's fallback u)
    by_c: list[list[int]] = [[] for _ in range(n_c)]
    for q, j in enumerate(pb.pair_customer.tolist()):
        by_c[j].append(q)
    u: dict[int, cp_model.IntVar] = {}
    if pb.fallback_cost is not None:
        for j in np.flatnonzero(np.isfinite(pb.fallback_cost)).tolist():
            u[j] = m.new_bool_var(f"u{j}")
            obj.append((u[j], int(round(pb.fallback_cost[j] * scale))))
    for j in range(n_c):
        terms = [x[q] for q in by_c[j]] + ([u[j]] if j in u else [])
        m.add_exactly_one(terms)
    # only by an open facility
    for q, i in enumerate(pb.pair_facility.tolist()):
        if not pb.fixed_open[i]:
            m.add_implication(x[q], y[i])
        obj.append((x[q], int(pc[q])))
    for i in range(n_f):
        if oc[i]:
            obj.append((y[i], int(oc[i])))
    # modules, seats per level, size limit, minimum load
    mods: dict[tuple[int, int], cp_model.IntVar] = {}
    by_fl: dict[tuple[int, int], list[int]] = {}
    lvl = pb.customer_level[pb.pair_customer]
    for q, (i, lv) in enumerate(zip(pb.pair_facility.tolist(), lvl.tolist(), strict=True)):
        by_fl.setdefault((i, lv), []).append(q)
    seats_mod = _as_int(pb.module_seats, "module seats")
    over_vars = []
    for i in range(n_f):
        for lv in range(n_l):
            mx = int(pb.max_modules[i, lv])
            if mx > 0:
                mods[i, lv] = m.new_int_var(0, mx, f"m{i}_{lv}")
                m.add(mods[i, lv] <= mx * y[i])
                obj.append((mods[i, lv], int(round(pb.module_cost[i, lv] * scale))))
            if np.isfinite(pb.capacity[i, lv]):
                cap = int(np.floor(pb.capacity[i, lv] + 1e-9))
                lhs = sum(int(load[q]) * x[q] for q in by_fl.get((i, lv), []))
                rhs = cap * y[i] + (int(seats_mod[lv]) * mods[i, lv] if (i, lv) in mods else 0)
                if soft:
                    o = m.new_int_var(0, total_load, f"o{i}_{lv}")
                    over_vars.append(o)
                    m.add(lhs <= rhs + o)
                else:
                    m.add(lhs <= rhs)
        if pb.module_limit is not None:
            mine = [mods[i, lv] for lv in range(n_l) if (i, lv) in mods]
            if len(mine) > 1:
                m.add(sum(mine) <= int(pb.module_limit[i]))
        allq = [q for lv in range(n_l) for q in by_fl.get((i, lv), [])]
        tot = sum(int(load[q]) * x[q] for q in allq)
        if np.isfinite(pb.size_limit[i]):
            lim = int(np.floor(pb.size_limit[i]))
            if soft:
                e = m.new_int_var(0, total_load, f"e{i}")
                over_vars.append(e)
                m.add(tot <= lim * y[i] + e)
            else:
                m.add(tot <= lim * y[i])
        if pb.min_load[i] > 0:
            m.add(tot >= int(np.ceil(pb.min_load[i] - 1e-9)) * y[i])
    pen = int(round((pb.overflow_penalty or 0.0) * scale))
    for o in over_vars:
        obj.append((o, pen))
    if pb.p is not None:
        if pb.p_limit == "exactly":
            m.add(sum(y) == pb.p)
        else:
            m.add(sum(y) <= pb.p)
    if pb.budget is not None:
        bud = int(np.floor(pb.budget * scale + 1e-6))
        spend = [
            (y[i], int(round(pb.open_cost[i] * scale)))
            for i in range(n_f)
            if pb.counts_in_budget[i] and not pb.fixed_open[i]
        ] + [(v, int(round(pb.module_cost[k] * scale))) for k, v in mods.items()]
        m.add(sum(c * v for v, c in spend) <= bud)
    m.minimize(cp_model.LinearExpr.weighted_sum([v for v, c in obj if c], [c for _, c in obj if c]))  # type: ignore[arg-type]
    if start is not None:
        s_open, s_mod, s_assign = start
        for i in range(n_f):
            m.add_hint(y[i], bool(s_open[i]))
        chosen = {(j, int(i)) for j, i in enumerate(np.asarray(s_assign).tolist())}
        for q, (j, i) in enumerate(
            zip(pb.pair_customer.tolist(), pb.pair_facility.tolist(), strict=True)
        ):
            m.add_hint(x[q], (j, i) in chosen)
        for (i, lv), v in mods.items():
            m.add_hint(v, int(s_mod[i, lv]))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = float(max(time_limit, 0.01))
    solver.parameters.random_seed = int(seed)
    solver.parameters.num_workers = int(num_workers)
    solver.parameters.relative_gap_limit = float(gap_limit)
    done = threading.Event()
    if stop is not None:

        def watch() -> None:
            while not done.wait(0.1):
                if stop.is_set():
                    solver.stop_search()
                    return

        threading.Thread(target=watch, daemon=True).start()
    st = solver.solve(m, _Watcher(scale, progress, t0))
    done.set()
    seconds = time.perf_counter() - t_start
    n_terms = n_c + n_f + sum(int(v) for v in pb.max_modules.ravel()) + (total_load if soft else 0)
    exact = all(
        np.allclose(a * scale, np.round(a * scale), rtol=0, atol=1e-9)
        for a in (
            pb.pair_cost,
            pb.open_cost,
            pb.module_cost,
            np.array([pb.overflow_penalty or 0.0]),
        )
    )
    err = 0.0 if exact else n_terms * 0.5 / scale
    info: dict[str, object] = {"scale": scale, "scale_error_bound": err}
    if st not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        status = "infeasible" if st == cp_model.INFEASIBLE else "no_solution"
        return RawSolve(
            status,
            float("inf"),
            float("inf"),
            np.zeros(n_f, bool),
            np.zeros((n_f, n_l), np.int64),
            -np.ones(n_c, np.int64),
            seconds,
            info,
        )
    open_ = np.array([solver.value(v) for v in y], dtype=bool)
    modules = np.zeros((n_f, n_l), dtype=np.int64)
    for (i, lv), v in mods.items():
        modules[i, lv] = solver.value(v)
    assign = -np.ones(n_c, dtype=np.int64)
    xv = np.array([solver.value(v) for v in x], dtype=bool)
    assign[pb.pair_customer[xv]] = pb.pair_facility[xv]
    obj_v = solver.objective_value / scale
    bound = solver.best_objective_bound / scale - err
    return RawSolve(
        "optimal" if st == cp_model.OPTIMAL else "feasible",
        obj_v,
        bound,
        open_,
        modules,
        assign,
        seconds,
        info,
    )
