"""The rotation model as a HiGHS MIP, solved lexicographically in three passes.

Same formulation as :mod:`solvers.rotation.model` (see its docstring): integer ``x_gj`` per
teacher group g and candidate target j (the ``max_targets`` nearest / needing schools of
:func:`~solvers.rotation.problem.build_problem`), quota, per-school quota, backbone share,
leave/arrive caps, subject protection, couples, locks; shortfall; the convex per-school balance
term by secant cuts through consecutive integers; commute, preferences, moves; the published
tie-break. Built in numpy blocks with :class:`~solvers.highs_model.SparseMip`.

Passes (instead of one objective with weights from 5 to 10⁹, whose spread ruins LP numerics
and makes a relative MIP gap of 10⁻⁶ blind to everything below shortfall):

1. **shortfall**: minimise ``Σ w_ju short_ju`` (w = 1, or ``village_pe_arts`` for PE/arts at
   village schools); integer-valued, so fixing ``≤ S*`` afterwards is exact;
2. **rest**: with ``Σ w short ≤ S*``, minimise ``W_b Σ CV² + W_c Σ km·x + W_p Σ steps·x +
   W_m R``, the remaining tiers with their own weights, scaled by :data:`TIER2_SCALE` (so one km
   costs 1) to keep the coefficients within about 10⁴ of each other;
3. **tie-break**: with the pass-2 objective ``≤`` its value (+ a 10⁻⁹ relative tolerance),
   minimise ``Σ_g T_g(y_g)``; ``T_g`` is convex (members in tie-break order, rank increments
   grow), written as ``y_g = Σ_m δ_gm``, ``0 ≤ δ ≤ 1`` at cost ``rank_m + 1``, which the LP fills
   in order.

This equals the weighted objective of the CP-SAT model whenever the lower tiers stay below one
shortfall weight (10⁹), the premise of :class:`~solvers.rotation.settings.ObjectiveWeights`.
Differences: the balance values are not rounded to integers, and commute uses exact km.

Each pass starts from the previous one's list (pass 1 from the HR greedy list, when valid).
HiGHS runs single-threaded with ``random_seed = settings.seed``; a pass that reaches optimality
(HiGHS relative gap ``≤ settings.mip_gap``) is reproducible, one stopped by the time limit may
not be.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import highspy
import numpy as np
import scipy.sparse as sp

from planner.errors import InfeasiblePlan
from planner.policy import LEVELS, Policy
from solvers.highs_model import INF, MipResult, SparseMip
from solvers.progress import ProgressFn
from solvers.rotation.model import ModelSolution
from solvers.rotation.problem import RotationProblem
from solvers.rotation.settings import RotationSettings

#: Pass-2 costs are the weights times this (commute_per_km = 100 → 1 per km).
TIER2_SCALE = 0.01
#: Relative slack on the pass-2 objective kept by the tie-break pass.
TIE_TOL = 1e-9


@dataclass
class _Model:
    """The built MIP and the index arrays needed to complete a start vector.

    Columns: ``x`` (0..nx−1), ``y`` (group totals, nx..nx+ny−1), then ``a`` (net flow per
    (school, subject) key), ``short``, ``c`` (indicator counts), ``z`` (balance epigraphs).
    Entries ``(row, col, coef)`` refer to the x/y part only.
    """

    mip: SparseMip
    nx: int
    xg: np.ndarray  # group per x column
    xj: np.ndarray  # target school per x column
    key: np.ndarray  # xg * S + xj, strictly increasing
    ypos: np.ndarray  # y position per group (−1 = no targets)
    y_cols: np.ndarray
    a_cols: np.ndarray
    a_ent: tuple[np.ndarray, np.ndarray, np.ndarray]
    short_cols: np.ndarray
    short_rhs: np.ndarray  # need − count per key
    short_w: np.ndarray
    c_cols: np.ndarray
    c_base: np.ndarray
    c_ent: tuple[np.ndarray, np.ndarray, np.ndarray]
    z_cols: np.ndarray
    cut_z: np.ndarray  # z position per cut
    cut_c: np.ndarray  # c position per cut
    cut_slope: np.ndarray
    cut_icpt: np.ndarray
    z_lb: np.ndarray
    cost2: np.ndarray  # pass-2 cost of every column so far


def _segments(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(owner, a) for every integer a in [lo_k, hi_k) of every segment k."""
    n = np.maximum(hi - lo, 0)
    owner = np.repeat(np.arange(len(lo)), n)
    start = np.repeat(np.cumsum(n) - n, n)
    a = lo[owner] + (np.arange(int(n.sum())) - start)
    return owner, a


