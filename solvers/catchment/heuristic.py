"""Fast contiguous plans for the closer-neighbour model: a greedy growth and a boundary local search.

Both work on the sparse pair set of a :class:`~.problem.CatchmentProblem` with the support data
of :mod:`.contiguity` (pair ``p = (u, s)`` may be used only when it is exempt or a supporting
pair ``q = (v, s)``, ``v`` adjacent to ``u`` and strictly nearer ``s``, is used too).

Growth (:func:`grow`)
    Catchments grow outward from the exempt pairs (the school's unit, locked and waived units)
    in increasing order of the per-pupil cost ``W_t c_p + W_m [s ≠ today's school]``, like a
    multi-source Dijkstra: a pair becomes available when a supporting pair is taken. A pair
    whose school has no seats left for the unit is deferred and taken only when nothing else
    is available (soft capacity). Units that end up with no available pair are placed on their
    cheapest pair and repaired (:func:`.lp.repair_closer_neighbour`).

Priced growth (:func:`price_search`)
    Growth with a per-school seat price added to the key, the prices set by subgradient steps
    on the seat shortage; every grown plan is improved by the local search. Moves whole rings
    of units outward from over-full schools (cascades), which single-unit moves cannot.

Work (:class:`WorkMeter`)
    Both count their work in pair visits (a sweep of the local search visits every pair of the
    units it tries; a growth visits every pair once), a number that depends on the inputs only.
    A meter with a ``limit`` stops them at an iteration or sweep boundary, so a work-budgeted
    run gives the same plan on any machine; a wall-clock ``deadline`` does not.

Local search (:func:`local_search`)
    First-improvement sweeps over the units: move unit ``u`` from ``s`` to ``t`` when the new
    pair is exempt or supported, no unit of ``s`` loses its last support, and the exact objective
    change (overflow, travel, moved pupils, migrant balance; a stability-cap excess counts as
    overflow) is negative. Support counts are kept incrementally, so a sweep costs O(pairs).
"""

from __future__ import annotations

import heapq
import math
import time
from dataclasses import dataclass

import numpy as np

from solvers.catchment.problem import CatchmentProblem, evaluate
from solvers.catchment.types import ObjectiveWeights


@dataclass
class WorkMeter:
    """Deterministic work of the heuristics, in pair visits, with an optional limit.

    ``clock_cut`` is set when a wall-clock ``deadline`` (not the work limit) stopped a heuristic:
    its result then depends on the machine's speed.
    """

    visits: float = 0.0
    limit: float = math.inf
    clock_cut: bool = False

    def add(self, n: float) -> None:
        """Count ``n`` pair visits."""
        self.visits += n

    def spent(self) -> bool:
        """True when the work limit is reached."""
        return self.visits >= self.limit


def _past(deadline: float | None, meter: WorkMeter | None) -> bool:
    """True (and noted on the meter) when the wall-clock deadline has passed."""
    if deadline is None or time.perf_counter() <= deadline:
        return False
    if meter is not None:
        meter.clock_cut = True
    return True


def _reverse_support(pb: CatchmentProblem) -> tuple[np.ndarray, np.ndarray]:
    """CSR of the pairs each pair supports (the inverse of ``contig.support_*``)."""
    cd = pb.contig
    assert cd is not None
    owner = np.repeat(np.arange(pb.n_pairs), np.diff(cd.support_ptr))
    order = np.argsort(cd.support_idx, kind="stable")
    ptr = np.concatenate(([0], np.cumsum(np.bincount(cd.support_idx, minlength=pb.n_pairs))))
    return ptr.astype(np.int64), owner[order].astype(np.int64)


