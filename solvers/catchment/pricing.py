"""Pricing the pairs the sparse model leaves out, so that its bound holds for all allowed pairs.

The catchment model keeps, per unit, only the ``k_nearest`` cheapest allowed schools (plus
today's school and the pairs contiguity needs). That keeps memory at units × k, but a county
whose nearby schools are full then *reports overflow* that a unit's 9th-nearest school could
have absorbed, and the LP bound only holds for the sparse set.

Column generation closes this: for an LP optimum with row duals ``y`` (HiGHS: reduced cost
``c − Aᵀy``), an omitted pair ``p = (u, s)`` has reduced cost

``rc_p = m_u (W_t c_p + W_m [s ≠ today's]) − y_unit(u) − m_u y_cap(s) + Σ_q y_cn(q)``

where ``q`` runs over the closer-neighbour rows of model pairs ``(v, s)`` that ``p`` would
support (``v`` adjacent to ``u``, ``c_q > c_p``; coefficient −1 in row ``q``) and the pair's own
closer-neighbour row is new, with dual 0. Adding columns and rows with dual 0 keeps ``y`` dual
feasible except for the columns with ``rc < 0``, so:

* if no omitted pair has ``rc < 0``, the sparse LP optimum is the LP optimum over *all* allowed
  pairs;
* any plan that uses an omitted pair ``p`` costs at least ``LP + rc_p`` (its other reduced-cost
  terms are non-negative), so a bound ``b`` proven on the sparse model holds for every plan when
  every omitted pair has ``rc ≥ b − LP``;
* otherwise every plan costs at least ``LP + Σ_u min(0, min_s rc_us)`` (one school per unit).

:func:`price_pairs` enumerates only the omitted pairs that can have ``rc < threshold``: with
``y_cap ≤ 0`` and the support terms ``≤ 0``, ``rc ≥ m_u W_t c_p − y_unit(u) + T_u`` (``T_u`` the
sum of the unit's possible support terms), which gives a travel radius per unit.

Applies to contiguity ``none`` and ``closer_neighbour`` without the balance term
(:func:`pricing_applies`); exact contiguity's flow rows and the balance rows are not priced.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from geo.distance import pair_distance, travel_pairs
from planner.model import District
from solvers.catchment.lp import LPResult
from solvers.catchment.mip import LinearModel
from solvers.catchment.problem import CatchmentProblem, within_alpha
from solvers.catchment.types import CatchmentSettings

#: Reduced costs above ``-PRICE_TOLERANCE × (1 + |LP objective| / n_units)`` count as
#: non-negative (simplex noise).
PRICE_TOLERANCE = 1e-7
#: Pairs priced per chunk of units (memory bound of :func:`price_pairs`).
PRICE_CHUNK_PAIRS = 1_000_000


@dataclass(frozen=True)
class PricedPairs:
    """Omitted allowed pairs whose reduced cost is below the threshold, cheapest first.

    Attributes
    ----------
    unit, school, cost, rc : numpy.ndarray
        The pairs, their travel cost and reduced cost, sorted by ``rc``.
    threshold : float
        Every omitted allowed pair not listed has ``rc ≥ threshold``.
    unit_min_sum : float
        ``Σ_u min(0, min_s rc_us)`` over all omitted pairs (≤ 0): ``LP + unit_min_sum`` is a
        lower bound over all allowed pairs (when ``threshold ≥ 0``).
    n_below : int
        Omitted pairs with ``rc < threshold``, listed or not (``max_per_unit``, ``max_pairs``).
    """

    unit: np.ndarray
    school: np.ndarray
    cost: np.ndarray
    rc: np.ndarray
    threshold: float
    unit_min_sum: float
    n_below: int

    @property
    def min_rc(self) -> float:
        """The least reduced cost of an omitted pair (``threshold`` when none is listed)."""
        return float(self.rc[0]) if self.rc.size else self.threshold


def pricing_applies(pb: CatchmentProblem, settings: CatchmentSettings) -> bool:
    """Pricing covers contiguity none / closer-neighbour without the balance term, up to
    ``settings.price_max_pairs`` unit × school combinations."""
    return (
        pb.contiguity in ("none", "closer_neighbour")
        and settings.balance_delta is None
        and pb.n_units * int(pb.usable.sum()) <= settings.price_max_pairs
    )


def price_tolerance(pb: CatchmentProblem, lp: LPResult) -> float:
    """Reduced costs above ``-tolerance`` are treated as non-negative."""
    return PRICE_TOLERANCE * (1.0 + abs(lp.objective) / max(pb.n_units, 1))


def _support_terms(
    pb: CatchmentProblem, model: LinearModel, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(key u·S+s, threshold cost, dual) of each possible support term of an omitted pair.

    Row ``q = (v, s)`` with dual ``y_q < 0`` gains ``u`` (a neighbour of ``v``) as support when
    ``(u, s)`` is added with ``c_us < c_q``: the term ``y_q`` enters ``rc_(u,s)``.
    """
    empty = (np.zeros(0, np.int64), np.zeros(0), np.zeros(0))
    fam = model.families.get("closer_neighbour")
    cd = pb.contig
    if fam is None or cd is None or fam.stop == fam.start:
        return empty
    rows_p = np.flatnonzero(~cd.exempt & (np.diff(cd.support_ptr) > 0))
    yq = y[fam]
    neg = yq < 0
    if not neg.any():
        return empty
    q, yq = rows_p[neg], yq[neg]
    v, s, cq = pb.pair_unit[q], pb.pair_school[q], pb.pair_cost[q]
    a = np.r_[pb.adj_a, pb.adj_b].astype(np.int64)
    b = np.r_[pb.adj_b, pb.adj_a].astype(np.int64)
    order = np.argsort(a, kind="stable")
    a, b = a[order], b[order]
    ptr = np.searchsorted(a, np.arange(pb.n_units + 1))
    cnt = ptr[v + 1] - ptr[v]
    idx = np.repeat(np.arange(q.size), cnt)
    offs = np.arange(int(cnt.sum())) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    u = b[ptr[v][idx] + offs]
    return u * pb.n_schools + s[idx], cq[idx], yq[idx]


