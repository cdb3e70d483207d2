"""HiGHS MIP of the facility problem (the formulation is in :mod:`solvers.layout.problem`).

The model is passed to HiGHS as arrays (no per-variable Python objects), so building a
810,000-pair model takes well under a second. Linking rows ``x_p ≤ y_i`` are the strong form,
whose LP bound is tight on p-median instances; they are left out where ``y_i`` is fixed to 1.
When every objective coefficient is integral the absolute gap is set just below 1, so a proof
of optimality needs no tolerance.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

import highspy
import numpy as np
from scipy.sparse import coo_matrix

from solvers.highs_model import new_highs
from solvers.layout.problem import FacilityProblem, assigned_pairs
from solvers.progress import ProgressEvent, ProgressFn


@dataclass
class RawSolve:
    """What a model returns before post-processing (values may still use fallbacks)."""

    status: str  # optimal | feasible | infeasible | no_solution
    objective: float
    bound: float
    open: np.ndarray
    modules: np.ndarray
    assign: np.ndarray  # −1 where the fallback was used
    seconds: float
    info: dict[str, object]


class PlanOffers:
    """Plans exchanged between a running MIP and a search on another thread (thread-safe).

    Each plan is (open, assign, cost) for a problem without modules. The search offers its
    plans (:meth:`offer`; ``taken`` counts those the MIP took as its incumbent); the MIP
    posts its incumbents (:meth:`mip_found`), which the search may continue from.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._plan: tuple[np.ndarray, np.ndarray, float] | None = None
        self._mip: tuple[np.ndarray, np.ndarray, float] | None = None
        self._version = 0
        self.taken = 0

    def offer(self, open_: np.ndarray, assign: np.ndarray, cost: float) -> None:
        """Offer a plan; kept only when it is cheaper than the one held."""
        with self._lock:
            if self._plan is None or cost < self._plan[2]:
                self._plan = (np.array(open_, dtype=bool), np.array(assign), float(cost))
                self._version += 1

    def latest(self) -> tuple[int, tuple[np.ndarray, np.ndarray, float] | None]:
        """The version (counts accepted offers) and the cheapest plan, if any."""
        with self._lock:
            return self._version, self._plan

    def mip_found(self, open_: np.ndarray, assign: np.ndarray, cost: float) -> None:
        """The MIP's new incumbent, for the other thread (see :meth:`mip_best`)."""
        with self._lock:
            if self._mip is None or cost < self._mip[2]:
                self._mip = (np.array(open_, dtype=bool), np.array(assign), float(cost))

    def mip_best(self) -> tuple[np.ndarray, np.ndarray, float] | None:
        """The MIP's cheapest incumbent so far (None before its first)."""
        with self._lock:
            return self._mip


class _Rows:
    """Collects sparse rows as COO triplets."""

    def __init__(self) -> None:
        self.r: list[np.ndarray] = []
        self.c: list[np.ndarray] = []
        self.v: list[np.ndarray] = []
        self.lo: list[np.ndarray] = []
        self.hi: list[np.ndarray] = []
        self.n = 0

    def add(
        self, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, lo: np.ndarray, hi: np.ndarray
    ) -> None:
        """Add ``len(lo)`` rows; ``rows`` are local indices 0..len(lo)-1."""
        self.r.append(np.asarray(rows, dtype=np.int64) + self.n)
        self.c.append(np.asarray(cols, dtype=np.int64))
        self.v.append(np.asarray(vals, dtype=float))
        self.lo.append(np.asarray(lo, dtype=float))
        self.hi.append(np.asarray(hi, dtype=float))
        self.n += len(lo)


def integral_costs(problem: FacilityProblem) -> bool:
    """All objective coefficients are integers (then an absolute gap < 1 proves optimality)."""
    arrays = [problem.pair_cost, problem.open_cost, problem.module_cost.ravel()]
    if problem.overflow_penalty is not None:
        arrays.append(np.array([problem.overflow_penalty]))
    if problem.fallback_cost is not None:
        arrays.append(problem.fallback_cost[np.isfinite(problem.fallback_cost)])
    return all(np.allclose(a, np.round(a), rtol=0, atol=1e-9) for a in arrays)