@dataclass
class PlanState:
    """A plan as the plain lists the move loops update in place (:func:`local_search`,
    :func:`.chains.eject_chains`): per unit its pair ``pl``, per pair ``on`` and, with the
    closer-neighbour rule, its count of supporting on-pairs ``nsup`` (the reverse support CSR
    ``rp``/``ri`` and ``exempt`` with it; empty lists without the rule), per school ``load``,
    the moved pupils, and the problem's arrays as lists."""

    units: np.ndarray  # units with pairs
    pl: list[int]
    on: list[bool]
    nsup: list[int]
    rp: list[int]
    ri: list[int]
    exempt: list[bool]
    ps: list[int]
    pc: list[float]
    ptr: list[int]
    m: list[float]
    cur: list[int]
    seats: list[float]
    load: list[float]
    moved: float

    def move(self, u: int, p0: int, p: int) -> None:
        """Unit ``u`` from its pair ``p0`` to ``p``: on-pairs, support counts, loads, moved."""
        on, nsup, rp, ri = self.on, self.nsup, self.rp, self.ri
        on[p0], on[p] = False, True
        if rp:  # the closer-neighbour rule is on
            for d in ri[rp[p0] : rp[p0 + 1]]:
                nsup[d] -= 1
            for d in ri[rp[p] : rp[p + 1]]:
                nsup[d] += 1
        s, t, mu, cu = self.ps[p0], self.ps[p], self.m[u], self.cur[u]
        self.load[s] -= mu
        self.load[t] += mu
        if cu >= 0:
            self.moved += mu * (float(t != cu) - float(s != cu))
        self.pl[u] = p


def plan_state(pb: CatchmentProblem, assign: np.ndarray) -> PlanState | None:
    """The :class:`PlanState` of ``assign``; None when a unit's school is not one of its pairs."""
    units = np.flatnonzero(np.diff(pb.unit_ptr) > 0)
    p_of = np.full(pb.n_units, -1, dtype=np.int64)
    p_of[units] = pb.pair_index(units, assign[units])
    if (p_of[units] < 0).any():
        return None
    n_p = pb.n_pairs
    on = np.zeros(n_p, dtype=bool)
    on[p_of[units]] = True
    cd = pb.contig if pb.contiguity == "closer_neighbour" else None
    nsup: list[int] = []
    rp: list[int] = []
    ri: list[int] = []
    exempt: list[bool] = []
    if cd is not None:
        r_ptr, r_idx = _reverse_support(pb)
        owner = np.repeat(np.arange(n_p), np.diff(cd.support_ptr))
        nsup = np.bincount(owner, weights=on[cd.support_idx], minlength=n_p).astype(int).tolist()
        rp, ri = r_ptr.tolist(), r_idx.tolist()
        exempt = cd.exempt.tolist()
    load = pb.fixed_load + np.bincount(
        assign[units], weights=pb.movable[units], minlength=pb.n_schools
    )
    return PlanState(
        units=units,
        pl=p_of.tolist(),
        on=on.tolist(),
        nsup=nsup,
        rp=rp,
        ri=ri,
        exempt=exempt,
        ps=pb.pair_school.tolist(),
        pc=pb.pair_cost.tolist(),
        ptr=pb.unit_ptr.tolist(),
        m=pb.movable.astype(float).tolist(),
        cur=pb.current.tolist(),
        seats=pb.seats.astype(float).tolist(),
        load=load.tolist(),
        moved=float(pb.movable[(pb.current >= 0) & (assign != pb.current)].sum()),
    )


def _per_pupil_cost(pb: CatchmentProblem, w: ObjectiveWeights) -> np.ndarray:
    cur = pb.current[pb.pair_unit]
    moved = (cur >= 0) & (pb.pair_school != cur)
    return w.travel * pb.pair_cost + w.moved * moved


