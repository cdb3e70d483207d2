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

LP by column generation (:class:`_LpChain`): the first LP holds, per group, the
:data:`INITIAL_TARGETS` best targets (short of the subject first, then nearest), the start list
and locks; each round prices every move column from the row duals, ``d_gj = c_gj − a_gjᵀπ`` (one
sparse product), adds the most negative (≤ :data:`PRICE_PER_GROUP` per group) and re-solves with
the primal simplex from the last basis. No ``d < 0`` left means the restricted optimum is the
optimum over every target, so nothing is lost; stopped earlier, ``LP + Σ min(0, d)·ub`` is a
valid (Lagrangian) bound. Pass 1 leaves the balance block (counts ``c``, epigraphs ``z``, their
rows) out: it has no cost there and its bounds are implied by the caps; pass 2 adds it. A
fractional LP goes to branch and bound over the held columns; a column left out with
``LP + d ≥`` the incumbent (pass 1, integer: ``> incumbent − 1``) cannot improve it, so when
every left-out column satisfies that the restricted MIP's bound holds for the full model; else
those columns are added and the MIP re-run once, and otherwise only the LP bound is claimed.

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
from solvers.highs_model import INF, MipResult, SparseMip, new_highs
from solvers.progress import ProgressFn
from solvers.rotation.model import ModelSolution
from solvers.rotation.problem import RotationProblem, couple_rules
from solvers.rotation.settings import RotationSettings