def _build(p: RotationProblem, settings: RotationSettings, policy: Policy) -> _Model:
    """Passes 1–2 variables and rows (see the module docstring)."""
    w = settings.weights
    S, U = p.need.shape
    G = p.groups
    mip = SparseMip()
    empty_f, empty_i = np.zeros(0), np.zeros(0, dtype=np.int64)
    lens = np.array([len(g.targets) for g in G], dtype=np.int64)
    ga = np.flatnonzero(lens > 0)  # groups that may move
    ny = len(ga)
    size = np.array([len(G[g].members) for g in ga], dtype=np.int64)
    gs = np.array([G[g].school for g in ga], dtype=np.int64)
    gu = np.array([G[g].subject for g in ga], dtype=np.int64)
    gf = np.array([G[g].flags for g in ga], dtype=bool).reshape(ny, 3)
    locked = np.array([G[g].locked for g in ga], dtype=np.int64)
    xy_ = np.repeat(np.arange(ny), lens[ga])  # y position per x
    xg = ga[xy_]
    nx = len(xg)
    xj = np.concatenate([np.asarray(G[g].targets, np.int64) for g in ga] or [empty_i])
    km = np.concatenate([np.asarray(G[g].commute_km, float) for g in ga] or [empty_f])
    steps = np.concatenate(
        [
            np.where(G[g].pref_rank > 0, G[g].pref_rank - 1, G[g].pref_rank.max())
            if G[g].pref_rank.any()
            else np.zeros(lens[g])
            for g in ga
        ]
        or [empty_f]
    ).astype(float)

    # x: teachers of group g to school j; y_g = Σ_j x_gj
    x = mip.add_vars(
        nx, lb=(locked[xy_] == xj).astype(float), ub=size[xy_].astype(float), integer=True
    )
    y = mip.add_vars(ny, lb=0.0, ub=size.astype(float))
    cost2 = [(w.commute_per_km * km + w.preference_step * steps) * TIER2_SCALE]
    cost2.append(np.full(ny, w.move * TIER2_SCALE))
    one_x, one_y = np.ones(nx), np.ones(ny)
    mip.add_rows(
        np.concatenate([xy_, np.arange(ny)]),
        np.concatenate([x, y]),
        np.concatenate([one_x, -one_y]),
        lower=0.0,
        upper=0.0,
        n_rows=ny,
    )
    # caps, quotas, backbone
    mip.add_rows(gs, y, one_y, lower=-INF, upper=p.leave_cap.astype(float), n_rows=S)
    mip.add_rows(xj, x, one_x, lower=-INF, upper=p.arrive_cap.astype(float), n_rows=S)
    zero_y = np.zeros(ny, np.int64)
    mip.add_rows(zero_y, y, one_y, lower=float(p.quota), upper=INF, n_rows=1)
    if p.school_quota:
        qs = np.array(sorted(p.school_quota), dtype=np.int64)
        qmap = np.full(S, -1, dtype=np.int64)
        qmap[qs] = np.arange(len(qs))
        sel = qmap[gs] >= 0
        lo_q = np.array([p.school_quota[int(s)] for s in qs], dtype=float)
        mip.add_rows(qmap[gs[sel]], y[sel], one_y[sel], lower=lo_q, upper=INF, n_rows=len(qs))
    bb = gf[:, 1]
    if policy.backbone_denominator == "rotated":
        num, den = p.backbone_share.numerator, p.backbone_share.denominator
        mip.add_rows(zero_y, y, den * bb - num, lower=0.0, upper=INF, n_rows=1)
    else:
        mip.add_rows(zero_y[bb], y[bb], one_y[bb], lower=float(p.backbone_min), upper=INF, n_rows=1)

    # net flow a_su on (school, subject) keys with a need; protection bounds it below
    ek = np.concatenate([xj * U + gu[xy_], gs * U + gu])
    ec = np.concatenate([x, y])
    ev = np.concatenate([one_x, -one_y])
    need_f, cnt_f = p.need.ravel(), p.count.ravel()
    keep = need_f[ek] > 0
    ek, ec, ev = ek[keep], ec[keep], ev[keep]
    keys, row = np.unique(ek, return_inverse=True)
    nk = len(keys)
    need_k, cnt_k = need_f[keys].astype(float), cnt_f[keys].astype(float)
    has_out = np.zeros(nk, bool)
    has_out[row[ev < 0]] = True
    a_lb = np.where(has_out, np.minimum(cnt_k, need_k) - cnt_k, 0.0)
    acols = mip.add_vars(nk, lb=a_lb, ub=INF)
    mip.add_rows(
        np.concatenate([row, np.arange(nk)]),
        np.concatenate([ec, acols]),
        np.concatenate([-ev, np.ones(nk)]),
        lower=0.0,
        upper=0.0,
        n_rows=nk,
    )
    # shortfall ≥ need − count − a
    village = p.category == "village"
    pe_arts = np.array([u in policy.pe_arts_subjects for u in p.subjects], dtype=bool)
    ks, ku = keys // U, keys % U
    short_w = np.where(village[ks] & pe_arts[ku], float(w.village_pe_arts), 1.0)
    sf = mip.add_vars(nk, lb=0.0, ub=need_k)
    mip.add_rows(
        np.tile(np.arange(nk), 2),
        np.concatenate([sf, acols]),
        np.ones(2 * nk),
        lower=need_k - cnt_k,
        upper=INF,
        n_rows=nk,
    )
    cost2 += [np.zeros(nk), np.zeros(nk)]

    # balance: c_ik = indicator teachers at i after the moves; z ≥ secants of the square
    c_parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    c_school, c_ind, c_lo, c_hi = [], [], [], []
    n_c = 0
    for k in range(3):
        fx, fy = gf[xy_, k], gf[:, k]
        sch = np.concatenate([xj[fx], gs[fy]])
        col = np.concatenate([x[fx], y[fy]])
        val = np.concatenate([one_x[fx], -one_y[fy]])
        touched, r = np.unique(sch, return_inverse=True)
        in_any = np.zeros(len(touched), bool)
        in_any[r[val > 0]] = True
        out_any = np.zeros(len(touched), bool)
        out_any[r[val < 0]] = True
        base = p.ind_counts[touched, k]
        c_parts.append((r + n_c, col, val))
        c_school.append(touched)
        c_ind.append(np.full(len(touched), k))
        c_lo.append(np.maximum(0, base - np.where(out_any, p.leave_cap[touched], 0)))
        c_hi.append(base + np.where(in_any, p.arrive_cap[touched], 0))
        n_c += len(touched)
    cs, ci = np.concatenate(c_school), np.concatenate(c_ind)
    clo, chi = np.concatenate(c_lo), np.concatenate(c_hi)
    c_base = p.ind_counts[cs, ci].astype(float)
    ccols = mip.add_vars(n_c, lb=clo.astype(float), ub=chi.astype(float))
    cr = np.concatenate([q[0] for q in c_parts])
    c_ent = (cr, np.concatenate([q[1] for q in c_parts]), np.concatenate([q[2] for q in c_parts]))
    mip.add_rows(
        np.concatenate([cr, np.arange(n_c)]),
        np.concatenate([c_ent[1], ccols]),
        np.concatenate([-c_ent[2], np.ones(n_c)]),
        lower=c_base,
        upper=c_base,
        n_rows=n_c,
    )
    cost2.append(np.zeros(n_c))
    cpos = np.full((S, 3), -1, dtype=np.int64)
    cpos[cs, ci] = np.arange(n_c)
    total = p.pupils.sum(axis=1)
    z_c, z_alpha, z_m = [], [], []
    for li, level in enumerate(LEVELS):
        pos = p.cv_positions[level]
        if len(pos) == 0:
            continue
        n = p.pupils[pos, li]
        N = float(n.sum())
        for k in range(3):
            xbar = float((n * 100.0 * p.ind_counts[pos, k] / total[pos]).sum() / N)
            if xbar <= 0:
                continue
            sel = cpos[pos, k] >= 0
            i = pos[sel]
            z_c.append(cpos[i, k])
            z_alpha.append(1e4 * n[sel] / (N * xbar**2 * total[i] ** 2))
            z_m.append(total[i] * xbar / 100.0)
    zc = np.concatenate(z_c or [empty_i])
    alpha = np.concatenate(z_alpha or [empty_f]) * w.balance * TIER2_SCALE
    mm = np.concatenate(z_m or [empty_f])
    lo_z, hi_z = clo[zc], chi[zc]
    # z ≥ the least square over the integers of [lo, hi]
    z_lb = alpha * np.minimum(
        (np.clip(np.floor(mm), lo_z, hi_z) - mm) ** 2, (np.clip(np.ceil(mm), lo_z, hi_z) - mm) ** 2
    )
    nz = len(zc)
    zcols = mip.add_vars(nz, lb=z_lb, ub=INF)
    cost2.append(np.ones(nz))
    owner, a = _segments(lo_z, hi_z)
    slope = alpha[owner] * (2.0 * (a - mm[owner]) + 1.0)  # f(a + 1) − f(a)
    icpt = alpha[owner] * (a - mm[owner]) ** 2 - slope * a
    ncut = len(owner)
    mip.add_rows(
        np.tile(np.arange(ncut), 2),
        np.concatenate([zcols[owner], ccols[zc[owner]]]),
        np.concatenate([np.ones(ncut), -slope]),
        lower=icpt,
        upper=INF,
        n_rows=ncut,
    )

    ypos = np.full(len(G), -1, dtype=np.int64)
    ypos[ga] = np.arange(ny)
    _couples(p, settings, mip, x, y, xg, xj, ypos, S)
    return _Model(
        mip=mip,
        nx=nx,
        xg=xg,
        xj=xj,
        key=xg * S + xj,
        ypos=ypos,
        y_cols=y,
        a_cols=acols,
        a_ent=(row, ec, ev),
        short_cols=sf,
        short_rhs=need_k - cnt_k,
        short_w=short_w,
        c_cols=ccols,
        c_base=c_base,
        c_ent=c_ent,
        z_cols=zcols,
        cut_z=owner,
        cut_c=zc[owner],
        cut_slope=slope,
        cut_icpt=icpt,
        z_lb=z_lb,
        cost2=np.concatenate(cost2),
    )