def _grow_from(
    pb: CatchmentProblem,
    weights: ObjectiveWeights,
    assign: np.ndarray,
    price: np.ndarray | None = None,
) -> np.ndarray:
    """Place the unassigned units of a partial plan (valid where assigned) by growth.

    ``price`` (per school, per pupil) is added to the growth key (:func:`price_search`).
    """
    cd = pb.contig
    assert cd is not None
    r_ptr, r_idx = _reverse_support(pb)
    key_arr = _per_pupil_cost(pb, weights)
    if price is not None:
        key_arr = key_arr + price[pb.pair_school]
    key = key_arr.tolist()
    pu, ps = pb.pair_unit.tolist(), pb.pair_school.tolist()
    rp, ri = r_ptr.tolist(), r_idx.tolist()
    m = pb.movable.tolist()
    has = assign >= 0
    load = (
        pb.fixed_load + np.bincount(assign[has], weights=pb.movable[has], minlength=pb.n_schools)
    ).tolist()
    seats = pb.seats.tolist()
    on = assign[pb.pair_unit] == pb.pair_school
    owner = np.repeat(np.arange(pb.n_pairs), np.diff(cd.support_ptr))
    n_sup = np.bincount(owner, weights=on[cd.support_idx], minlength=pb.n_pairs)
    start = np.flatnonzero((cd.exempt | (n_sup > 0)) & ~has[pb.pair_unit])
    a = assign.tolist()
    heap = [(key[p], p) for p in start.tolist()]
    heapq.heapify(heap)
    deferred: list[tuple[float, int]] = []
    while heap or deferred:
        if heap:
            k, p = heapq.heappop(heap)
            u = pu[p]
            if a[u] >= 0:
                continue
            s = ps[p]
            if m[u] > 0 and load[s] + m[u] > seats[s]:
                heapq.heappush(deferred, (k, p))
                continue
        else:
            k, p = heapq.heappop(deferred)
            u = pu[p]
            if a[u] >= 0:
                continue
            s = ps[p]
        a[u] = s
        load[s] += m[u]
        for d in ri[rp[p] : rp[p + 1]]:
            if a[pu[d]] < 0:
                heapq.heappush(heap, (key[d], d))
    return np.asarray(a, dtype=np.int64)


def grow(pb: CatchmentProblem, weights: ObjectiveWeights) -> np.ndarray:
    """A closer-neighbour plan grown from the schools' units (see the module docstring).

    Returns the school per unit (-1 for units without pairs). The plan meets the rule unless the
    final repair fails, which :func:`.lp.hard_violations` reports.
    """
    assert pb.contig is not None and pb.contiguity == "closer_neighbour"
    assign = _grow_from(pb, weights, np.full(pb.n_units, -1, dtype=np.int64))
    return repair_chains(pb, assign, weights)


def price_search(
    pb: CatchmentProblem,
    weights: ObjectiveWeights,
    balance_delta: float | None = None,
    price0: np.ndarray | None = None,
    iterations: int = 20,
    deadline: float | None = None,
    meter: WorkMeter | None = None,
) -> np.ndarray | None:
    """Priced growth: catchments grown with a per-school seat price, prices set by subgradient.

    Growth with key ``W_t c_p + W_m [moved] + λ_s`` builds additively weighted "Voronoi"
    catchments, which are star-shaped around the school (a unit's neighbour nearer to ``s``
    has a smaller key for ``s`` too), so the closer-neighbour rule mostly holds without repair.
    Raising ``λ`` of an over-full school makes its neighbours take its outer units, whose
    schools then pass units on outward: the cascades single-unit moves cannot make. Each
    iteration grows (:func:`_grow_from`), repairs (:func:`repair_chains`) and improves the plan
    (:func:`local_search`), then sets ``λ_s ← max(0, λ_s + η_k c̃ (load_s − seats_s) / seats_s)``
    with ``c̃`` the median pair cost and ``η_k = 1 / (1 + k / 10)``. Deterministic for a fixed
    number of iterations or a ``meter`` limit (checked before each iteration and by the local
    search); a wall-clock ``deadline`` may stop it earlier, and then it is not.

    Returns the best plan (exact objective) or None when no iteration produced a valid plan.
    """
    assert pb.contig is not None and pb.contiguity == "closer_neighbour"
    lam = np.zeros(pb.n_schools) if price0 is None else np.maximum(price0, 0.0).astype(float)
    c_med = float(np.median(pb.pair_cost)) if pb.n_pairs else 1.0
    seats = np.maximum(pb.seats, 1).astype(float)
    best: np.ndarray | None = None
    best_obj = np.inf
    has_pairs = np.diff(pb.unit_ptr) > 0
    for k in range(iterations):
        if _past(deadline, meter) or (meter is not None and meter.spent()):
            break
        a = _grow_from(pb, weights, np.full(pb.n_units, -1, dtype=np.int64), lam)
        a = repair_chains(pb, a, weights, meter=meter)
        if meter is not None:
            meter.add(2 * pb.n_pairs)  # growth and evaluation
        if (a[has_pairs] < 0).any():
            break
        raw = evaluate(pb, a, weights, balance_delta)
        a = local_search(pb, a, weights, balance_delta, deadline=deadline, meter=meter)
        obj = evaluate(pb, a, weights, balance_delta).terms["objective"]
        if obj < best_obj - 1e-9 * max(1.0, abs(obj)):
            best, best_obj = a, obj
        step = c_med / (1.0 + k / 10.0)
        lam = np.maximum(0.0, lam + step * (raw.load - pb.seats) / seats)
        lam[~pb.usable] = 0.0
    return best


