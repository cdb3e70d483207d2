"""The catchment formulation as linear rows, and its HiGHS (highspy) MIP backend.

Formulation (one level; pairs ``p = (u, s)`` are the allowed sparse pairs of the problem)
-----------------------------------------------------------------------------------------
Variables
    ``x_p ∈ {0, 1}``   unit ``u`` goes to school ``s``;
    ``o_s ≥ 0``        overflow pupils at school ``s`` (integer);
    ``e_s ≥ 0``        migrant-balance excess at ``s`` in pupils (only with ``balance_delta``);
    ``f_e ≥ 0``        flow on a neighbour edge (only with ``contiguity="exact"``).
Objective (minimise)
    ``W_o Σ o_s + Σ_p m_u (W_t c_p + W_m [s ≠ today's school of u]) x_p + W_b Σ e_s
    + W_t × (enrolled pupils' travel, a constant)``, with ``m_u`` the movable pupils of ``u``.
Rows (one function per family below)
    * one school per unit: ``Σ_{p ∋ u} x_p = 1``;
    * soft capacity: ``Σ_{p ∋ s} m_u x_p − o_s ≤ seats_s − enrolled_s``;
    * stability cap: ``Σ_u m_u (1 − x_{u, today}) ≤ cap``;
    * migrant balance band: ``±(mig_s − r·load_s) − δ·load_s ≤ e_s``;
    * closer neighbour: ``x_p ≤ Σ_{q ∈ support(p)} x_q`` for non-exempt ``p``;
    * exact contiguity (single-commodity flow per school from the school's unit): for every
      non-root pair ``inflow − outflow = x_p`` and ``f_e ≤ M_s x`` at both ends of ``e``.
Locking, closed/candidate schools and the travel rules are already applied by
:func:`.problem.build_problem` (only allowed pairs exist).

Without contiguity and balance, the LP relaxation is a transportation problem: a basic optimal
solution splits at most (#schools + 1) units (see :mod:`.lp`).

CP-SAT solves the same rows (:mod:`.cpsat`); each variable and row carries an integer scale
for it (balance rows and ``e_s`` use 1/1000 pupil).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import highspy
import numpy as np
import scipy.sparse as sp

from solvers.catchment.problem import CatchmentProblem
from solvers.catchment.types import CatchmentSettings
from solvers.highs_model import new_highs
from solvers.progress import ProgressEvent, ProgressFn

#: CP-SAT scale of the balance rows and of ``e_s`` (1/1000 pupil).
BALANCE_SCALE = 1000


@dataclass(frozen=True, eq=False)
class LinearModel:
    """A MILP in row form: ``row_lo ≤ A v ≤ row_hi``, ``lb ≤ v ≤ ub``, minimise ``obj·v + offset``.

    ``cols`` maps a variable family to its slice; ``families`` maps a row family to its slice.
    ``var_scale``/``row_scale`` are the integer scales CP-SAT uses for each column and row.
    """

    obj: np.ndarray
    offset: float
    lb: np.ndarray
    ub: np.ndarray
    integer: np.ndarray
    A: sp.csr_matrix
    row_lo: np.ndarray
    row_hi: np.ndarray
    var_scale: np.ndarray
    row_scale: np.ndarray
    cols: dict[str, slice]
    families: dict[str, slice]

    @property
    def n_cols(self) -> int:
        """Number of variables."""
        return int(self.obj.size)

    def x(self, values: np.ndarray) -> np.ndarray:
        """The assignment part of a solution vector."""
        return values[self.cols["x"]]

    def with_upper(self, ub: np.ndarray) -> LinearModel:
        """A copy with other upper bounds (reduced-cost fixing)."""
        return LinearModel(
            self.obj, self.offset, self.lb, ub, self.integer, self.A, self.row_lo,
            self.row_hi, self.var_scale, self.row_scale, self.cols, self.families,
        )  # fmt: skip

    def with_overflow_range(self, lo: float, hi: float) -> LinearModel:
        """A copy with one more row, ``lo ≤ Σ_s o_s ≤ hi`` (family ``overflow_total``).

        The lexicographic overflow pass (:mod:`.solve`) splits the plans by their total
        overflow: ``Σ o ≤ K`` (a MIP) or ``Σ o ≥ K + 1`` (an LP bound suffices).
        """
        o = self.cols["overflow"]
        row = np.zeros((1, self.n_cols))
        row[0, o] = 1.0
        A = sp.vstack([self.A, sp.csr_matrix(row)], format="csr")
        n = int(self.row_lo.size)
        return LinearModel(
            self.obj, self.offset, self.lb, self.ub, self.integer, A,
            np.r_[self.row_lo, lo], np.r_[self.row_hi, hi], self.var_scale,
            np.r_[self.row_scale, 1], self.cols, {**self.families, "overflow_total": slice(n, n + 1)},
        )  # fmt: skip


@dataclass
class _Rows:
    """Collects rows as COO triplets, family by family."""

    r: list[np.ndarray] = field(default_factory=list)
    c: list[np.ndarray] = field(default_factory=list)
    v: list[np.ndarray] = field(default_factory=list)
    lo: list[np.ndarray] = field(default_factory=list)
    hi: list[np.ndarray] = field(default_factory=list)
    scale: list[np.ndarray] = field(default_factory=list)
    families: dict[str, slice] = field(default_factory=dict)
    n: int = 0

    def add(
        self,
        name: str,
        row: np.ndarray,
        col: np.ndarray,
        val: np.ndarray,
        lo: np.ndarray,
        hi: np.ndarray,
        scale: int = 1,
    ) -> None:
        m = int(lo.size)
        self.r.append(np.asarray(row, dtype=np.int64) + self.n)
        self.c.append(np.asarray(col, dtype=np.int64))
        self.v.append(np.asarray(val, dtype=float))
        self.lo.append(np.asarray(lo, dtype=float))
        self.hi.append(np.asarray(hi, dtype=float))
        self.scale.append(np.full(m, scale, dtype=np.int64))
        self.families[name] = slice(self.n, self.n + m)
        self.n += m


# -- constraint families ------------------------------------------------------------------


def one_school_per_unit(rows: _Rows, pb: CatchmentProblem) -> None:
    """A planning unit belongs to exactly one school per level (units with a pair)."""
    units = np.flatnonzero(np.diff(pb.unit_ptr) > 0)
    row_of_unit = np.full(pb.n_units, -1, dtype=np.int64)
    row_of_unit[units] = np.arange(units.size)
    p = np.arange(pb.n_pairs)
    ones = np.ones(units.size)
    rows.add("one_school_per_unit", row_of_unit[pb.pair_unit], p, np.ones(p.size), ones, ones)


def soft_capacity(rows: _Rows, pb: CatchmentProblem, o0: int) -> None:
    """A school's pupils (placed + enrolled) fit its seats, or the excess is overflow ``o_s``."""
    S = pb.n_schools
    m = pb.movable[pb.pair_unit].astype(float)
    nz = m > 0
    p = np.flatnonzero(nz)
    r = np.r_[pb.pair_school[p], np.arange(S)]
    c = np.r_[p, o0 + np.arange(S)]
    v = np.r_[m[p], -np.ones(S)]
    hi = (pb.seats - pb.fixed_load).astype(float)
    rows.add("soft_capacity", r, c, v, np.full(S, -np.inf), hi)


