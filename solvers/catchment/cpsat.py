"""CP-SAT backend: the rows of :mod:`.mip` as an integer CP-SAT model.

Integer scaling
---------------
CP-SAT needs integer coefficients. Rows are integer already except the migrant-balance band,
which is multiplied by :data:`.mip.BALANCE_SCALE` (1000) and rounded, with ``e_s`` counted in
1/1000 pupil. The objective is multiplied by ``K`` (a power of ten, chosen so that rounding
costs at most about 1e-5 of the objective; ``K = 1`` for metre costs of a small county) and
each coefficient rounded. The CP-SAT bound is therefore a bound on the *rounded* objective;
:func:`solve_cpsat` converts it into a bound on the exact objective by subtracting the largest
possible rounding error (``slack``: per unit the largest error of its pairs, plus each other
variable's error × its upper bound). Plans are always re-evaluated in exact floats by the caller.
"""

from __future__ import annotations

import math
import threading
import time

import numpy as np
from ortools.sat.python import cp_model

from solvers.catchment.mip import LinearModel, RawResult
from solvers.catchment.problem import CatchmentProblem
from solvers.catchment.types import CatchmentSettings
from solvers.progress import ProgressEvent, ProgressFn

_MAX_TERM = 2.0**52


def objective_scale(model: LinearModel, reference: float, n_pupils: int) -> int:
    """Power of ten K so the rounding error (≈ 0.5 × pupils / K) is ≤ 1e-5 × the objective."""
    target = 0.5 * max(n_pupils, 1) / (1e-5 * max(abs(reference), 1.0))
    k = 10 ** max(0, math.ceil(math.log10(max(target, 1.0))))
    # Keep Σ |coef| × ub well inside int64 (CP-SAT's limit) and double precision.
    worst = float(np.abs(model.obj * model.ub / model.var_scale).sum())
    while k > 1 and worst * k > _MAX_TERM:
        k //= 10
    return int(k)


def _rounding_slack(
    pb: CatchmentProblem, model: LinearModel, coef: np.ndarray, k: int, active: np.ndarray
) -> float:
    """Largest |exact − rounded| objective over plans, in exact units."""
    err = np.abs(model.obj / model.var_scale * k - coef) / k * model.var_scale  # per model unit
    xs = model.cols["x"]
    ex = np.where(active[xs], err[xs], 0.0)
    per_unit = np.zeros(pb.n_units)
    np.maximum.at(per_unit, pb.pair_unit, ex)
    other = np.ones(model.n_cols, dtype=bool)
    other[xs] = False
    return float(per_unit.sum() + (err[other] * model.ub[other]).sum())


class _Callback(cp_model.CpSolverSolutionCallback):
    def __init__(
        self,
        k: int,
        offset: float,
        t0: float,
        progress: ProgressFn | None,
        stop: threading.Event | None,
    ) -> None:
        super().__init__()
        self.k, self.offset, self.t0 = k, offset, t0
        self.progress, self.stop = progress, stop
        self.first: float | None = None
        self.best: float | None = None

    def on_solution_callback(self) -> None:
        now = time.perf_counter() - self.t0
        if self.first is None:
            self.first = now
        self.best = self.objective_value / self.k + self.offset
        if self.progress is not None:
            bound = self.best_objective_bound / self.k + self.offset
            self.progress(ProgressEvent(now, self.best, bound, "cp-sat"))
        if self.stop is not None and self.stop.is_set():
            self.stop_search()