def _unsupported(pb: CatchmentProblem, assign: np.ndarray) -> np.ndarray:
    """Greatest valid sub-plan: the on-pairs that survive dropping unsupported ones, iterated."""
    cd = pb.contig
    assert cd is not None
    on = (assign[pb.pair_unit] == pb.pair_school) & (assign[pb.pair_unit] >= 0)
    owner = np.repeat(np.arange(pb.n_pairs), np.diff(cd.support_ptr))
    while True:
        n_sup = np.bincount(owner, weights=on[cd.support_idx], minlength=pb.n_pairs)
        new = on & (cd.exempt | (n_sup > 0))
        if np.array_equal(new, on):
            return on
        on = new


def repair_chains(
    pb: CatchmentProblem,
    assign: np.ndarray,
    weights: ObjectiveWeights,
    rounds: int = 30,
    meter: WorkMeter | None = None,
) -> np.ndarray:
    """Make a plan meet the closer-neighbour rule.

    Units off the rule are dropped (with the units that depended on them) and regrown
    (:func:`_grow_from`). A unit that still has no available pair is placed on its cheapest
    pair together with a whole support chain down to an exempt pair (each step the cheapest
    supporter, preferring units already in that school); chain units are pinned so that later
    rounds do not undo them. Every kept non-exempt pair has a kept supporter (pruning), so a
    chain always exists; two chains can compete for a unit, hence the rounds. ``meter`` counts
    one regrowth (all pairs) per round.
    """
    cd = pb.contig
    assert cd is not None
    has_pairs = np.diff(pb.unit_ptr) > 0
    assign = np.where(has_pairs, assign, -1)
    pinned = np.zeros(pb.n_units, dtype=bool)
    sp, si = cd.support_ptr, cd.support_idx
    for _ in range(rounds):
        on = _unsupported(pb, assign) | pinned[pb.pair_unit] & (
            assign[pb.pair_unit] == pb.pair_school
        )
        keep = np.zeros(pb.n_units, dtype=bool)
        keep[pb.pair_unit[on]] = True
        part = np.where(keep, assign, -1)
        part = _grow_from(pb, weights, part)
        if meter is not None:
            meter.add(pb.n_pairs)
        left = np.flatnonzero((part < 0) & has_pairs)
        if left.size == 0:
            on = _unsupported(pb, part)
            if on.sum() == has_pairs.sum():
                return part
            assign = part
            continue
        for u in left.tolist():
            p = int(pb.unit_ptr[u])  # cheapest pair
            s = int(pb.pair_school[p])
            part[u] = s
            pinned[u] = True
            while not cd.exempt[p]:
                sup = si[sp[p] : sp[p + 1]]
                in_s = sup[part[pb.pair_unit[sup]] == s]
                pool = in_s if in_s.size else sup
                p = int(pool[np.argmin(pb.pair_cost[pool])])
                part[pb.pair_unit[p]] = s
                pinned[pb.pair_unit[p]] = True
        assign = part
    return assign