def stability_cap(rows: _Rows, pb: CatchmentProblem) -> None:
    """At most ``moved_cap`` pupils leave today's school (max_moved_share)."""
    if pb.moved_cap is None:
        return
    has_cur = pb.current >= 0
    stay = np.flatnonzero(pb.current_pair >= 0)
    # Σ_u m_u (1 − x_cur) ≤ cap  ⇔  −Σ m_u x_cur ≤ cap − Σ_{u with a today's school} m_u
    hi = float(pb.moved_cap - pb.movable[has_cur].sum())
    cols = pb.current_pair[stay]
    vals = -pb.movable[stay].astype(float)
    keep = vals != 0
    rows.add(
        "stability_cap",
        np.zeros(int(keep.sum())),
        cols[keep],
        vals[keep],
        np.array([-np.inf]),
        np.array([hi]),
    )


def balance_band(rows: _Rows, pb: CatchmentProblem, e0: int, delta: float) -> None:
    """Each school's migrant share is within ±δ of the county share, or the excess is ``e_s``."""
    S = pb.n_schools
    r = pb.county_migrant_share
    m = pb.movable[pb.pair_unit].astype(float)
    g = pb.migrant[pb.pair_unit]
    p = np.arange(pb.n_pairs)
    s = pb.pair_school
    fl, fm = pb.fixed_load.astype(float), pb.fixed_migrant
    # upper: mig − (r+δ) load − e ≤ 0 ; lower: (r−δ) load − mig − e ≤ 0 (rows 2s, 2s+1)
    rr = np.r_[2 * s, 2 * s + 1, 2 * np.arange(S), 2 * np.arange(S) + 1]
    cc = np.r_[p, p, e0 + np.arange(S), e0 + np.arange(S)]
    vv = np.r_[g - (r + delta) * m, (r - delta) * m - g, -np.ones(S), -np.ones(S)]
    hi = np.empty(2 * S)
    hi[0::2] = (r + delta) * fl - fm
    hi[1::2] = fm - (r - delta) * fl
    rows.add("balance_band", rr, cc, vv, np.full(2 * S, -np.inf), hi, scale=BALANCE_SCALE)