def solve_highs(
    problem: FacilityProblem,
    *,
    time_limit: float,
    seed: int,
    gap_limit: float = 0.0,
    start: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    progress: ProgressFn | None = None,
    stop: threading.Event | None = None,
    t0: float | None = None,
    log: bool = False,
    lp_only: bool = False,
    options: Mapping[str, bool | int | float | str] | None = None,
    plan_nodes: int | None = None,
    ipm_after: int | None = None,
    offers: PlanOffers | None = None,
) -> RawSolve:
    """Build and solve the MIP with HiGHS.

    Parameters
    ----------
    start : (open, modules, assign), optional
        A feasible solution handed to HiGHS as its first incumbent.
    t0 : float, optional
        ``time.perf_counter()`` of the overall run, for progress times.
    lp_only : bool
        Solve the LP relaxation by dual simplex (a vertex, the same one for the same model)
        and return the duals of the "served once" rows in ``info['duals']``, the fractional
        ``info['lp_open']`` (y) and ``info['lp_assign']`` (x per pair), and the work done
        (``lp_iterations``, ``lp_nnz``); the solution arrays are then empty.
    ipm_after : int, optional
        With ``lp_only``: when the dual simplex has not finished after this many iterations,
        the LP is solved again by interior point with crossover (a vertex again; its
        ``lp_ipm_iterations`` and ``lp_crossover_iterations`` are in ``info``). Degenerate
        sparsified CPMP relaxations stall the simplex: Stefanello fnl4461_0500 took 92k
        iterations and 144 s, interior point 53 iterations and 43 s. Deterministic, as the
        switch depends on the iteration count only.
    options : dict, optional
        Extra HiGHS options (name → value), set after the defaults.
    plan_nodes : int, optional
        A work limit for the answer: the plan returned is the best incumbent HiGHS had found
        by the time it had explored this many nodes, while the run goes on to the time limit
        for the bound. With one thread HiGHS follows the same path for the same model, start
        and seed, so that plan does not depend on the load, unlike the incumbent at the time
        limit (HiGHS 1.16 reports no simplex iteration count to callbacks, so nodes are the
        measure; the root is not bounded by it). ``info['plan_reached']`` says whether the
        run went past that node (or finished); when it did not, the plan is the last
        incumbent before the clock stopped it. ``info['plan_node']`` is the node count at
        which the returned plan was found (-1: the start, or a finished run's optimum).
    offers : PlanOffers, optional
        Plans (open set, assignment, cost; no modules) that another thread finds while the
        MIP runs. HiGHS takes the latest as its incumbent when it is cheaper (its user
        solution callback, asked between search stages); ``offers.taken`` counts them.
    """
    t0 = time.perf_counter() if t0 is None else t0
    t_start = time.perf_counter()
    pb = problem
    n_f, n_c, n_l, n_p = pb.n_facilities, pb.n_customers, pb.n_levels, pb.n_pairs
    soft = pb.overflow_penalty is not None
    pen = float(pb.overflow_penalty or 0.0)

    # -- columns ------------------------------------------------------------------------
    col_cost: list[np.ndarray] = []
    col_lo: list[np.ndarray] = []
    col_hi: list[np.ndarray] = []
    col_int: list[np.ndarray] = []

    def block(cost: np.ndarray, lo: np.ndarray, hi: np.ndarray, integer: bool) -> int:
        first = sum(a.size for a in col_cost)
        col_cost.append(np.asarray(cost, dtype=float))
        col_lo.append(np.asarray(lo, dtype=float))
        col_hi.append(np.asarray(hi, dtype=float))
        col_int.append(np.full(len(cost), integer))
        return first

    y0 = block(
        np.where(pb.fixed_open, 0.0, pb.open_cost),
        pb.fixed_open.astype(float),
        np.where(pb.forbidden, 0.0, 1.0),
        True,
    )
    x0 = block(pb.pair_cost, np.zeros(n_p), np.ones(n_p), True)
    mod_i, mod_l = np.nonzero(pb.max_modules > 0)
    m0 = block(
        pb.module_cost[mod_i, mod_l], np.zeros(mod_i.size), pb.max_modules[mod_i, mod_l], True
    )
    cap_i, cap_l = np.nonzero(np.isfinite(pb.capacity) & ~pb.forbidden[:, None])
    o0 = (
        block(np.full(cap_i.size, pen), np.zeros(cap_i.size), np.full(cap_i.size, np.inf), False)
        if soft
        else -1
    )
    size_i = np.flatnonzero(np.isfinite(pb.size_limit) & ~pb.forbidden)
    e0 = (
        block(np.full(size_i.size, pen), np.zeros(size_i.size), np.full(size_i.size, np.inf), False)
        if soft
        else -1
    )
    fb = (
        np.flatnonzero(np.isfinite(pb.fallback_cost))
        if pb.fallback_cost is not None
        else np.zeros(0, dtype=np.int64)
    )
    u0 = block(
        pb.fallback_cost[fb] if pb.fallback_cost is not None and fb.size else np.zeros(0),
        np.zeros(fb.size),
        np.ones(fb.size),
        False,
    )

    # -- rows -----------------------------------------------------------------------------
    R = _Rows()
    # every customer served once (by a kept pair or, in a relaxation, the fallback)
    R.add(
        np.concatenate([pb.pair_customer, fb]),
        np.concatenate([x0 + np.arange(n_p), u0 + np.arange(fb.size)]),
        np.ones(n_p + fb.size),
        np.ones(n_c),
        np.ones(n_c),
    )
    # only by an open facility: x_p ≤ y_i (not needed where y_i is fixed to 1)
    link = np.flatnonzero(~pb.fixed_open[pb.pair_facility] & ~pb.forbidden[pb.pair_facility])
    k = np.arange(link.size)
    R.add(
        np.concatenate([k, k]),
        np.concatenate([x0 + link, y0 + pb.pair_facility[link]]),
        np.concatenate([np.ones(link.size), -np.ones(link.size)]),
        np.full(link.size, -np.inf),
        np.zeros(link.size),
    )
    # pairs at a forbidden facility can never be used
    dead = np.flatnonzero(pb.forbidden[pb.pair_facility])
    if dead.size:
        R.add(
            np.arange(dead.size),
            x0 + dead,
            np.ones(dead.size),
            np.zeros(dead.size),
            np.zeros(dead.size),
        )
    # seats per level: Σ w x ≤ Q y + S m + o
    pl = pb.customer_level[pb.pair_customer]
    cap_row = -np.ones((n_f, n_l), dtype=np.int64)
    cap_row[cap_i, cap_l] = np.arange(cap_i.size)
    pr = cap_row[pb.pair_facility, pl]
    usep = np.flatnonzero(pr >= 0)
    mod_row = cap_row[mod_i, mod_l]
    mok = mod_row >= 0
    rows_c = [pr[usep], np.arange(cap_i.size), mod_row[mok]]
    cols_c = [x0 + usep, y0 + cap_i, m0 + np.flatnonzero(mok)]
    vals_c = [pb.pair_load[usep], -pb.capacity[cap_i, cap_l], -pb.module_seats[mod_l[mok]]]
    if soft:
        rows_c.append(np.arange(cap_i.size))
        cols_c.append(o0 + np.arange(cap_i.size))
        vals_c.append(-np.ones(cap_i.size))
    R.add(
        np.concatenate(rows_c),
        np.concatenate(cols_c),
        np.concatenate(vals_c),
        np.full(cap_i.size, -np.inf),
        np.zeros(cap_i.size),
    )
    # modules only at open facilities: m ≤ M y
    mrows = np.flatnonzero(~pb.fixed_open[mod_i])
    k = np.arange(mrows.size)
    R.add(
        np.concatenate([k, k]),
        np.concatenate([m0 + mrows, y0 + mod_i[mrows]]),
        np.concatenate([np.ones(mrows.size), -pb.max_modules[mod_i[mrows], mod_l[mrows]]]),
        np.full(mrows.size, -np.inf),
        np.zeros(mrows.size),
    )
    # joint module limit over levels: Σ_l m_il ≤ T_i
    if pb.module_limit is not None:
        multi = np.flatnonzero(np.bincount(mod_i, minlength=n_f) > 1)
        jrow = -np.ones(n_f, dtype=np.int64)
        jrow[multi] = np.arange(multi.size)
        jm = np.flatnonzero(jrow[mod_i] >= 0)
        R.add(
            jrow[mod_i[jm]],
            m0 + jm,
            np.ones(jm.size),
            np.full(multi.size, -np.inf),
            pb.module_limit[multi].astype(float),
        )
    # school-size limit on total load: Σ w x ≤ L y + e
    srow = -np.ones(n_f, dtype=np.int64)
    srow[size_i] = np.arange(size_i.size)
    sp = np.flatnonzero(srow[pb.pair_facility] >= 0)
    rows_s = [srow[pb.pair_facility[sp]], np.arange(size_i.size)]
    cols_s = [x0 + sp, y0 + size_i]
    vals_s = [pb.pair_load[sp], -pb.size_limit[size_i]]
    if soft:
        rows_s.append(np.arange(size_i.size))
        cols_s.append(e0 + np.arange(size_i.size))
        vals_s.append(-np.ones(size_i.size))
    R.add(
        np.concatenate(rows_s),
        np.concatenate(cols_s),
        np.concatenate(vals_s),
        np.full(size_i.size, -np.inf),
        np.zeros(size_i.size),
    )
    # minimum load of an open facility: Σ w x ≥ N y
    min_i = np.flatnonzero((pb.min_load > 0) & ~pb.forbidden)
    nrow = -np.ones(n_f, dtype=np.int64)
    nrow[min_i] = np.arange(min_i.size)
    npairs = np.flatnonzero(nrow[pb.pair_facility] >= 0)
    R.add(
        np.concatenate([nrow[pb.pair_facility[npairs]], np.arange(min_i.size)]),
        np.concatenate([x0 + npairs, y0 + min_i]),
        np.concatenate([pb.pair_load[npairs], -pb.min_load[min_i]]),
        np.zeros(min_i.size),
        np.full(min_i.size, np.inf),
    )
    # number of open facilities
    if pb.p is not None:
        R.add(
            np.zeros(n_f, dtype=np.int64),
            y0 + np.arange(n_f),
            np.ones(n_f),
            np.array([pb.p if pb.p_limit == "exactly" else -np.inf]),
            np.array([pb.p]),
        )
    # build budget
    if pb.budget is not None:
        bi = np.flatnonzero(pb.counts_in_budget & ~pb.fixed_open)
        R.add(
            np.zeros(bi.size + mod_i.size, dtype=np.int64),
            np.concatenate([y0 + bi, m0 + np.arange(mod_i.size)]),
            np.concatenate([pb.open_cost[bi], pb.module_cost[mod_i, mod_l]]),
            np.array([-np.inf]),
            np.array([pb.budget]),
        )

    cost = np.concatenate(col_cost)
    n_cols = cost.size
    h = new_highs()
    h.setOptionValue("output_flag", log)
    h.setOptionValue("random_seed", int(seed))
    h.setOptionValue("time_limit", float(max(time_limit, 0.01)))
    h.setOptionValue("mip_rel_gap", float(gap_limit))
    if integral_costs(pb):
        h.setOptionValue("mip_abs_gap", 0.999)
    else:
        h.setOptionValue("mip_abs_gap", 1e-6)
    for key, value in (options or {}).items():
        h.setOptionValue(key, value)
    h.addCols(
        n_cols,
        cost,
        np.concatenate(col_lo),
        np.concatenate(col_hi),
        0,
        np.zeros(n_cols, dtype=np.int32),
        np.zeros(0, dtype=np.int32),
        np.zeros(0),
    )
    a = coo_matrix(
        (np.concatenate(R.v), (np.concatenate(R.r), np.concatenate(R.c))), shape=(R.n, n_cols)
    ).tocsr()
    h.addRows(
        R.n,
        np.concatenate(R.lo),
        np.concatenate(R.hi),
        a.nnz,
        a.indptr.astype(np.int32),
        a.indices.astype(np.int32),
        a.data.astype(float),
    )
    if lp_only:
        # simplex: 4× faster than interior point on Osman–Christofides (0.23 s against
        # 0.9 s on pmedcap20), and a vertex is a sharper guide for rounding
        h.setOptionValue("solver", "simplex")
        h.setOptionValue("threads", 1)
        if ipm_after is not None:
            h.setOptionValue("simplex_iteration_limit", int(ipm_after))
        h.run()
        simplex_iterations = max(int(h.getInfo().simplex_iteration_count), 0)
        if ipm_after is not None and h.getModelStatus() == highspy.HighsModelStatus.kIterationLimit:
            h.setOptionValue("simplex_iteration_limit", 2**31 - 1)
            h.setOptionValue("solver", "ipm")
            h.setOptionValue("run_crossover", "on")
            h.run()
        sol = h.getSolution()
        duals = np.asarray(sol.row_dual)[:n_c].copy()
        col_val = np.asarray(sol.col_value)
        return RawSolve(
            "lp",
            float(h.getInfo().objective_function_value),
            -np.inf,
            np.zeros(n_f, bool),
            np.zeros((n_f, n_l), np.int64),
            -np.ones(n_c, np.int64),
            time.perf_counter() - t_start,
            {
                "duals": duals,
                "lp_status": h.modelStatusToString(h.getModelStatus()),
                # fractional values, a guide for open_search.lp_rounded_start
                "lp_open": col_val[y0 : y0 + n_f].copy(),
                "lp_assign": col_val[x0 : x0 + n_p].copy(),
                "lp_iterations": simplex_iterations,
                "lp_ipm_iterations": max(int(h.getInfo().ipm_iteration_count), 0),
                "lp_crossover_iterations": max(int(h.getInfo().crossover_iteration_count), 0),
                "lp_nnz": int(a.nnz),
            },
        )
    integ = np.concatenate(col_int)
    ints = np.flatnonzero(integ).astype(np.int32)
    h.changeColsIntegrality(
        ints.size, ints, np.full(ints.size, highspy.HighsVarType.kInteger, dtype=np.uint8)
    )

    def to_columns(s_open: np.ndarray, s_mod: np.ndarray, s_assign: np.ndarray) -> np.ndarray:
        """A plan as the model's column values (a customer without its pair goes to its
        fallback column, where it has one)."""
        val = np.zeros(n_cols)
        val[y0 : y0 + n_f] = s_open
        pos = assigned_pairs(pb, s_assign)
        val[x0 + pos[pos >= 0]] = 1.0
        u_pos = -np.ones(n_c, dtype=np.int64)
        u_pos[fb] = np.arange(fb.size)
        lost = (pos < 0) & (u_pos >= 0)
        val[u0 + u_pos[lost]] = 1.0
        val[m0 : m0 + mod_i.size] = np.asarray(s_mod)[mod_i, mod_l]
        if soft:
            ld = np.zeros((n_f, n_l))
            sel = val[x0 : x0 + n_p] > 0.5
            np.add.at(ld, (pb.pair_facility[sel], pl[sel]), pb.pair_load[sel])
            seats = pb.capacity * s_open[:, None] + np.asarray(s_mod) * pb.module_seats[None, :]
            over = np.maximum(ld - seats, 0.0)
            val[o0 : o0 + cap_i.size] = over[cap_i, cap_l]
            tot = ld.sum(axis=1)
            val[e0 : e0 + size_i.size] = np.maximum(tot - pb.size_limit * s_open, 0.0)[size_i]
        return val

    def from_columns(col: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The model's column values as a plan (open, modules, assign; −1 on a fallback)."""
        s_open = col[y0 : y0 + n_f] > 0.5
        s_mod = np.zeros((n_f, n_l), dtype=np.int64)
        s_mod[mod_i, mod_l] = np.round(col[m0 : m0 + mod_i.size]).astype(np.int64)
        xs = np.flatnonzero(col[x0 : x0 + n_p] > 0.5)
        s_assign = -np.ones(n_c, dtype=np.int64)
        s_assign[pb.pair_customer[xs]] = pb.pair_facility[xs]
        return s_open, s_mod, s_assign

    if start is not None:
        val = to_columns(*start)
        h.setSolution(n_cols, np.arange(n_cols, dtype=np.int32), val)
    if offers is not None:
        # plans another thread found while the MIP runs: HiGHS takes each as an incumbent
        # when it asks for user solutions (between its search stages), so it prunes with them
        seen = [0]
        no_modules = np.zeros((n_f, n_l), dtype=np.int64)

        def on_user(e: highspy.cb.HighsCallbackEvent) -> None:  # type: ignore[name-defined]
            version, plan = offers.latest()
            if version == seen[0] or plan is None:
                return
            seen[0] = version
            if plan[2] >= float(e.data_out.objective_function_value) - 1e-9:
                return
            if (assigned_pairs(pb, plan[1]) < 0).any():
                return  # the plan uses a pair this model does not have
            e.data_in.setSolution(to_columns(plan[0], no_modules, plan[1]))
            offers.taken += 1

        h.cbMipUserSolution.subscribe(on_user)

        def on_found(e: highspy.cb.HighsCallbackEvent) -> None:  # type: ignore[name-defined]
            o_e, _, a_e = from_columns(np.asarray(e.data_out.mip_solution))
            if (a_e >= 0).all() and mod_i.size == 0:
                offers.mip_found(o_e, a_e, float(e.data_out.objective_function_value))

        h.cbMipImprovingSolution.subscribe(on_found)

    if progress is not None:

        def on_improve(e: highspy.cb.HighsCallbackEvent) -> None:  # type: ignore[name-defined]
            progress(
                ProgressEvent(
                    time.perf_counter() - t0,
                    float(e.data_out.objective_function_value),
                    float(e.data_out.mip_dual_bound),
                    "highs",
                )
            )

        h.cbMipImprovingSolution.subscribe(on_improve)
    if stop is not None:

        def on_interrupt(e: highspy.cb.HighsCallbackEvent) -> None:  # type: ignore[name-defined]
            if stop.is_set():
                e.interrupt()

        h.cbMipInterrupt.subscribe(on_interrupt)

    # incumbents found within the plan's work limit: (node count, objective, columns)
    snapshot: list[tuple[int, float, np.ndarray]] = []
    if plan_nodes is not None:

        def on_plan(e: highspy.cb.HighsCallbackEvent) -> None:  # type: ignore[name-defined]
            node = int(e.data_out.mip_node_count)
            if node <= plan_nodes:
                obj_e = float(e.data_out.objective_function_value)
                snapshot.append((node, obj_e, np.array(e.data_out.mip_solution)))

        h.cbMipImprovingSolution.subscribe(on_plan)

    # the limit counts from the call: building the model and its start is part of it (the
    # start's pair index alone takes seconds on rl1304's 1.7 M pairs)
    h.setOptionValue("time_limit", float(max(time_limit - (time.perf_counter() - t_start), 0.01)))
    h.run()
    info_h = h.getInfo()
    presolve_mismatch = False
    if info_h.primal_solution_status == 2:
        # guard against a HiGHS 1.16 presolve/postsolve fault seen on Lagrangian-reduced
        # p-median models (pmed4): the reported objective and bound were 3022 while the
        # returned columns cost 3046 and the true optimum is 3034. On a mismatch the model is
        # solved again without presolve, and nothing from the first run is trusted.
        col_obj = float(np.dot(cost, np.asarray(h.getSolution().col_value)))
        rep = float(info_h.objective_function_value)
        if abs(col_obj - rep) > 1e-6 * max(1.0, abs(rep)):
            presolve_mismatch = True
            snapshot.clear()
            h.clearSolver()
            h.setOptionValue("presolve", "off")
            h.setOptionValue(
                "time_limit", float(max(time_limit - (time.perf_counter() - t_start), 0.01))
            )
            if start is not None:
                h.setSolution(n_cols, np.arange(n_cols, dtype=np.int32), val)
            h.run()
            info_h = h.getInfo()
    ms = h.getModelStatus()
    seconds = time.perf_counter() - t_start
    build_info: dict[str, object] = {
        "rows": R.n,
        "cols": n_cols,
        "nnz": int(a.nnz),
        "nodes": int(info_h.mip_node_count),
        "lp_iterations": max(int(info_h.simplex_iteration_count), 0),
        "presolve_mismatch": presolve_mismatch,
    }
    has_sol = info_h.primal_solution_status == 2
    if not has_sol:
        status = "infeasible" if ms == highspy.HighsModelStatus.kInfeasible else "no_solution"
        return RawSolve(
            status,
            float("inf"),
            float(info_h.mip_dual_bound)
            if ms != highspy.HighsModelStatus.kInfeasible
            else float("inf"),
            np.zeros(n_f, bool),
            np.zeros((n_f, n_l), np.int64),
            -np.ones(n_c, np.int64),
            seconds,
            build_info,
        )
    col = np.asarray(h.getSolution().col_value)
    optimal = ms == highspy.HighsModelStatus.kOptimal
    obj = float(info_h.objective_function_value)
    if plan_nodes is not None:
        # the run's final node count: it went past the limit, or the clock stopped it first
        build_info["plan_reached"] = bool(optimal or int(info_h.mip_node_count) > plan_nodes)
        build_info["plan_node"] = -1
        build_info["plan_trace"] = [(node, ob) for node, ob, _ in snapshot]
        if not optimal:
            # a finished run's optimum is the same under any load; otherwise the best
            # incumbent within the work limit, else the start
            if snapshot:
                build_info["plan_node"], obj, col = snapshot[-1]
            elif start is not None:
                col, obj = val, float(np.dot(cost, val))
    open_, modules, assign = from_columns(col)
    bound = float(info_h.mip_dual_bound)
    if optimal and integral_costs(pb):
        bound = max(bound, float(np.ceil(obj - 0.999 - 1e-9)))
        # integrality: nothing strictly below obj exists once obj − bound < 1
        bound = obj if obj - bound < 1.0 else bound
    return RawSolve(
        "optimal" if optimal else "feasible",
        obj,
        bound,
        open_,
        modules,
        assign,
        seconds,
        build_info,
    )