def _couples(
    p: RotationProblem,
    settings: RotationSettings,
    mip: SparseMip,
    x: np.ndarray,
    y: np.ndarray,
    xg: np.ndarray,
    xj: np.ndarray,
    ypos: np.ndarray,
    S: int,
) -> None:
    """Couple rows (model docstring): few couples, so a plain loop."""
    G = p.groups
    gpos = {g.members[0]: gi for gi, g in enumerate(G) if len(g.members) == 1 and len(g.targets)}
    tpos = p.teachers["spos"].to_numpy()
    key = xg * S + xj
    col = lambda g, j: int(x[np.searchsorted(key, g * S + j)])  # noqa: E731
    r_rows: list[int] = []
    r_cols: list[int] = []
    r_vals: list[float] = []
    r_up: list[float] = []

    def add(cols: list[int], vals: list[float], up: float) -> None:
        r_rows.extend([len(r_up)] * len(cols))
        r_cols.extend(cols)
        r_vals.extend(vals)
        r_up.append(up)

    for a, b in p.couples:
        sa, sb = int(tpos[a]), int(tpos[b])
        lim = max(settings.couple_distance_m, float(np.hypot(*(p.xy[sa] - p.xy[sb]))))
        for me, other, s_other in ((a, b, sb), (b, a, sa)):
            gm = gpos.get(me)
            if gm is None:
                continue
            go = gpos.get(other)
            for j in G[gm].targets:
                j = int(j)
                if np.hypot(*(p.xy[j] - p.xy[s_other])) > lim:  # x_aj ≤ y_b
                    if go is None:
                        add([col(gm, j)], [1.0], 0.0)
                    else:
                        add([col(gm, j), int(y[ypos[go]])], [1.0, -1.0], 0.0)
                if go is not None and me == a:
                    for kk in G[go].targets:
                        if np.hypot(*(p.xy[j] - p.xy[int(kk)])) > lim:
                            add([col(gm, j), col(go, int(kk))], [1.0, 1.0], 1.0)
    if r_up:
        mip.add_rows(
            np.array(r_rows), np.array(r_cols), np.array(r_vals), lower=-INF, upper=np.array(r_up)
        )