def closer_neighbour(rows: _Rows, pb: CatchmentProblem) -> None:
    """A unit may join a school only if a neighbour strictly nearer to it also joins it."""
    cd = pb.contig
    assert cd is not None
    rows_p = np.flatnonzero(~cd.exempt & (np.diff(cd.support_ptr) > 0))
    row_of = np.full(pb.n_pairs, -1, dtype=np.int64)
    row_of[rows_p] = np.arange(rows_p.size)
    counts = np.diff(cd.support_ptr)
    owner = np.repeat(np.arange(pb.n_pairs), counts)
    sel = row_of[owner] >= 0
    r = np.r_[np.arange(rows_p.size), row_of[owner[sel]]]
    c = np.r_[rows_p, cd.support_idx[sel]]
    v = np.r_[np.ones(rows_p.size), -np.ones(int(sel.sum()))]
    rows.add("closer_neighbour", r, c, v, np.full(rows_p.size, -np.inf), np.zeros(rows_p.size))


def exact_flow(rows: _Rows, pb: CatchmentProblem, f0: int) -> tuple[np.ndarray, np.ndarray]:
    """Each catchment is connected: flow from the school's unit reaches every unit it takes.

    Returns the (p, q) pair arrays of the flow edges (flow goes from unit of p to unit of q)
    and each edge's big-M.
    """
    cd = pb.contig
    assert cd is not None
    S = pb.n_schools
    root = pb.pair_index(cd.own_unit, np.arange(S))
    root = np.where(cd.own_unit >= 0, root, -1)
    is_root = np.zeros(pb.n_pairs, dtype=bool)
    is_root[root[root >= 0]] = True
    free = cd.exempt & ~is_root  # stranded: neither carries nor needs flow
    ep, eq = cd.nb_p, cd.nb_q
    ok = ~is_root[eq] & ~free[ep] & ~free[eq]
    ep, eq = ep[ok], eq[ok]
    n_e = ep.size
    bigm = np.maximum(np.bincount(pb.pair_school, minlength=S) - 1, 1).astype(float)[
        pb.pair_school[ep]
    ]
    # Conservation at every non-root, non-free pair: inflow − outflow − x_p = 0.
    cons = np.flatnonzero(~is_root & ~free)
    row_of = np.full(pb.n_pairs, -1, dtype=np.int64)
    row_of[cons] = np.arange(cons.size)
    fe = f0 + np.arange(n_e)
    r = np.r_[row_of[eq], row_of[ep], row_of[cons]]
    c = np.r_[fe, fe, cons]
    v = np.r_[np.ones(n_e), -np.ones(n_e), -np.ones(cons.size)]
    keep = r >= 0
    z = np.zeros(cons.size)
    rows.add("flow_conservation", r[keep], c[keep], v[keep], z, z)
    # Capacity: f_e ≤ M x at both ends (flow only inside the catchment).
    k = np.arange(n_e)
    r = np.r_[k, k, n_e + k, n_e + k]
    c = np.r_[fe, ep, fe, eq]
    v = np.r_[np.ones(n_e), -bigm, np.ones(n_e), -bigm]
    rows.add("flow_capacity", r, c, v, np.full(2 * n_e, -np.inf), np.zeros(2 * n_e))
    return ep, bigm


