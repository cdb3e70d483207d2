"""The rotation model as a HiGHS MIP, solved lexicographically in three passes.

Same formulation as :mod:`solvers.rotation.model` (see its docstring): integer ``x_gj`` per
teacher group g and candidate target j (the ``max_targets`` nearest / needing schools of
:func:`~solvers.rotation.problem.build_problem`), quota, per-school quota, backbone share,
leave/arrive caps, subject protection, couples, locks; shortfall; the convex per-school balance
term; commute, preferences, moves; the published tie-break. Built in numpy blocks with
:class:`~solvers.highs_model.SparseMip`.

Balance term as segment columns: per (school, indicator) in some CV the count after the moves is
``c = lo + Σ_a δ_a`` with unit segments ``δ_a ∈ [0, 1]`` (a = lo..hi−1, lo/hi from the caps) at
cost ``F(a + 1) − F(a)``, ``F(c) = Σ_levels W_b α (c − m)²`` (model docstring). The costs
increase, so the LP fills the segments in order and the cost is exact at every integer count;
one row per count, no epigraph rows (the earlier secant-cut form had one row per segment).

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
   in order. It runs when pass 2 is solved at its LP; otherwise the pass-2 list stands, with
   each group's members still taken in tie-break order.

This equals the weighted objective of the CP-SAT model whenever the lower tiers stay below one
shortfall weight (10⁹), the premise of :class:`~solvers.rotation.settings.ObjectiveWeights`.
Differences: the balance values are not rounded to integers, and commute uses exact km.

LP by column generation (:class:`_LpChain`): the first LP holds, per group, the
:data:`INITIAL_TARGETS` best targets (short of the subject first, then nearest), the start list
and locks (pass 2 adds the :data:`PASS2_TARGETS` cheapest under its costs); each round prices
every move column from the row duals, ``d_gj = c_gj − a_gjᵀπ`` (one sparse product), adds the
most negative (≤ :data:`PRICE_PER_GROUP` per group, :data:`PASS2_PRICE_PER_GROUP` in pass 2)
and re-solves with the primal simplex from the last basis; pass 2 solves from scratch instead
(dual simplex) first and after rounds that add more than :data:`COLD_RESOLVE_COLUMNS` columns,
which on the city is several times faster than the warm re-solve. No ``d < 0`` left means the restricted optimum is the optimum over every target,
so nothing is lost; stopped earlier, ``LP + Σ min(0, d)·ub`` is a valid (Lagrangian) bound.
Pass 1 leaves the balance segments (and their rows) out: they have no cost there and their
bounds are implied by the caps; pass 2 adds them.

A fractional LP goes to branch and bound over the held columns, in up to three steps: (a) the
groups the LP moves integrally are fixed at their LP values, the others free; (b) if that does
not close the gap, RINS: the moves on which the LP and the best list so far agree are fixed, the
rest free (that list is feasible, so this never ends worse); (c) when at most
:data:`FULL_MIP_COLUMNS` columns are held, every held column free, after adding the left-out
columns with ``LP + d <`` the incumbent (pass 1, integer: ``≤ incumbent − 1``); when none is left
out after, the MIP's own bound holds for the full model. Otherwise the LP bound is claimed.

Determinism: HiGHS runs single-threaded with ``random_seed = settings.seed``, and every step is
stopped by a deterministic budget (``settings.lp_iterations`` simplex iterations and
``settings.cg_rounds`` pricing rounds per pass, ``settings.mip_nodes`` nodes per branch and
bound), never by the clock, so the same inputs and seed give the same list at every scale.
``settings.time_limit`` is only a safety net: when it stops a step the result is marked
``deterministic = False`` (status ``feasible``, a warning in the summary).
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
from solvers.progress import ProgressEvent, ProgressFn
from solvers.rotation.model import ModelSolution
from solvers.rotation.problem import RotationProblem, couple_rules
from solvers.rotation.settings import RotationSettings

#: Pass-2 costs are the weights times this (commute_per_km = 100 → 1 per km).
TIER2_SCALE = 0.01
#: Relative slack on the pass-2 objective kept by the tie-break pass.
TIE_TOL = 1e-9
#: Share of the time before the tie-break share that pass 1 may use (from the start).
PASS1_SHARE = 0.7
#: Branch over every held column (not only the LP's fractional groups) up to this many columns.
FULL_MIP_COLUMNS = 60_000
#: Move columns per group in the first restricted LP (plus the start list and locks).
INITIAL_TARGETS = 4
#: Cheapest pass-2 move columns per group added before the pass-2 LP.
PASS2_TARGETS = 2
#: Pass 2 re-solves from scratch after pricing in more columns than this, else warm from the
#: last basis (on the city a warm primal re-solve after a large round cost ~5 ms an iteration,
#: a fresh dual solve ~0.35 ms; after a few hundred columns the warm one wins).
COLD_RESOLVE_COLUMNS = 2_000
#: HiGHS simplex strategy after pricing columns in (1 dual, 4 primal).
RESOLVE_STRATEGY = 4
#: Move columns priced into the LP per group and round of column generation.
PRICE_PER_GROUP = 3
#: The same in pass 2, whose rounds are cold solves (fewer, larger rounds).
PASS2_PRICE_PER_GROUP = 10


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
    c_base: np.ndarray  # indicator count today per balance key (school, indicator)
    c_lo: np.ndarray  # least count after the moves (caps)
    c_ent: tuple[np.ndarray, np.ndarray, np.ndarray]
    seg_cols: np.ndarray  # unit segments δ of the balance term
    seg_c: np.ndarray  # balance key per segment
    seg_a: np.ndarray  # segment from a to a + 1
    const2: float  # pass-2 cost of every count at its least value (not in the LP)
    floor2: float  # least pass-2 balance cost over the integers, whatever the moves
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

    # balance: c_ik = indicator teachers at i after the moves, only where it is in some CV.
    # Σ_levels α(c − m)² is convex in c, so it is written as unit segment columns δ_a ∈ [0, 1]
    # (a = lo..hi−1) with c = lo + Σ_a δ_a and cost F(a + 1) − F(a): increasing, so the LP fills
    # them in order and the cost is exact at every integer c; one row per c, no epigraph rows.
    total = p.pupils.sum(axis=1)
    alpha_si = np.zeros((S, 3))  # Σ over levels of α, and of α·m, α·m² (for F)
    am_si = np.zeros((S, 3))
    amm_si = np.zeros((S, 3))
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
            al = 1e4 * n / (N * xbar**2 * total[pos] ** 2) * w.balance * TIER2_SCALE
            m = total[pos] * xbar / 100.0
            alpha_si[pos, k] += al
            am_si[pos, k] += al * m
            amm_si[pos, k] += al * m * m
    c_parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    c_school, c_ind, c_lo, c_hi = [], [], [], []
    n_c = 0
    for k in range(3):
        fx, fy = gf[xy_, k], gf[:, k]
        sch = np.concatenate([xj[fx], gs[fy]])
        col = np.concatenate([x[fx], y[fy]])
        val = np.concatenate([one_x[fx], -one_y[fy]])
        keep_c = alpha_si[sch, k] > 0  # no cost where the school is in no CV
        sch, col, val = sch[keep_c], col[keep_c], val[keep_c]
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
    cs = np.concatenate(c_school or [empty_i]).astype(np.int64)
    ci = np.concatenate(c_ind or [empty_i]).astype(np.int64)
    clo = np.concatenate(c_lo or [empty_i]).astype(np.int64)
    chi = np.concatenate(c_hi or [empty_i]).astype(np.int64)
    c_base = p.ind_counts[cs, ci].astype(float)
    fa, fam, famm = alpha_si[cs, ci], am_si[cs, ci], amm_si[cs, ci]

    def f_c(c: np.ndarray, idx: np.ndarray) -> np.ndarray:
        return fa[idx] * c * c - 2.0 * fam[idx] * c + famm[idx]

    seg_c, seg_a = _segments(clo, chi)
    seg_cost = f_c(seg_a + 1.0, seg_c) - f_c(seg_a.astype(float), seg_c)
    seg = mip.add_vars(len(seg_c), lb=0.0, ub=1.0)
    cost2.append(seg_cost)
    cr = np.concatenate([q[0] for q in c_parts] or [empty_i])
    c_ent = (
        cr,
        np.concatenate([q[1] for q in c_parts] or [empty_i]),
        np.concatenate([q[2] for q in c_parts] or [empty_f]),
    )
    # Σ_a δ_a − Σ flows = base − lo
    mip.add_rows(
        np.concatenate([cr, seg_c]),
        np.concatenate([c_ent[1], seg]),
        np.concatenate([-c_ent[2], np.ones(len(seg))]),
        lower=c_base - clo,
        upper=c_base - clo,
        n_rows=n_c,
    )
    const2 = float(f_c(clo.astype(float), np.arange(n_c)).sum())
    # the least value of each F over the integers of [lo, hi], whatever the moves
    run_min = np.zeros(n_c)
    if len(seg_c):
        cum = np.cumsum(seg_cost)
        first = np.searchsorted(seg_c, np.arange(n_c))
        before = np.where(first > 0, cum[np.maximum(first - 1, 0)], 0.0)
        rel = cum - before[seg_c]  # F(a + 1) − F(lo)
        np.minimum.at(run_min, seg_c, rel)
    floor2 = const2 + float(run_min.sum())
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
        c_base=c_base,
        c_lo=clo.astype(float),
        c_ent=c_ent,
        seg_cols=seg,
        seg_c=seg_c,
        seg_a=seg_a.astype(float),
        const2=const2,
        floor2=floor2,
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
    # segments filled in order up to the count
    out[md.seg_cols] = np.clip(c[md.seg_c] - md.seg_a, 0.0, 1.0)
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
        self.timed_out = False  # a wall-clock limit (not a deterministic budget) stopped a solve
        self.group_y: np.ndarray | None = None  # full y column per group (−1: none), if set
        self.price_per_group = PRICE_PER_GROUP
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

    def satisfies(self, v: np.ndarray, tol: float = 1e-6) -> bool:
        """Whether the full-space vector ``v`` meets the bounds and the rows of the model
        (the rows added later, e.g. the shortfall limit, are not checked)."""
        v = np.asarray(v, float)[: len(self.lb)]
        if ((v < self.lb - tol) | (v > self.ub + tol)).any():
            return False
        act = self.a @ v
        return bool(((act >= self.row_lo - tol) & (act <= self.row_up + tol)).all())

    def add_cheapest(self, cost: np.ndarray, k: int) -> None:
        """Add, per group, its ``k`` cheapest move columns under ``cost`` that are missing."""
        c = np.asarray(cost[: self.nx], float)
        order = np.lexsort((np.arange(self.nx), c, self.xg))
        g = self.xg[order]
        first = np.r_[0, np.flatnonzero(np.diff(g)) + 1] if self.nx else np.zeros(0, np.int64)
        nth = np.arange(self.nx) - np.repeat(first, np.diff(np.r_[first, self.nx]))
        pick = order[nth < k]
        pick = pick[~self.in_master[pick]]
        if len(pick):
            self._add_moves(pick, cost)

    def missing_below(self, threshold: float) -> int:
        """Missing, still eligible move columns with reduced cost < ``threshold`` (last
        pricing)."""
        return int((~self.in_master & self.eligible & (self.rc < threshold)).sum())

    def add_missing_below(self, cost: np.ndarray, threshold: float) -> None:
        """Add the columns of :meth:`missing_below`, unless they would more than double the LP
        (then the MIP's own bound is simply not claimed)."""
        k = np.flatnonzero(~self.in_master & self.eligible & (self.rc < threshold))
        if len(k) and len(k) <= max(1000, int(self.in_master.sum())):
            self._add_moves(k, cost)

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

    def _gub_bound(self, obj: float) -> float:
        """A Lagrangian bound that keeps each group's own limit ``Σ_j x_gj = y_g ≤ |g|``
        (``-inf`` without :attr:`group_y`).

        With the row duals π of the last solve on every other row, group g contributes
        ``|g| · min(0, min_j d_gj + d_yg)`` (d: reduced costs) instead of one ``min(0, d)·|g|``
        per missing target, so it is at least as tight as ``LP + Σ min(0, d)·ub``. Written as
        ``LP + Σ_g (that − d·value of its held columns)``; groups with a locked move (a lower
        bound of 1) keep the plain form.
        """
        if self.group_y is None:
            return -INF
        sol = self.h.getSolution()
        cd, cv = np.asarray(sol.col_dual), np.asarray(sol.col_value)
        nx, G, yc = self.nx, len(self.group_y), self.group_y
        d = self.rc
        usable = self.in_master | self.eligible
        gmin = np.full(G, INF)
        np.minimum.at(gmin, self.xg[usable], d[usable])
        has = yc >= 0
        dy, yv, size = np.zeros(G), np.zeros(G), np.zeros(G)
        py = self.pos[yc[has]]
        dy[has], yv[has], size[has] = cd[py], cv[py], self.ub[yc[has]]
        held = np.flatnonzero(self.in_master)
        held_terms = dy * yv
        np.add.at(held_terms, self.xg[held], d[held] * cv[self.pos[held]])
        inner = size * np.minimum(0.0, np.where(np.isfinite(gmin), gmin, 0.0) + dy)
        locked = np.zeros(G, bool)
        locked[self.xg[self.lb[:nx] > 0]] = True
        box_locked = np.minimum(0.0, d) * self.ub[:nx]
        box = float(box_locked[~self.in_master & self.eligible & locked[self.xg]].sum())
        ok = has & ~locked
        return obj + float((inner - held_terms)[ok].sum()) + box

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
        return cand[nth < self.price_per_group], slack

    def solve(
        self,
        cost: np.ndarray,
        limit: float,
        iterations: int,
        rounds: int,
        tol: float = 1e-7,
        cold: bool = False,
    ) -> MipResult:
        """Minimise ``cost`` (full space) over the full LP by column generation; status as in
        :class:`~solvers.highs_model.MipResult` (``feasible``: stopped before the pricing
        proved optimality, ``bound`` then the Lagrangian bound).

        Deterministic budgets stop it: at most ``iterations`` simplex iterations over all
        re-solves (a new pricing round only while the iterations left cover the last
        round's) and ``rounds`` pricing rounds. With ``cold`` the first solve starts from
        scratch instead of the last basis, and so does a re-solve after pricing in more than
        :data:`COLD_RESOLVE_COLUMNS` columns (a deterministic rule). Every round's Lagrangian
        bound is valid; the best is kept. ``limit`` (seconds) is only a safety net; when
        it fires :attr:`timed_out` is set (the result may then differ between runs).
        """
        t = time.perf_counter()
        end = t + float(limit)
        cost = np.asarray(cost, float)
        self.h.changeColsCost(
            len(self.cols), np.arange(len(self.cols), dtype=np.int32), cost[self.cols]
        )
        last: MipResult | None = None  # the last restricted optimum, with its bound
        self.h.setOptionValue("simplex_strategy", 1)  # dual simplex (costs/bounds/rows changed)
        used = last_round = n_added = 0
        for rnd in range(max(1, rounds) + 1):
            # HiGHS counts its time limit over the instance's whole life, not per run
            self.h.setOptionValue(
                "time_limit", self.h.getRunTime() + max(0.01, end - time.perf_counter())
            )
            self.h.setOptionValue("simplex_iteration_limit", max(1, iterations - used))
            if cold and (rnd == 0 or n_added > COLD_RESOLVE_COLUMNS):
                self.h.clearSolver()  # from scratch (presolve, dual simplex), see the caller
                self.h.setOptionValue("simplex_strategy", 1)
            self.h.run()
            last_round = int(self.h.getInfo().simplex_iteration_count)
            used += last_round
            ms = self.h.getModelStatus()
            if ms == highspy.HighsModelStatus.kInfeasible:
                missing = np.flatnonzero(~self.in_master & self.eligible)
                if len(missing) == 0:
                    return MipResult("infeasible", None, INF, INF, time.perf_counter() - t, None)
                self._add_moves(missing, cost)  # a restricted master proves nothing
                continue
            if ms != highspy.HighsModelStatus.kOptimal:
                if ms == highspy.HighsModelStatus.kTimeLimit or _stopped(self.stop):
                    self.timed_out = True
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
            best = max(obj + slack, self._gub_bound(obj), last.bound if last else -INF)
            last = MipResult("feasible", x, obj, best, secs, secs)
            # a round starts only when the budget left covers the last one (a round cut off
            # by the budget would cost time and give nothing)
            if rnd >= rounds or iterations - used < last_round:
                return last
            if time.perf_counter() >= end or _stopped(self.stop):
                self.timed_out = True
                return last
            self._add_moves(add, cost)
            n_added = len(add)
            self.rounds += 1
            # new columns leave the basis primal feasible
            self.h.setOptionValue("simplex_strategy", RESOLVE_STRATEGY)
        if last is None:
            return MipResult("no_solution", None, INF, -INF, time.perf_counter() - t, None)
        return last


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
    fixed: np.ndarray,
    value: np.ndarray,
    limit: float,
    settings: RotationSettings,
    stop: threading.Event | None,
) -> tuple[MipResult, bool]:
    """Branch and bound (HiGHS MIP, 1 thread, seeded, at most ``settings.mip_nodes`` nodes)
    over the columns the LP chain holds, with the full-space columns ``fixed`` fixed at
    ``value``; also whether the wall-clock safety net ``limit`` stopped it.

    Its dual bound holds for that column set and fixing only, so the caller uses the LP's.
    """
    t = time.perf_counter()
    lp = chain.h.getLp()
    lp.col_cost_ = np.asarray(cost, float)[chain.cols]
    fx = fixed[chain.cols]
    lo, up = np.asarray(lp.col_lower_, float), np.asarray(lp.col_upper_, float)
    lo[fx] = up[fx] = value[chain.cols][fx]
    lp.col_lower_, lp.col_upper_ = lo, up
    cont, integ = highspy.HighsVarType.kContinuous, highspy.HighsVarType.kInteger
    lp.integrality_ = [integ if c < chain.nx else cont for c in chain.cols.tolist()]
    h = new_highs()
    h.setOptionValue("time_limit", max(0.01, float(limit)))
    h.setOptionValue("random_seed", int(settings.seed))
    h.setOptionValue("mip_rel_gap", float(settings.mip_gap))
    h.setOptionValue("mip_max_nodes", int(settings.mip_nodes))
    h.passModel(lp)

    def on_interrupt(e: object) -> None:
        if _stopped(stop):
            e.interrupt()  # type: ignore[attr-defined]

    if stop is not None:
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
    timed_out = h.getModelStatus() == highspy.HighsModelStatus.kTimeLimit or _stopped(stop)
    if h.getInfo().primal_solution_status != 2:  # no feasible solution
        return MipResult("no_solution", None, INF, -INF, secs, None), timed_out
    x = np.zeros(chain.n)
    x[chain.cols] = np.asarray(h.getSolution().col_value, dtype=float)
    info = h.getInfo()
    obj = float(info.objective_function_value)
    return MipResult("feasible", x, obj, float(info.mip_dual_bound), secs, secs), timed_out


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
    balance = md.seg_cols  # not needed by pass 1
    chain = _LpChain(mip, md.nx, md.xg, _initial_master(p, md, xv), balance, settings.seed, stop)
    chain.group_y = np.where(md.ypos >= 0, md.y_cols[np.maximum(md.ypos, 0)], -1)
    t_build = time.perf_counter() - t0
    _emit(progress, "model built", t0)

    def add_rows(
        r: np.ndarray, c: np.ndarray, v: np.ndarray, lo: object, up: object, n: int
    ) -> None:
        chain.add_rows(r, c, v, lo, up, n)  # type: ignore[arg-type]

    def left(end: float) -> float:
        return max(0.01, end - time.perf_counter())

    from_lp: dict[str, bool] = {}
    budget = {
        "lp_iterations": settings.lp_iterations,
        "cg_rounds": settings.cg_rounds,
        "mip_nodes": settings.mip_nodes,
    }

    def run(
        name: str,
        cost: np.ndarray,
        start: np.ndarray | None,
        limit: float,
        cold: bool = False,
    ) -> MipResult:
        # the LP relaxation first (column generation within the deterministic budgets): when
        # its optimum is integral it is proven optimal
        t = time.perf_counter()
        end = t + limit
        lp = chain.solve(cost, limit, settings.lp_iterations, settings.cg_rounds, cold=cold)
        if lp.status == "infeasible":
            return lp
        if lp.x is not None and lp.status == "optimal":
            xs = lp.x[: md.nx]
            if np.abs(xs - np.round(xs)).max(initial=0.0) <= 1e-6:
                from_lp[name] = True
                return lp
        r = MipResult("no_solution", None, INF, -INF, 0.0, None)
        if lp.x is not None:
            # a fractional LP: fix every group the LP moves integrally at its LP value and
            # branch (node budget) over the rest, within the columns the LP holds; the LP
            # bound (Lagrangian while pricing is unfinished) stays the valid bound
            xs = lp.x[: md.nx]
            frac = np.abs(xs - np.round(xs)) > 1e-6
            bad = np.zeros(len(p.groups), bool)
            bad[md.xg[frac]] = True
            fixed = np.zeros(chain.n, bool)
            fixed[: md.nx] = ~bad[md.xg]
            value = np.zeros(chain.n)
            value[: md.nx] = np.round(xs)
            r, late = _restricted_mip(chain, cost, start, fixed, value, left(end), settings, stop)
            chain.timed_out |= late
            target = float(np.ceil(lp.bound - 1e-6)) if name == "1" else lp.bound

            def open_gap(r: MipResult) -> bool:
                tol = settings.mip_gap * max(1.0, abs(r.objective))
                return r.x is None or r.objective - target > tol

            if open_gap(r) and not late and (r.x is not None or start is not None):
                # the neighbourhood of the best list so far (RINS): fix the moves on which it
                # and the LP agree, branch over the rest; that list is a solution, so this
                # never ends worse than it
                inc = r.x if r.x is not None else start
                assert inc is not None
                fixed = np.zeros(chain.n, bool)
                fixed[: md.nx] = ~frac & (np.round(xs) == np.round(inc[: md.nx]))
                value = np.zeros(chain.n)
                value[: md.nx] = np.round(inc[: md.nx])
                r2, late = _restricted_mip(
                    chain, cost, inc[: mip.n_cols], fixed, value, left(end), settings, stop
                )
                chain.timed_out |= late
                if r2.x is not None and (r.x is None or r2.objective < r.objective):
                    r = r2
            gap_left = open_gap(r)
            own = -INF
            if gap_left and len(chain.cols) <= FULL_MIP_COLUMNS and not late:
                # small enough: branch over every held column, from the better list. A column
                # left out with LP + d ≥ that list's value (pass 1, integer: > value − 1)
                # cannot improve it, so the others come in first; when none is left after,
                # the MIP's own bound holds for every target.
                step = 1.0 if name == "1" else 0.0
                converged = lp.status == "optimal"
                if converged and r.x is not None:
                    chain.add_missing_below(cost, r.objective - step - lp.objective + 1e-6)
                better = r.x[: mip.n_cols] if r.x is not None else start
                r2, late = _restricted_mip(
                    chain, cost, better, np.zeros(chain.n, bool), value, left(end), settings, stop
                )
                chain.timed_out |= late
                if r2.x is not None and (r.x is None or r2.objective <= r.objective):
                    r = r2
                if converged and r2.x is not None and not late:
                    thr = r.objective - step - lp.objective + 1e-6
                    if not chain.missing_below(thr):
                        own = min(r2.bound, r.objective)
            if r.x is not None:
                r.bound = max(lp.bound, own)
        if r.x is None and start is not None and chain.satisfies(start):
            # the previous pass's list (or the HR list) stands, with the LP bound
            r = MipResult("feasible", start.copy(), float(cost @ start), lp.bound, 0.0, None)
            if lp.x is None:
                r.bound = -INF
        if r.x is None and not chain.timed_out and not _stopped(stop):
            # no list yet (the LP budget ran out first and the HR list breaks a rule): branch
            # over every held column, within the node budget
            none = np.zeros(chain.n, bool)
            r, late = _restricted_mip(
                chain, cost, None, none, np.zeros(chain.n), left(end), settings, stop
            )
            chain.timed_out |= late
            r.bound = lp.bound if lp.x is not None else -INF  # its own holds for its columns
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
    r1 = run("1", cost1, start, left(t0 + PASS1_SHARE * (main_end - t0)))
    _emit(progress, "shortfall pass", t0)
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
    chain.add_cheapest(md.cost2, PASS2_TARGETS)
    chain.price_per_group = PASS2_PRICE_PER_GROUP
    r2 = None
    if not _stopped(stop):
        # cold: from pass 1's basis the city took 40k dual iterations where a fresh solve
        # takes 25k, and warm primal re-solves after pricing cost ~5 ms an iteration there
        r2 = run("2", md.cost2, start, left(deadline - 0.5), cold=True)
    if r2 is not None and r2.x is not None:
        xv2 = np.round(r2.x[: md.nx])
        full = _complete(md, xv2, mip.n_cols)
        if float(md.cost2 @ full) <= float(md.cost2 @ start):
            xv, start = xv2, full
    obj2 = float(md.cost2 @ start) + md.const2
    if r2 is not None:
        r2.bound += md.const2
    # every pass-2 cost is ≥ 0 and the balance term ≥ its least value: a bound whatever the LP
    rest_floor = md.floor2
    stages["rest"] = (
        _stage(r2, obj2, 1.0 / TIER2_SCALE, floor=rest_floor)
        if r2 is not None
        else {"status": "skipped", "objective": obj2 / TIER2_SCALE}
    )
    _emit(progress, "balance pass", t0)

    # pass 3: tie-break by rank sum among the pass-2 optima (the optimal face of its LP)
    tb_status = "skipped: pass 2 not solved at the root LP; pass-2 list kept"
    if deadline - time.perf_counter() <= 0.05 or _stopped(stop):
        tb_status = "skipped: no time left; pass-2 list kept"
        chain.timed_out = True
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
        r3 = chain.solve(cost3, left(deadline), settings.lp_iterations, settings.cg_rounds)
        tb_status = f"{r3.status}; pass-2 list kept"
        if r3.x is not None:
            xv3 = r3.x[: md.nx]
            tol = obj2 + TIE_TOL * max(1.0, abs(obj2))
            if r3.status != "optimal":
                tb_status = "column generation unfinished; pass-2 list kept"
            elif np.abs(xv3 - np.round(xv3)).max(initial=0.0) > 1e-6:
                tb_status = "LP optimum fractional; pass-2 list kept"
            elif float(md.cost2 @ _complete(md, np.round(xv3), n0)) + md.const2 <= tol:
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
    deterministic = not chain.timed_out
    if not deterministic:
        status = "feasible"
    stages["budget"] = {
        "status": "deterministic limits" if deterministic else "time limit fired",
        **budget,
        "lp_rounds": chain.rounds,
        "build_seconds": round(t_build, 3),
    }
    sol = {(int(md.xg[k]), int(md.xj[k])): int(xv[k]) for k in np.flatnonzero(xv > 0.5).tolist()}
    return ModelSolution(
        x=sol,
        status=status,
        objective=objective,
        bound=bound,
        tie_break_status=tb_status,
        solve_seconds=time.perf_counter() - t0,
        stages=stages,
        deterministic=deterministic,
    )


def _emit(progress: ProgressFn | None, message: str, t0: float) -> None:
    if progress is not None:
        progress(ProgressEvent(elapsed=time.perf_counter() - t0, message=message))


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