def _complete(md: _Model, xv: np.ndarray, n_cols: int) -> np.ndarray:
    """A full primal vector (group totals, net flows, shortfall, counts, balance epigraphs) for
    integer moves ``xv``."""
    out = np.zeros(n_cols)
    out[: md.nx] = xv
    yv = np.zeros(len(md.y_cols))
    np.add.at(yv, md.ypos[md.xg], xv)
    out[md.y_cols] = yv
    row, col, val = md.a_ent
    a = np.zeros(len(md.a_cols))
    np.add.at(a, row, val * out[col])
    out[md.a_cols] = a
    out[md.short_cols] = np.maximum(md.short_rhs - a, 0.0)
    cr, cc, cv = md.c_ent
    c = md.c_base.copy()
    np.add.at(c, cr, cv * out[cc])
    out[md.c_cols] = c
    z = md.z_lb.copy()
    np.maximum.at(z, md.cut_z, md.cut_icpt + md.cut_slope * c[md.cut_c])
    out[md.z_cols] = z
    return out


class _LpChain:
    """The LP relaxation in one HiGHS instance, re-solved after each pass from the last basis
    (rows added and costs changed in place, no second presolve)."""

    def __init__(self, mip: SparseMip, seed: int, stop: threading.Event | None) -> None:
        self.h = highspy.Highs()
        self.h.setOptionValue("output_flag", False)
        self.h.setOptionValue("random_seed", int(seed))
        self.h.setOptionValue("threads", 1)
        self.h.passModel(mip.to_lp(relax=True))
        self.n = mip.n_cols
        if stop is not None:

            def on_interrupt(e: object) -> None:
                if stop.is_set():
                    e.interrupt()  # type: ignore[attr-defined]

            self.h.cbSimplexInterrupt.subscribe(on_interrupt)
            self.h.cbIpmInterrupt.subscribe(on_interrupt)

    def add_cols(self, lb: np.ndarray, ub: np.ndarray) -> None:
        """Add columns without entries (their rows follow)."""
        n = len(lb)
        self.h.addCols(
            n, np.zeros(n), lb, ub, 0, np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0)
        )
        self.n += n

    def add_rows(
        self,
        local_row: np.ndarray,
        cols: np.ndarray,
        vals: np.ndarray,
        lower: np.ndarray,
        upper: np.ndarray,
        n_rows: int,
    ) -> None:
        """Add rows as triplets, like :meth:`SparseMip.add_rows`."""
        m = sp.csr_matrix((vals, (local_row, cols)), shape=(n_rows, self.n))
        m.sum_duplicates()
        lo = np.broadcast_to(np.asarray(lower, float), (n_rows,)).copy()
        up = np.broadcast_to(np.asarray(upper, float), (n_rows,)).copy()
        self.h.addRows(
            n_rows,
            lo,
            up,
            m.nnz,
            m.indptr[:-1].astype(np.int32),
            m.indices.astype(np.int32),
            m.data.astype(float),
        )

    def restrict_to_optimal_face(self, tol: float = 1e-7) -> None:
        """Keep only the optimal solutions of the last solve: by complementary slackness a
        column (row) with a non-zero reduced cost (dual) stays at its value (activity)."""
        sol = self.h.getSolution()
        cd, cv = np.asarray(sol.col_dual), np.asarray(sol.col_value)
        rd, rv = np.asarray(sol.row_dual), np.asarray(sol.row_value)
        c = np.flatnonzero(np.abs(cd) > tol).astype(np.int32)
        if len(c):
            self.h.changeColsBounds(len(c), c, cv[c], cv[c])
        r = np.flatnonzero(np.abs(rd) > tol).astype(np.int32)
        if len(r):
            self.h.changeRowsBounds(len(r), r, rv[r], rv[r])  # type: ignore[attr-defined]

    def solve(self, cost: np.ndarray, limit: float) -> MipResult:
        """Minimise ``cost``; status as in :class:`~solvers.highs_model.MipResult`."""
        t = time.perf_counter()
        self.h.changeColsCost(self.n, np.arange(self.n, dtype=np.int32), cost.astype(float))
        self.h.setOptionValue("time_limit", float(limit))
        self.h.run()
        secs = time.perf_counter() - t
        ms = self.h.getModelStatus()
        if ms == highspy.HighsModelStatus.kInfeasible:
            return MipResult("infeasible", None, float("inf"), float("inf"), secs, None)
        if ms != highspy.HighsModelStatus.kOptimal:
            return MipResult("no_solution", None, float("inf"), -float("inf"), secs, None)
        x = np.asarray(self.h.getSolution().col_value, dtype=float)
        obj = float(self.h.getInfo().objective_function_value)
        return MipResult("optimal", x, obj, obj, secs, secs)