def build_model(pb: CatchmentProblem, settings: CatchmentSettings) -> LinearModel:
    """Compile a problem and settings into a :class:`LinearModel` (formulation in module doc)."""
    w = settings.weights
    P, S = pb.n_pairs, pb.n_schools
    moved = (pb.current[pb.pair_unit] >= 0) & (pb.pair_school != pb.current[pb.pair_unit])
    per_pupil = w.travel * pb.pair_cost + w.moved * moved
    obj = [pb.movable[pb.pair_unit] * per_pupil, np.full(S, w.overflow)]
    total = float(pb.movable.sum() + pb.fixed_load.sum())
    lb = [np.zeros(P), np.maximum(pb.fixed_load - pb.seats, 0).astype(float)]
    ub = [np.ones(P), np.full(S, max(total, 0.0))]
    integer = [np.ones(P, bool), np.ones(S, bool)]
    var_scale = [np.ones(P, np.int64), np.ones(S, np.int64)]
    cols = {"x": slice(0, P), "overflow": slice(P, P + S)}
    n = P + S
    rows = _Rows()
    one_school_per_unit(rows, pb)
    soft_capacity(rows, pb, P)
    stability_cap(rows, pb)
    if settings.balance_delta is not None:
        cols["balance"] = slice(n, n + S)
        balance_band(rows, pb, n, settings.balance_delta)
        obj.append(np.full(S, w.balance))
        lb.append(np.zeros(S))
        ub.append(np.full(S, max(total, 0.0)))
        integer.append(np.zeros(S, bool))
        var_scale.append(np.full(S, BALANCE_SCALE, np.int64))
        n += S
    if pb.contiguity == "closer_neighbour":
        closer_neighbour(rows, pb)
    elif pb.contiguity == "exact":
        ep, bigm = exact_flow(rows, pb, n)
        ne = ep.size
        cols["flow"] = slice(n, n + ne)
        obj.append(np.zeros(ne))
        lb.append(np.zeros(ne))
        ub.append(bigm)
        integer.append(np.ones(ne, bool))
        var_scale.append(np.ones(ne, np.int64))
        n += ne
    A = sp.csr_matrix(
        (np.concatenate(rows.v), (np.concatenate(rows.r), np.concatenate(rows.c))),
        shape=(rows.n, n),
    )
    A.sum_duplicates()
    return LinearModel(
        obj=np.concatenate(obj).astype(float),
        offset=float(w.travel * pb.fixed_travel),
        lb=np.concatenate(lb),
        ub=np.concatenate(ub),
        integer=np.concatenate(integer),
        A=A,
        row_lo=np.concatenate(rows.lo),
        row_hi=np.concatenate(rows.hi),
        var_scale=np.concatenate(var_scale),
        row_scale=np.concatenate(rows.scale),
        cols=cols,
        families=rows.families,
    )


# -- HiGHS ---------------------------------------------------------------------------------


def make_highs(model: LinearModel, *, integer: bool, seed: int) -> highspy.Highs:
    """A silent, deterministic :class:`highspy.Highs` holding the model (MIP or its LP)."""
    h = new_highs()
    h.setOptionValue("random_seed", int(seed))
    lp = highspy.HighsLp()
    lp.num_col_ = model.n_cols
    lp.num_row_ = int(model.row_lo.size)
    lp.col_cost_ = model.obj
    lp.col_lower_ = model.lb
    lp.col_upper_ = model.ub
    inf = highspy.kHighsInf
    lp.row_lower_ = np.where(np.isfinite(model.row_lo), model.row_lo, -inf)
    lp.row_upper_ = np.where(np.isfinite(model.row_hi), model.row_hi, inf)
    lp.offset_ = model.offset
    csc = model.A.tocsc()
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = csc.indptr.astype(np.int32)
    lp.a_matrix_.index_ = csc.indices.astype(np.int32)
    lp.a_matrix_.value_ = csc.data
    lp.a_matrix_.num_col_ = model.n_cols
    lp.a_matrix_.num_row_ = int(model.row_lo.size)
    if integer:
        lp.integrality_ = [
            highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
            for i in model.integer
        ]
    h.passModel(lp)
    return h


@dataclass
class RawResult:
    """A backend's answer on a :class:`LinearModel` (values in model units)."""

    values: np.ndarray | None
    status: str  # "optimal" | "feasible" | "infeasible" | "unknown"
    bound: float
    first_feasible_seconds: float | None
    seconds: float
    info: dict[str, object] = field(default_factory=dict)
    clock_cut: bool = False  # stopped by the wall clock or ``stop`` (not deterministic)