def _enumerate(
    district: District,
    pb: CatchmentProblem,
    settings: CatchmentSettings,
    units: np.ndarray,
    radius: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Allowed pairs ``(u, s, cost)`` of ``units`` with cost below ``radius[u]`` (inf: all)."""
    n_schools = pb.n_schools
    if district.travel is None:
        allowed = np.flatnonzero(pb.usable)
        if units.size == 0 or allowed.size == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
        r = radius[units]
        if settings.max_travel is not None:
            r = np.minimum(r, settings.max_travel * (1 + 1e-12) + 1e-9)
        big = ~np.isfinite(r)
        uu: list[np.ndarray] = []
        ss: list[np.ndarray] = []
        if big.any():
            ub = units[big]
            uu.append(np.repeat(ub, allowed.size))
            ss.append(np.tile(allowed, ub.size))
        fin = ~big & (r > 0)
        if fin.any():
            tree = cKDTree(district.school_xy()[allowed])
            hits = tree.query_ball_point(district.unit_xy()[units[fin]], r[fin])
            cnt = np.fromiter((len(h) for h in hits), dtype=np.int64, count=len(hits))
            uu.append(np.repeat(units[fin], cnt))
            flat = np.fromiter((j for h in hits for j in h), dtype=np.int64, count=int(cnt.sum()))
            ss.append(allowed[flat])
        u = np.concatenate(uu) if uu else np.zeros(0, np.int64)
        s = np.concatenate(ss) if ss else np.zeros(0, np.int64)
        c = pair_distance(district.unit_xy(), district.school_xy(), u, s)
        ok = c < radius[u]
        if settings.max_travel is not None:
            ok &= c <= settings.max_travel
    else:
        pr = travel_pairs(district, pb.level)
        sel = np.zeros(pb.n_units, dtype=bool)
        sel[units] = True
        u, s, c = pr.unit, pr.school, pr.cost
        ok = sel[u] & pb.usable[s] & (c < radius[u])
        if settings.max_travel is not None:
            ok &= c <= settings.max_travel
    u, s, c = u[ok], s[ok], c[ok]
    if settings.alpha is not None:
        cur = pb.current
        cur_cost = np.full(pb.n_units, np.inf)
        has = pb.current_pair >= 0
        cur_cost[has] = pb.pair_cost[pb.current_pair[has]]
        ok = (s == cur[u]) | within_alpha(c, cur_cost[u], settings.alpha)
        u, s, c = u[ok], s[ok], c[ok]
    # omit the pairs the model has
    key = u * n_schools + s
    have = np.sort(pb.pair_unit * n_schools + pb.pair_school)
    pos = np.minimum(np.searchsorted(have, key), max(have.size - 1, 0))
    new = have[pos] != key if have.size else np.ones(key.size, dtype=bool)
    return u[new], s[new], c[new]


@dataclass(frozen=True)
class _Duals:
    """The LP duals an omitted pair's reduced cost reads, gathered once per pricing call.

    ``y_unit`` per unit (0 for a unit without a row), ``y_cap`` per school, and the possible
    support terms (:func:`_support_terms`) sorted by key.
    """

    y_unit: np.ndarray
    y_cap: np.ndarray
    key_t: np.ndarray
    c_t: np.ndarray
    y_t: np.ndarray

    @classmethod
    def of(cls, pb: CatchmentProblem, model: LinearModel, lp: LPResult) -> _Duals:
        assert lp.row_duals is not None
        y = lp.row_duals
        has_row = np.diff(pb.unit_ptr) > 0
        y_unit = np.zeros(pb.n_units)
        y_unit[has_row] = y[model.families["one_school_per_unit"]]
        key_t, c_t, y_t = _support_terms(pb, model, y)
        order = np.argsort(key_t, kind="stable")
        return cls(y_unit, y[model.families["soft_capacity"]], key_t[order], c_t[order], y_t[order])

    def reduced_costs(
        self,
        pb: CatchmentProblem,
        settings: CatchmentSettings,
        unit: np.ndarray,
        school: np.ndarray,
        cost: np.ndarray,
    ) -> np.ndarray:
        """Reduced costs of pairs ``(unit, school)`` if added to the model (own row dual 0)."""
        w = settings.weights
        m = pb.movable[unit].astype(float)
        cur = pb.current[unit]
        moved = (cur >= 0) & (school != cur)
        rc = m * (w.travel * cost + w.moved * moved) - self.y_unit[unit] - m * self.y_cap[school]
        if self.key_t.size and unit.size:
            key = unit * pb.n_schools + school
            lo = np.searchsorted(self.key_t, key, side="left")
            cnt = np.searchsorted(self.key_t, key, side="right") - lo
            if cnt.any():
                idx = np.repeat(np.arange(key.size), cnt)
                offs = np.arange(int(cnt.sum())) - np.repeat(np.cumsum(cnt) - cnt, cnt)
                t = lo[idx] + offs
                add = np.where(cost[idx] < self.c_t[t], self.y_t[t], 0.0)
                rc = rc + np.bincount(idx, weights=add, minlength=key.size)
        return rc


def pair_reduced_costs(
    pb: CatchmentProblem,
    model: LinearModel,
    lp: LPResult,
    settings: CatchmentSettings,
    unit: np.ndarray,
    school: np.ndarray,
    cost: np.ndarray,
) -> np.ndarray:
    """Reduced costs of pairs ``(unit, school)`` if added to ``model`` (own row dual 0)."""
    return _Duals.of(pb, model, lp).reduced_costs(pb, settings, unit, school, cost)


def price_pairs(
    district: District,
    pb: CatchmentProblem,
    model: LinearModel,
    lp: LPResult,
    settings: CatchmentSettings,
    threshold: float,
    exclude: np.ndarray | None = None,
    max_per_unit: int | None = None,
    max_pairs: int | None = None,
) -> PricedPairs:
    """The omitted allowed pairs with reduced cost below ``threshold`` (module doc).

    Parameters
    ----------
    district : District
        The district the problem was built from (travel table or coordinates).
    pb, model, lp
        The sparse problem, its model and an optimal LP solution of it (with row duals).
    settings : CatchmentSettings
        Travel rules and weights (as used to build ``pb``).
    threshold : float
        Report pairs with ``rc < threshold``; ``-tolerance`` asks only for improving pairs.
    exclude : numpy.ndarray, optional
        Keys ``u·n_schools + s`` of pairs not to report: pairs that were added once and that
        :func:`.problem.build_problem` pruned because no contiguous catchment can use them.
    max_per_unit : int, optional
        Keep only this many pairs per unit (lowest ``rc``); the statistics count them all.
    max_pairs : int, optional
        Stop keeping pairs beyond about this many (``n_below`` still counts them).

    Returns
    -------
    PricedPairs
    """
    assert lp.status == "optimal"
    duals = _Duals.of(pb, model, lp)
    w = settings.weights
    has_row = np.diff(pb.unit_ptr) > 0
    t_unit = np.bincount(
        duals.key_t // max(pb.n_schools, 1), weights=duals.y_t, minlength=pb.n_units
    )
    # rc ≥ m W_t c − y_unit + T_u: only pairs with m W_t c < y_unit − T_u + threshold matter
    slack = duals.y_unit - t_unit + threshold
    m = pb.movable.astype(float)
    rate = m * w.travel
    with np.errstate(divide="ignore", invalid="ignore"):
        radius = np.where(rate > 0, slack / np.where(rate > 0, rate, 1.0), np.inf)
    radius = np.where((rate <= 0) & (slack <= 0), -np.inf, radius)
    units = np.flatnonzero(has_row & ~pb.locked & (radius > 0))
    # Units in chunks, so that memory stays bounded when the duals still price far pairs
    # (the first round after a sparse LP with overflow: every unit may see every school).
    step = max(1, PRICE_CHUNK_PAIRS // max(int(pb.usable.sum()), 1))
    per_unit = np.zeros(pb.n_units)
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    kept = below = 0
    for lo in range(0, units.size, step):
        u, s, c = _enumerate(district, pb, settings, units[lo : lo + step], radius)
        if exclude is not None and exclude.size and u.size:
            keep = ~np.isin(u * pb.n_schools + s, exclude)
            u, s, c = u[keep], s[keep], c[keep]
        rc = duals.reduced_costs(pb, settings, u, s, c)
        ok = rc < threshold
        u, s, c, rc = u[ok], s[ok], c[ok], rc[ok]
        np.minimum.at(per_unit, u, rc)
        below += int(u.size)
        if max_per_unit is not None and u.size:
            order = np.lexsort((s, rc, u))
            u, s, c, rc = u[order], s[order], c[order], rc[order]
            first = np.r_[0, np.flatnonzero(u[1:] != u[:-1]) + 1]
            rank = np.arange(u.size) - np.repeat(first, np.diff(np.r_[first, u.size]))
            top = rank < max_per_unit
            u, s, c, rc = u[top], s[top], c[top], rc[top]
        if max_pairs is None or kept + u.size <= max_pairs:
            parts.append((u, s, c, rc))
            kept += int(u.size)
    if parts:
        u, s, c, rc = (np.concatenate(a) for a in zip(*parts, strict=True))
    else:
        u = s = np.zeros(0, np.int64)
        c = rc = np.zeros(0)
    order = np.lexsort((s, u, rc))
    return PricedPairs(
        u[order], s[order], c[order], rc[order], float(threshold), float(per_unit.sum()), below
    )