def local_search(
    pb: CatchmentProblem,
    assign: np.ndarray,
    weights: ObjectiveWeights,
    balance_delta: float | None = None,
    deadline: float | None = None,
    max_sweeps: int = 30,
    meter: WorkMeter | None = None,
) -> np.ndarray:
    """Improve a plan by single-unit moves that keep the hard rules (module docstring).

    ``assign`` must meet the closer-neighbour rule (when on) and place every unit with pairs on
    one of them; the result does too. Stops at a local optimum, after ``max_sweeps`` sweeps,
    when ``meter`` reaches its limit (checked after each sweep; deterministic), or at
    ``deadline`` (a ``time.perf_counter()`` value; not deterministic).
    """
    n_p = pb.n_pairs
    if n_p == 0:
        return assign
    cd = pb.contig if pb.contiguity == "closer_neighbour" else None
    st = plan_state(pb, assign)
    if st is None:
        return assign
    units, on, nsup, rp, ri, exempt = st.units, st.on, st.nsup, st.rp, st.ri, st.exempt
    ps, pc, ptr, m, cur, seats, load = st.ps, st.pc, st.ptr, st.m, st.cur, st.seats, st.load
    w_o, w_t, w_m, w_b = weights.overflow, weights.travel, weights.moved, weights.balance
    bal = balance_delta is not None
    if bal:
        mig = (
            pb.fixed_migrant
            + np.bincount(assign[units], weights=pb.migrant[units], minlength=pb.n_schools)
        ).tolist()
        g = pb.migrant.tolist()
        r, dl = pb.county_migrant_share, float(balance_delta or 0.0)
    cap = pb.moved_cap
    pl = st.pl
    cand = [u for u in units.tolist() if ptr[u + 1] - ptr[u] > 1 and not pb.locked[u]]
    sweep_visits = float(sum(ptr[u + 1] - ptr[u] for u in cand))
    if meter is not None:
        meter.add(n_p)  # set-up

    def over(x: float, s: int) -> float:
        return max(0.0, x - seats[s])

    def bex(mi: float, lo: float) -> float:
        return max(0.0, abs(mi - r * lo) - dl * lo)

    for _ in range(max_sweeps):
        improved = False
        for u in cand:
            p0 = pl[u]
            s = ps[p0]
            # u may leave s only if no unit of s loses its last support
            if cd is not None and any(
                nsup[d] < 2 and on[d] and not exempt[d] for d in ri[rp[p0] : rp[p0 + 1]]
            ):
                continue
            mu = m[u]
            cu = cur[u]
            ls = load[s]
            base_s = over(ls, s)
            d_over_s = over(ls - mu, s) - base_s
            best, best_p = -1e-9, -1
            for p in range(ptr[u], ptr[u + 1]):
                if p == p0:
                    continue
                if cd is not None and not exempt[p] and nsup[p] == 0:
                    continue
                t = ps[p]
                d_over = d_over_s + over(load[t] + mu, t) - over(load[t], t)
                d_mv = 0.0
                if cu >= 0:
                    d_mv = mu * (float(t != cu) - float(s != cu))
                delta = w_o * d_over + w_t * mu * (pc[p] - pc[p0]) + w_m * d_mv
                if cap is not None and d_mv != 0.0:
                    moved = st.moved
                    delta += w_o * (max(0.0, moved + d_mv - cap) - max(0.0, moved - cap))
                if bal:
                    gu = g[u]
                    delta += w_b * (
                        bex(mig[s] - gu, ls - mu) - bex(mig[s], ls)
                        + bex(mig[t] + gu, load[t] + mu) - bex(mig[t], load[t])
                    )  # fmt: skip
                if delta < best:
                    best, best_p = delta, p
            if best_p < 0:
                continue
            p, t = best_p, ps[best_p]
            st.move(u, p0, p)
            if bal:
                mig[s] -= g[u]
                mig[t] += g[u]
            improved = True
        if meter is not None:
            meter.add(sweep_visits)
        if not improved or (meter is not None and meter.spent()) or _past(deadline, meter):
            break
    out = assign.copy()
    out[units] = pb.pair_school[np.asarray(pl, dtype=np.int64)[units]]
    return out