def solve_mip(
    p: RotationProblem,
    settings: RotationSettings,
    policy: Policy,
    progress: ProgressFn | None = None,
    stop: threading.Event | None = None,
    hint: list[tuple[int, int]] | None = None,
    t_start: float | None = None,
) -> ModelSolution:
    """Build the HiGHS MIP of ``p`` and solve it in three passes (module docstring).

    ``t_start`` (``time.perf_counter()``) is when the whole solve began, so the time limit
    covers the work done before this call; default now. ``hint`` (moves) starts pass 1.

    Raises
    ------
    InfeasiblePlan
        If HiGHS proves the hard rules contradictory, or finds no plan in the time limit.
    """
    t0 = time.perf_counter() if t_start is None else t_start
    deadline = t0 + settings.time_limit
    main_end = deadline - settings.tie_break_share * settings.time_limit
    w = settings.weights
    md = _build(p, settings, policy)
    mip = md.mip
    S = p.n_schools
    chain = _LpChain(mip, settings.seed, stop)

    def add_rows(
        r: np.ndarray, c: np.ndarray, v: np.ndarray, lo: object, up: object, n: int
    ) -> None:
        mip.add_rows(r, c, v, lower=lo, upper=up, n_rows=n)  # type: ignore[arg-type]
        chain.add_rows(r, c, v, lo, up, n)  # type: ignore[arg-type]

    def left(end: float) -> float:
        return max(0.01, end - time.perf_counter())

    from_lp: dict[str, bool] = {}

    def run(name: str, cost: np.ndarray, start: np.ndarray | None, limit: float) -> MipResult:
        # the LP relaxation first: when its optimum is integral it is proven optimal
        t = time.perf_counter()
        lp = chain.solve(cost, limit)
        if lp.status == "infeasible":
            return lp
        if lp.x is not None and lp.status == "optimal":
            xs = lp.x[: md.nx]
            if np.abs(xs - np.round(xs)).max(initial=0.0) <= 1e-6:
                from_lp[name] = True
                return lp
        mip.set_cost(np.arange(mip.n_cols), cost)
        r = mip.solve(
            time_limit=max(0.01, limit - (time.perf_counter() - t)),
            seed=settings.seed,
            threads=1,
            gap=settings.mip_gap,
            start=start,
            progress=progress,
            stop=stop,
        )
        if lp.status == "optimal" and r.x is not None:
            r.bound = max(r.bound, lp.objective)
        r.seconds = time.perf_counter() - t
        return r

    # pass 1: shortfall
    start: np.ndarray | None = None
    if hint is not None:
        gidx = {i: gi for gi, g in enumerate(p.groups) for i in g.members}
        hk = np.array([gidx[i] * S + j for i, j in hint if i in gidx], dtype=np.int64)
        pos = np.searchsorted(md.key, hk)
        ok = (pos < md.nx) & (md.key[np.minimum(pos, md.nx - 1)] == hk) if md.nx else pos < 0
        xv = np.zeros(md.nx)
        np.add.at(xv, pos[ok], 1.0)
        start = _complete(md, xv, mip.n_cols)
    cost1 = np.zeros(mip.n_cols)
    cost1[md.short_cols] = md.short_w
    r1 = run("1", cost1, start, left(t0 + 0.7 * (main_end - t0)))
    if r1.x is None:
        if r1.status == "infeasible":
            raise InfeasiblePlan(
                [
                    "No list meets every hard rule together (quota "
                    f"{p.quota}, backbone share, caps, subject protection, couples and locks); "
                    "each rule alone can be met, so relax one of them."
                ]
            )
        raise InfeasiblePlan([f"No list found within {settings.time_limit:g} s (HiGHS)."])
    xv = np.round(r1.x[: md.nx])
    s1 = float(np.round(cost1 @ _complete(md, xv, mip.n_cols)))
    stages: dict[str, dict[str, float | str]] = {"shortfall": _stage(r1, s1, 1.0)}

    # pass 2: balance, commute, preferences, moves with shortfall fixed
    add_rows(np.zeros(len(md.short_cols), np.int64), md.short_cols, md.short_w, -INF, s1, 1)
    start = _complete(md, xv, mip.n_cols)
    r2 = run("2", md.cost2, start, left(main_end)) if not _stopped(stop) else None
    if r2 is not None and r2.x is not None:
        xv2 = np.round(r2.x[: md.nx])
        full = _complete(md, xv2, mip.n_cols)
        if float(md.cost2 @ full) <= float(md.cost2 @ start):
            xv, start = xv2, full
    obj2 = float(md.cost2 @ start)
    stages["rest"] = (
        _stage(r2, obj2, 1.0 / TIER2_SCALE)
        if r2 is not None
        else {"status": "skipped", "objective": obj2 / TIER2_SCALE}
    )

    # pass 3: tie-break by rank sum among the pass-2 optima (the optimal face of its LP)
    tb_status = "skipped: pass 2 not solved at the root LP; pass-2 list kept"
    if deadline - time.perf_counter() <= 0.05 or _stopped(stop):
        tb_status = "skipped: no time left; pass-2 list kept"
    elif from_lp.get("2"):
        n0 = chain.n
        chain.restrict_to_optimal_face()
        ranks = p.teachers["rank"].to_numpy()
        ga = np.flatnonzero(md.ypos >= 0)
        mem = np.concatenate([np.asarray(p.groups[g].members, np.int64) for g in ga])
        msz = np.array([len(p.groups[g].members) for g in ga], dtype=np.int64)
        owner = np.repeat(np.arange(len(ga)), msz)
        d = np.arange(n0, n0 + len(mem))
        chain.add_cols(np.zeros(len(d)), np.ones(len(d)))
        chain.add_rows(
            np.concatenate([np.arange(len(ga)), owner]),
            np.concatenate([md.y_cols, d]),
            np.concatenate([np.ones(len(ga)), -np.ones(len(d))]),
            np.zeros(len(ga)),
            np.zeros(len(ga)),
            len(ga),
        )
        cost3 = np.zeros(chain.n)
        cost3[d] = ranks[mem] + 1.0
        r3 = chain.solve(cost3, min(left(deadline), settings.tie_break_share * settings.time_limit))
        tb_status = f"{r3.status}; pass-2 list kept"
        if r3.x is not None:
            xv3 = r3.x[: md.nx]
            tol = obj2 + TIE_TOL * max(1.0, abs(obj2))
            if np.abs(xv3 - np.round(xv3)).max(initial=0.0) > 1e-6:
                tb_status = "LP optimum fractional; pass-2 list kept"
            elif float(md.cost2 @ _complete(md, np.round(xv3), n0)) <= tol:
                xv, tb_status = np.round(xv3), "optimal"
        stages["tie_break"] = _stage(r3, r3.objective if r3.x is not None else float("nan"), 1.0)
    stages.setdefault("tie_break", {"status": tb_status})
    stages["tie_break"]["status"] = tb_status

    r2_ok = r2 is not None and r2.status == "optimal"
    status = "optimal" if r1.status == "optimal" and r2_ok else "feasible"
    objective = w.shortfall * s1 + obj2 / TIER2_SCALE
    if r1.status != "optimal":
        bound = w.shortfall * float(np.ceil(r1.bound - 1e-6))
    else:
        b2 = r2.bound if r2 is not None and r2.x is not None else 0.0
        bound = w.shortfall * s1 + min(b2, obj2) / TIER2_SCALE
    sol = {(int(md.xg[k]), int(md.xj[k])): int(xv[k]) for k in np.flatnonzero(xv > 0.5).tolist()}
    return ModelSolution(
        x=sol,
        status=status,
        objective=objective,
        bound=bound,
        tie_break_status=tb_status,
        solve_seconds=time.perf_counter() - t0,
        stages=stages,
    )


def _stopped(stop: threading.Event | None) -> bool:
    return stop is not None and stop.is_set()


def _stage(r: MipResult | None, value: float, scale: float) -> dict[str, float | str]:
    """JSON-ready figures of one pass, in the units of the weights (``scale`` undoes scaling)."""
    if r is None or r.x is None:
        return {"status": "no_solution" if r is not None else "skipped"}
    bound = min(r.bound, value)
    return {
        "status": r.status,
        "objective": value * scale,
        "bound": bound * scale,
        "gap": abs(value - bound) / max(abs(value), 1e-9),
        "seconds": round(r.seconds, 3),
    }


__all__ = ["TIER2_SCALE", "solve_mip"]