#: Pass-2 costs are the weights times this (commute_per_km = 100 → 1 per km).
TIER2_SCALE = 0.01
#: Relative slack on the pass-2 objective kept by the tie-break pass.
TIE_TOL = 1e-9
#: Share of the time before the tie-break share that pass 1 may use (from the start).
PASS1_SHARE = 0.7
#: No branch and bound with less time left than this (seconds; at most 10 % of the limit).
MIN_MIP_SECONDS = 5.0
#: Move columns per group in the first restricted LP (plus the start list and locks).
INITIAL_TARGETS = 4
#: Move columns priced into the LP per group and round of column generation.
PRICE_PER_GROUP = 3


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

    for gm, j, go, kk in couple_rules(p, G, gpos, settings.couple_distance_m):
        if kk is not None:
            add([col(gm, j), col(go, kk)], [1.0, 1.0], 1.0)  # type: ignore[arg-type]
        elif go is None:
            add([col(gm, j)], [1.0], 0.0)
        else:
            add([col(gm, j), int(y[ypos[go]])], [1.0, -1.0], 0.0)
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
    (rows added and costs changed in place, no second presolve), by **column generation** over
    the move columns.

    The instance holds every column except the move columns ``x`` outside ``master``; after
    each solve the reduced costs of all move columns are priced from the row duals
    (``d = c − Aᵀπ``, numpy), the most negative ones (up to :data:`PRICE_PER_GROUP` per group)
    are added and the LP is re-solved with the primal simplex from the last basis. When no
    column has ``d < −tol`` the restricted optimum is optimal for the full LP (every target of
    every group), so nothing was lost by leaving columns out. Before that, ``z + Σ min(0, d)·ub``
    over the missing columns is a valid lower bound (Lagrangian bound with the master duals).
    ``deferred`` columns (the balance block, which pass 1 does not need) and the rows that
    touch them start outside the instance and come in with :meth:`add_deferred`; ``rows`` maps
    instance rows to full-model rows (−1: added later, on no move column).
    """

    def __init__(
        self,
        mip: SparseMip,
        nx: int,
        xg: np.ndarray,
        master: np.ndarray,
        deferred: np.ndarray,
        seed: int,
        stop: threading.Event | None,
    ) -> None:
        self.h = new_highs()
        self.h.setOptionValue("random_seed", int(seed))
        self.h.setOptionValue("threads", 1)
        lp = mip.to_lp(relax=True)
        a = sp.csc_matrix(
            (lp.a_matrix_.value_, lp.a_matrix_.index_, lp.a_matrix_.start_),
            shape=(lp.num_row_, lp.num_col_),
        )
        self.nx, self.xg, self.m0 = nx, xg, lp.num_row_
        self.a = a
        self.a_x = a[:, :nx].tocsc()  # move columns, for pricing and adding
        self.axt = self.a_x.T.tocsr()
        self.lb = np.asarray(lp.col_lower_, float)
        self.ub = np.asarray(lp.col_upper_, float)
        self.in_master = master.copy()
        self.eligible = np.ones(nx, bool)  # may still be priced in
        rest = np.setdiff1d(np.arange(nx, lp.num_col_), deferred)
        self.deferred = np.asarray(deferred, dtype=np.int64)
        self.deferred_rows = np.unique(a[:, self.deferred].tocoo().row)
        self.rows = np.setdiff1d(np.arange(self.m0), self.deferred_rows)
        self.rpos = np.full(self.m0, -1, dtype=np.int64)
        self.rpos[self.rows] = np.arange(len(self.rows))
        self.cols = np.concatenate([np.flatnonzero(master), rest])
        self.n_full = lp.num_col_  # full-space columns, extras (tie-break δ) appended
        self.pos = np.full(self.n_full, -1, dtype=np.int64)
        self.pos[self.cols] = np.arange(len(self.cols))
        sub = a[self.rows][:, self.cols].tocsc()
        self.row_lo = np.asarray(lp.row_lower_, float)
        self.row_up = np.asarray(lp.row_upper_, float)
        lp.num_row_ = len(self.rows)
        lp.row_lower_, lp.row_upper_ = self.row_lo[self.rows], self.row_up[self.rows]
        lp.num_col_ = len(self.cols)
        lp.col_cost_ = np.asarray(lp.col_cost_)[self.cols]
        lp.col_lower_, lp.col_upper_ = self.lb[self.cols], self.ub[self.cols]
        lp.a_matrix_.start_ = sub.indptr.astype(np.int32)
        lp.a_matrix_.index_ = sub.indices.astype(np.int32)
        lp.a_matrix_.value_ = sub.data
        lp.a_matrix_.num_col_ = len(self.cols)
        lp.a_matrix_.num_row_ = len(self.rows)
        self.h.passModel(lp)
        self.rc = np.zeros(nx)
        self.rounds = 0
        self.stop = stop
        if stop is not None:

            def on_interrupt(e: object) -> None:
                if stop.is_set():
                    e.interrupt()  # type: ignore[attr-defined]

            self.h.cbSimplexInterrupt.subscribe(on_interrupt)
            self.h.cbIpmInterrupt.subscribe(on_interrupt)

    @property
    def n(self) -> int:
        """Columns in the full space (model columns, then extras)."""
        return self.n_full

    def add_cols(self, lb: np.ndarray, ub: np.ndarray) -> np.ndarray:
        """Add extra columns without entries (their rows follow); return full indices."""
        n = len(lb)
        self.h.addCols(
            n, np.zeros(n), lb, ub, 0, np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0)
        )
        idx = np.arange(self.n_full, self.n_full + n)
        self.pos = np.concatenate([self.pos, len(self.cols) + np.arange(n)])
        self.cols = np.concatenate([self.cols, idx])
        self.n_full += n
        return idx

    def _add_moves(self, k: np.ndarray, cost: np.ndarray) -> None:
        k = np.sort(k)
        m = self._held_rows(self.a_x[:, k])
        self.h.addCols(
            len(k),
            cost[k],
            self.lb[k],
            self.ub[k],
            m.nnz,
            m.indptr[:-1].astype(np.int32),
            m.indices.astype(np.int32),
            m.data.astype(float),
        )
        self.pos[k] = len(self.cols) + np.arange(len(k))
        self.cols = np.concatenate([self.cols, k])
        self.in_master[k] = True

    def _held_rows(self, m: sp.spmatrix) -> sp.csc_matrix:
        """Full-model rows of ``m`` renumbered to instance rows (rows not held dropped)."""
        c = m.tocoo()
        r = self.rpos[c.row]
        ok = r >= 0
        return sp.csc_matrix(
            (c.data[ok], (r[ok], c.col[ok])), shape=(self.h.getNumRow(), c.shape[1])
        )

    def add_deferred(self) -> None:
        """Bring in the deferred columns and their rows (a no-op the second time)."""
        if not len(self.deferred):
            return
        k = self.deferred
        self.h.addCols(
            len(k),
            np.zeros(len(k)),
            self.lb[k],
            self.ub[k],
            0,
            np.zeros(0, np.int32),
            np.zeros(0, np.int32),
            np.zeros(0),
        )
        self.pos[k] = len(self.cols) + np.arange(len(k))
        self.cols = np.concatenate([self.cols, k])
        r = self.deferred_rows
        m = self.a[r].tocoo()
        c = self.pos[m.col]
        ok = c >= 0  # move columns outside the instance are 0
        mat = sp.csr_matrix((m.data[ok], (m.row[ok], c[ok])), shape=(len(r), len(self.cols)))
        n0 = self.h.getNumRow()
        self.h.addRows(
            len(r),
            self.row_lo[r],
            self.row_up[r],
            mat.nnz,
            mat.indptr[:-1].astype(np.int32),
            mat.indices.astype(np.int32),
            mat.data.astype(float),
        )
        self.rpos[r] = n0 + np.arange(len(r))
        self.rows = np.concatenate([self.rows, r])
        self.deferred = np.zeros(0, np.int64)

    def add_below(self, cost: np.ndarray, threshold: float) -> bool | None:
        """Add every missing, still eligible move column with reduced cost < ``threshold``
        (reduced costs of the last pricing); whether there was any, ``None`` (nothing added)
        when they would more than double the LP."""
        k = np.flatnonzero(~self.in_master & self.eligible & (self.rc < threshold))
        if len(k) > max(1000, int(self.in_master.sum())):
            return None
        if len(k):
            self._add_moves(k, cost)
        return bool(len(k))

    def add_rows(
        self,
        local_row: np.ndarray,
        cols: np.ndarray,
        vals: np.ndarray,
        lower: np.ndarray,
        upper: np.ndarray,
        n_rows: int,
    ) -> None:
        """Add rows as triplets on full-space columns (all of them in the instance)."""
        c = self.pos[np.asarray(cols, dtype=np.int64)]
        assert (c >= 0).all(), "row on a column outside the master"
        m = sp.csr_matrix((vals, (local_row, c)), shape=(n_rows, len(self.cols)))
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
        self.rows = np.concatenate([self.rows, np.full(n_rows, -1, np.int64)])

    def restrict_to_optimal_face(self, tol: float = 1e-7) -> None:
        """Keep only the optimal solutions of the last solve: by complementary slackness a
        column (row) with a non-zero reduced cost (dual) stays at its value (activity); a
        missing move column with ``d > tol`` stays at 0 (is never priced in again)."""
        sol = self.h.getSolution()
        cd, cv = np.asarray(sol.col_dual), np.asarray(sol.col_value)
        rd, rv = np.asarray(sol.row_dual), np.asarray(sol.row_value)
        c = np.flatnonzero(np.abs(cd) > tol).astype(np.int32)
        if len(c):
            self.h.changeColsBounds(len(c), c, cv[c], cv[c])
        r = np.flatnonzero(np.abs(rd) > tol).astype(np.int32)
        if len(r):
            self.h.changeRowsBounds(len(r), r, rv[r], rv[r])  # type: ignore[attr-defined]
        self.eligible &= np.abs(self.rc) <= tol

    def _price(self, cost: np.ndarray, tol: float) -> tuple[np.ndarray, float]:
        """Move columns to add (most negative reduced cost first, a few per group) and
        ``Σ min(0, d)·ub`` over the missing ones."""
        dual = np.asarray(self.h.getSolution().row_dual)
        pi = np.zeros(self.m0)
        held = self.rows >= 0
        pi[self.rows[held]] = dual[held]
        self.rc = cost[: self.nx] - self.axt @ pi
        cand = np.flatnonzero(~self.in_master & self.eligible & (self.rc < -tol))
        if not len(cand):
            return cand, 0.0
        slack = float((self.rc[cand] * self.ub[cand]).sum())
        cand = cand[np.lexsort((cand, self.rc[cand], self.xg[cand]))]
        g = self.xg[cand]
        first = np.r_[0, np.flatnonzero(np.diff(g)) + 1]
        nth = np.arange(len(cand)) - np.repeat(first, np.diff(np.r_[first, len(cand)]))
        return cand[nth < PRICE_PER_GROUP], slack

    def solve(self, cost: np.ndarray, limit: float, tol: float = 1e-7) -> MipResult:
        """Minimise ``cost`` (full space) over the full LP by column generation; status as in
        :class:`~solvers.highs_model.MipResult` (``feasible``: stopped before the pricing
        proved optimality, ``bound`` then the Lagrangian bound)."""
        t = time.perf_counter()
        end = t + float(limit)
        cost = np.asarray(cost, float)
        self.h.changeColsCost(
            len(self.cols), np.arange(len(self.cols), dtype=np.int32), cost[self.cols]
        )
        last: MipResult | None = None  # the last restricted optimum, with its bound
        self.h.setOptionValue("simplex_strategy", 1)  # dual simplex (costs/bounds/rows changed)
        while True:
            self.h.setOptionValue("time_limit", max(0.01, end - time.perf_counter()))
            self.h.run()
            ms = self.h.getModelStatus()
            if ms == highspy.HighsModelStatus.kInfeasible:
                missing = np.flatnonzero(~self.in_master & self.eligible)
                if len(missing) == 0:
                    return MipResult("infeasible", None, INF, INF, time.perf_counter() - t, None)
                self._add_moves(missing, cost)  # a restricted master proves nothing
                continue
            if ms != highspy.HighsModelStatus.kOptimal:
                if last is not None:  # stopped while re-solving: the previous round stands
                    last.seconds = time.perf_counter() - t
                    return last
                return MipResult("no_solution", None, INF, -INF, time.perf_counter() - t, None)
            obj = float(self.h.getInfo().objective_function_value)
            add, slack = self._price(cost, tol)
            x = np.zeros(self.n_full)
            x[self.cols] = np.asarray(self.h.getSolution().col_value, dtype=float)
            secs = time.perf_counter() - t
            if not len(add):
                return MipResult("optimal", x, obj, obj, secs, secs)
            last = MipResult("feasible", x, obj, obj + slack, secs, secs)
            if time.perf_counter() >= end or (self.stop is not None and self.stop.is_set()):
                return last
            self._add_moves(add, cost)
            self.rounds += 1
            # new columns leave the basis primal feasible: primal simplex from it
            self.h.setOptionValue("simplex_strategy", 4)


def _initial_master(p: RotationProblem, md: _Model, start: np.ndarray) -> np.ndarray:
    """Move columns of the first restricted LP: per group the :data:`INITIAL_TARGETS` best
    targets (short of the group's subject first, then by commute and preference cost), the
    start list (so that the restricted LP is feasible when the start list is) and locks."""
    nx = md.nx
    gu = np.array([g.subject for g in p.groups], dtype=np.int64)[md.xg]
    short = p.need[md.xj, gu] > p.count[md.xj, gu]
    order = np.lexsort((md.xj, md.cost2[:nx], ~short, md.xg))
    g = md.xg[order]
    first = np.r_[0, np.flatnonzero(np.diff(g)) + 1] if nx else np.zeros(0, np.int64)
    nth = np.arange(nx) - np.repeat(first, np.diff(np.r_[first, nx]))
    master = np.zeros(nx, bool)
    master[order[nth < INITIAL_TARGETS]] = True
    master |= start > 0
    locked = np.array([g.locked for g in p.groups], dtype=np.int64)[md.xg]
    master |= locked == md.xj
    return master


def _restricted_mip(
    chain: _LpChain,
    cost: np.ndarray,
    start: np.ndarray | None,
    limit: float,
    settings: RotationSettings,
    stop: threading.Event | None,
) -> MipResult:
    """Branch and bound (HiGHS MIP, 1 thread, seeded) over the columns the LP chain holds.

    Its dual bound holds for that column set only, so the caller replaces it with the LP's.
    """
    t = time.perf_counter()
    lp = chain.h.getLp()
    lp.col_cost_ = np.asarray(cost, float)[chain.cols]
    cont, integ = highspy.HighsVarType.kContinuous, highspy.HighsVarType.kInteger
    lp.integrality_ = [integ if c < chain.nx else cont for c in chain.cols.tolist()]
    h = new_highs()
    h.setOptionValue("time_limit", float(limit))
    h.setOptionValue("random_seed", int(settings.seed))
    h.setOptionValue("threads", 1)
    h.setOptionValue("mip_rel_gap", float(settings.mip_gap))
    h.passModel(lp)
    end = t + float(limit)

    def on_interrupt(e: object) -> None:
        if _stopped(stop) or time.perf_counter() > end:
            e.interrupt()  # type: ignore[attr-defined]

    h.cbMipInterrupt.subscribe(on_interrupt)
    h.cbSimplexInterrupt.subscribe(on_interrupt)
    if start is not None:
        full = np.zeros(chain.n)
        full[: len(start)] = start
        sol = highspy.HighsSolution()
        sol.col_value = list(full[chain.cols])
        sol.value_valid = True
        h.setSolution(sol)
    h.run()
    secs = time.perf_counter() - t
    if h.getInfo().primal_solution_status != 2:  # no feasible solution
        return MipResult("no_solution", None, INF, -INF, secs, None)
    x = np.zeros(chain.n)
    x[chain.cols] = np.asarray(h.getSolution().col_value, dtype=float)
    info = h.getInfo()
    obj = float(info.objective_function_value)
    return MipResult("feasible", x, obj, float(info.mip_dual_bound), secs, secs)


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
    start: np.ndarray | None = None
    xv = np.zeros(md.nx)
    if hint is not None:
        gidx = {i: gi for gi, g in enumerate(p.groups) for i in g.members}
        hk = np.array([gidx[i] * S + j for i, j in hint if i in gidx], dtype=np.int64)
        pos = np.searchsorted(md.key, hk)
        ok = (pos < md.nx) & (md.key[np.minimum(pos, md.nx - 1)] == hk) if md.nx else pos < 0
        np.add.at(xv, pos[ok], 1.0)
        start = _complete(md, xv, mip.n_cols)
    balance = np.concatenate([md.c_cols, md.z_cols])  # not needed by pass 1
    chain = _LpChain(mip, md.nx, md.xg, _initial_master(p, md, xv), balance, settings.seed, stop)

    def add_rows(
        r: np.ndarray, c: np.ndarray, v: np.ndarray, lo: object, up: object, n: int
    ) -> None:
        chain.add_rows(r, c, v, lo, up, n)  # type: ignore[arg-type]

    def left(end: float) -> float:
        return max(0.01, end - time.perf_counter())

    from_lp: dict[str, bool] = {}

    def run(
        name: str, cost: np.ndarray, start: np.ndarray | None, limit: float, more: float = 0.0
    ) -> MipResult:
        # the LP relaxation first: when its optimum is integral it is proven optimal
        t = time.perf_counter()
        lp = chain.solve(cost, limit)
        if lp.status in ("no_solution", "feasible") and more > 0 and not _stopped(stop):
            # stopped before the LP optimum over every target: the tie-break cannot run, so
            # its share goes here (HiGHS resumes from its basis, pricing from the held columns)
            limit += more
            lp = chain.solve(cost, more)
        if lp.status == "infeasible":
            return lp
        if lp.x is not None and lp.status == "optimal":
            xs = lp.x[: md.nx]
            if np.abs(xs - np.round(xs)).max(initial=0.0) <= 1e-6:
                from_lp[name] = True
                return lp
        # a fractional (or unfinished) LP: branch and bound over the columns the LP holds.
        # Its bound holds for every target when no column left out could beat its list v:
        # each has reduced cost d ≥ v − LP (pass 1, integer: > v − 1 − LP); else add those
        # (unless they would more than double the LP) and repeat once.
        converged = lp.status == "optimal"
        step = 1.0 if name == "1" else 0.0
        r = MipResult("no_solution", None, INF, -INF, 0.0, None)
        target = float(np.ceil(lp.bound - 1e-6)) if step else lp.bound
        # HiGHS cannot stop its MIP presolve, so with a few seconds left the start list stands
        least = min(MIN_MIP_SECONDS, 0.1 * settings.time_limit)
        for _ in range(2 if limit - (time.perf_counter() - t) >= least else 0):
            r = _restricted_mip(
                chain, cost, start, max(0.01, limit - (time.perf_counter() - t)), settings, stop
            )
            if r.x is None:
                break
            own, start = r.bound, r.x[: mip.n_cols]
            r.bound = lp.bound if lp.x is not None else -INF
            if not converged:
                break
            if r.objective <= target + 1e-6:
                break  # meets the LP bound (rounded up in pass 1): proven
            thr = r.objective - step - lp.objective + 1e-6
            added = chain.add_below(cost, thr)
            if added is None:
                break
            if not added:
                r.bound = max(r.bound, min(own, r.objective))
                break
        if r.x is not None:
            if name == "1":
                r.bound = float(np.ceil(r.bound - 1e-6))  # integer weights: integer objective
            ok = r.objective - r.bound <= settings.mip_gap * max(1.0, abs(r.objective))
            r.status = "optimal" if ok else "feasible"
        r.seconds = time.perf_counter() - t
        return r

    # pass 1: shortfall
    cost1 = np.zeros(mip.n_cols)
    cost1[md.short_cols] = md.short_w
    # pass 1 decides the weighted gap; pass 2 may also take the tie-break share (run())
    r1 = run("1", cost1, start, left(t0 + PASS1_SHARE * (main_end - t0)))
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
    chain.add_deferred()
    add_rows(np.zeros(len(md.short_cols), np.int64), md.short_cols, md.short_w, -INF, s1, 1)
    start = _complete(md, xv, mip.n_cols)
    r2 = None
    if not _stopped(stop):
        r2 = run("2", md.cost2, start, left(main_end), more=max(0.0, deadline - main_end - 0.5))
    if r2 is not None and r2.x is not None:
        xv2 = np.round(r2.x[: md.nx])
        full = _complete(md, xv2, mip.n_cols)
        if float(md.cost2 @ full) <= float(md.cost2 @ start):
            xv, start = xv2, full
    obj2 = float(md.cost2 @ start)
    # every pass-2 cost is ≥ 0 and z ≥ z_lb: a bound that holds whatever the LP reached
    rest_floor = float(md.z_lb.sum())
    stages["rest"] = (
        _stage(r2, obj2, 1.0 / TIER2_SCALE, floor=rest_floor)
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
            if r3.status != "optimal":
                tb_status = "column generation unfinished; pass-2 list kept"
            elif np.abs(xv3 - np.round(xv3)).max(initial=0.0) > 1e-6:
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
        b2 = r2.bound if r2 is not None and r2.x is not None else -INF
        b2 = max(b2, rest_floor)
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


def _stage(
    r: MipResult | None, value: float, scale: float, floor: float = -INF
) -> dict[str, float | str]:
    """JSON-ready figures of one pass, in the units of the weights (``scale`` undoes scaling);
    ``floor`` is a bound known without solving."""
    if r is None or r.x is None:
        return {"status": "no_solution" if r is not None else "skipped"}
    bound = min(max(r.bound, floor), value)
    return {
        "status": r.status,
        "objective": value * scale,
        "bound": bound * scale,
        "gap": abs(value - bound) / max(abs(value), 1e-9),
        "seconds": round(r.seconds, 3),
    }


__all__ = ["TIER2_SCALE", "solve_mip"]