def solve_highs(
    model: LinearModel,
    settings: CatchmentSettings,
    *,
    time_limit: float,
    hint: np.ndarray | None = None,
    progress: ProgressFn | None = None,
    stop: threading.Event | None = None,
    t0: float | None = None,
    gap: float | None = None,
    checkpoint_limit: int | None = None,
    node_limit: int | None = None,
    solution_limit: int | None = None,
) -> RawResult:
    """Solve the MIP with HiGHS (one thread, ``random_seed=settings.seed``: deterministic).

    ``time_limit`` counts from the call, model passing included. HiGHS can overshoot its own
    limit (root LP, presolve of a large MIP), so a wall-clock deadline is also enforced through
    the MIP and simplex interrupt callbacks, which also serve ``stop``. Progress is reported on
    every improving solution (times from ``t0``). ``gap`` overrides ``settings.gap_limit``.

    Work limits (deterministic: the search stops at the same point on any machine):
    ``checkpoint_limit`` on the calls of the MIP interrupt callback (HiGHS calls it at fixed
    points of its search: after presolve steps, separation rounds, heuristics and nodes; it
    reports no simplex iterations there, and ``simplex_iteration_limit`` does not bound a MIP)
    and ``node_limit`` (``mip_max_nodes``); ``solution_limit`` stops after that many improving
    solutions (``mip_max_improving_sols``; the MIP start ``hint`` is not counted). ``info``
    reports ``mip_checkpoints``, ``lp_iterations`` and ``mip_nodes``; ``clock_cut`` tells
    whether the clock or ``stop`` ended the search.
    """
    start = time.perf_counter()
    t0 = start if t0 is None else t0
    deadline = start + max(time_limit, 0.01)
    h = make_highs(model, integer=True, seed=settings.seed)
    left = deadline - time.perf_counter()
    if left <= 0:
        return RawResult(None, "unknown", -np.inf, None, time.perf_counter() - t0, {})
    h.setOptionValue("time_limit", float(max(left, 0.01)))
    h.setOptionValue("mip_rel_gap", float(settings.gap_limit if gap is None else gap))
    # HiGHS 1.16's root reduced-cost heuristic solves nested sub-MIPs whose presolve
    # (strengthenInequalities) can run for minutes without calling any callback, so neither
    # the deadline nor `stop` can end it (seen on the sample county's overflow pass at 20 s).
    h.setOptionValue("mip_heuristic_run_root_reduced_cost", False)
    if node_limit is not None:
        h.setOptionValue("mip_max_nodes", int(max(node_limit, 1)))
    if solution_limit is not None:
        h.setOptionValue("mip_max_improving_sols", int(max(solution_limit, 1)))
    first: list[float] = []
    cut: list[bool] = []
    checkpoints = [0]

    def on_improve(e: object) -> None:
        now = time.perf_counter() - t0
        if not first:
            first.append(now)
        if progress is not None:
            d = e.data_out  # type: ignore[attr-defined]
            progress(
                ProgressEvent(
                    now, float(d.objective_function_value), float(d.mip_dual_bound), "highs"
                )
            )

    def on_interrupt(e: object) -> None:
        if (stop is not None and stop.is_set()) or time.perf_counter() > deadline:
            cut.append(True)
            e.data_in.user_interrupt = True  # type: ignore[attr-defined]

    def on_mip_interrupt(e: object) -> None:
        on_interrupt(e)
        checkpoints[0] += 1
        if checkpoint_limit is not None and checkpoints[0] >= checkpoint_limit:
            e.data_in.user_interrupt = True  # type: ignore[attr-defined]

    h.cbMipImprovingSolution.subscribe(on_improve)
    h.cbMipInterrupt.subscribe(on_mip_interrupt)
    h.cbSimplexInterrupt.subscribe(on_interrupt)
    if hint is not None:
        sol = highspy.HighsSolution()
        sol.col_value = list(map(float, hint))
        sol.value_valid = True
        h.setSolution(sol)
    h.run()
    st = h.getModelStatus()
    info = h.getInfo()
    if st == highspy.HighsModelStatus.kTimeLimit:
        cut.append(True)
    has_sol = info.primal_solution_status == 2
    values = np.asarray(h.getSolution().col_value) if has_sol else None
    if st == highspy.HighsModelStatus.kOptimal:
        status = "optimal"
    elif st == highspy.HighsModelStatus.kInfeasible:
        status = "infeasible"
    else:
        status = "feasible" if has_sol else "unknown"
    bound = float(info.mip_dual_bound) if np.isfinite(info.mip_dual_bound) else -np.inf
    return RawResult(
        values=values,
        status=status,
        bound=bound,
        first_feasible_seconds=first[0] if first else None,
        seconds=time.perf_counter() - t0,
        info={
            "highs_status": h.modelStatusToString(st),
            "mip_nodes": int(info.mip_node_count),
            "lp_iterations": int(info.simplex_iteration_count),
            "mip_checkpoints": checkpoints[0],
        },
        clock_cut=bool(cut),
    )