def solve_cpsat(
    pb: CatchmentProblem,
    model: LinearModel,
    settings: CatchmentSettings,
    *,
    time_limit: float,
    reference: float,
    hint: np.ndarray | None = None,
    progress: ProgressFn | None = None,
    stop: threading.Event | None = None,
    t0: float | None = None,
    deterministic_time: float | None = None,
) -> RawResult:
    """Solve the model with CP-SAT (``random_seed=settings.seed``, ``num_workers`` fixed).

    Columns with upper bound 0 (fixed by reduced costs) are left out. ``reference`` is an
    estimate of the objective (the LP bound) for choosing the objective scale. ``time_limit``
    counts from the call, so the model build is part of it; status ``optimal`` means proven
    (a search stopped by ``gap_limit`` is ``feasible``).

    With ``deterministic_time`` the search is limited by CP-SAT's ``max_deterministic_time``
    (a work measure: with ``interleave_search`` the same seed then gives the same plan) and
    ``time_limit`` is only a wall-clock safety cap; ``clock_cut`` tells whether the cap (or
    ``stop``) ended it. ``info`` reports ``cpsat_deterministic_time`` and ``cpsat_wall_time``.
    """
    start = time.perf_counter()
    t0 = start if t0 is None else t0
    deadline = start + max(time_limit, 0.0)
    m = cp_model.CpModel()
    active = model.ub > 0
    vs = model.var_scale
    lo = np.ceil(model.lb * vs - 1e-9).astype(np.int64)
    hi = np.floor(model.ub * vs + 1e-9).astype(np.int64)
    var: list[cp_model.IntVar | None] = [None] * model.n_cols
    xs = model.cols["x"]
    for j in np.flatnonzero(active).tolist():
        if xs.start <= j < xs.stop:
            var[j] = m.new_bool_var("")
        else:
            var[j] = m.new_int_var(int(lo[j]), int(hi[j]), "")
    A = model.A
    rs = model.row_scale
    indptr, indices, data = A.indptr, A.indices, A.data
    for i in range(A.shape[0]):
        a, b = indptr[i], indptr[i + 1]
        cols = indices[a:b]
        ok = active[cols]
        cols = cols[ok]
        coefs = np.rint(data[a:b][ok] * rs[i] / vs[cols]).astype(np.int64)
        rlo = model.row_lo[i] * rs[i]
        rhi = model.row_hi[i] * rs[i]
        lo_i = math.ceil(rlo - 1e-9) if np.isfinite(rlo) else cp_model.INT_MIN
        hi_i = math.floor(rhi + 1e-9) if np.isfinite(rhi) else cp_model.INT_MAX
        nz = coefs != 0
        if not nz.any():
            if lo_i > 0 or hi_i < 0:
                m.add_bool_or([])  # an empty row that 0 cannot satisfy: infeasible
            continue
        vv = [var[j] for j in cols[nz].tolist()]
        m.add_linear_constraint(
            cp_model.LinearExpr.weighted_sum(vv, coefs[nz].tolist()), lo_i, hi_i
        )
    k = objective_scale(model, reference, int(pb.movable.sum()))
    coef = np.rint(model.obj * k / vs)
    slack = _rounding_slack(pb, model, coef, k, active)
    act = np.flatnonzero(active & (coef != 0))
    m.minimize(
        cp_model.LinearExpr.weighted_sum(
            [var[j] for j in act.tolist()], coef[act].astype(np.int64).tolist()
        )
    )
    if hint is not None:
        for j in np.flatnonzero(active).tolist():
            vj = var[j]
            assert vj is not None
            m.add_hint(vj, int(round(hint[j] * vs[j])))

    left = deadline - time.perf_counter()
    if left <= 0.05 or (deterministic_time is not None and deterministic_time <= 0.0):
        # the model build used the budget: do not start the search
        return RawResult(
            None, "unknown", -np.inf, None, time.perf_counter() - t0,
            {"cpsat_status": "NOT_STARTED (time limit reached while building)"},
            clock_cut=left <= 0.05,
        )  # fmt: skip
    solver = cp_model.CpSolver()
    p = solver.parameters
    p.max_time_in_seconds = float(left)
    if deterministic_time is not None:
        p.max_deterministic_time = float(deterministic_time)
    p.num_workers = settings.num_workers
    p.random_seed = settings.seed
    p.relative_gap_limit = settings.gap_limit
    # Interleaved search makes the parallel workers deterministic: same seed, same plan (when
    # the solve ends by proof, gap or max_deterministic_time, not by the wall clock).
    p.interleave_search = True
    cb = _Callback(k, model.offset, t0, progress, stop)
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.2):
            if stop is not None and stop.is_set():
                solver.stop_search()
                return

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        st = solver.solve(m, cb)
    finally:
        done.set()
        watcher.join()
    values: np.ndarray | None = None
    if st in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        values = np.zeros(model.n_cols)
        idx = np.flatnonzero(active)
        vals = np.array(solver.values([var[j] for j in idx.tolist()]), dtype=float)
        values[idx] = vals / vs[idx]
    status = {
        cp_model.OPTIMAL: "optimal",
        cp_model.FEASIBLE: "feasible",
        cp_model.INFEASIBLE: "infeasible",
    }.get(st, "unknown")
    if status == "optimal" and solver.best_objective_bound < solver.objective_value - 0.5:
        status = "feasible"  # stopped at relative_gap_limit: not proven optimal
    dtime = float(solver.response_proto.deterministic_time)
    # Ended neither by proof nor by the deterministic limit: the wall clock or ``stop`` did.
    clock_cut = status not in ("optimal", "infeasible") and (
        (stop is not None and stop.is_set())
        or deterministic_time is None
        or (dtime < 0.999 * deterministic_time and solver.wall_time >= 0.99 * left)
    )
    bound = (
        solver.best_objective_bound / k + model.offset - slack
        if st in (cp_model.OPTIMAL, cp_model.FEASIBLE)
        else -np.inf
    )
    return RawResult(
        values=values,
        status=status,
        bound=float(bound),
        first_feasible_seconds=cb.first,
        seconds=time.perf_counter() - t0,
        info={
            "cpsat_status": solver.status_name(st),
            "objective_scale": k,
            "rounding_slack": slack,
            "cpsat_deterministic_time": dtime,
            "cpsat_wall_time": float(solver.wall_time),
        },
        clock_cut=bool(clock_cut),
    )
