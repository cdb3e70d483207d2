"""Ejection chains: free seats at over-full schools by passing units on from school to school.

A single-unit move out of an over-full school ``s`` helps only when a neighbouring school has a
free seat; when the neighbours are full too, the local search (:func:`.heuristic.local_search`)
is stuck although the LP relaxation may need no overflow at all. An ejection chain moves unit
``u₀`` from ``s`` to ``b₁``, unit ``u₁`` from ``b₁`` to ``b₂``, …, and unit ``u_k`` from ``b_k``
to a school ``r`` with seats for it: every school but ``s`` and ``r`` keeps its load (or gets no
fuller than it may), ``s`` sheds ``u₀``'s pupils, and the travel of the moves is the chain's cost.

Search (:func:`eject_chains`)
    For each over-full school, a layered search over the schools (depth ≤ ``max_depth`` moves,
    each school at most once per chain, the best label per school and layer) finds the chain
    with the largest overflow reduction and, among those, the least added travel and moved
    pupils (``W_o`` per overflow pupil against ``W_t``/``W_m``, the objective's weights). Every
    move keeps the hard rules against the plan of the moment: the unit is not locked, the new
    pair is exempt or supported (closer-neighbour rule), and no unit of the old school loses
    its last support.
Application
    The moves are made last first (so each school has room before it receives), each checked
    again against the plan as it is then; the chain is kept when the exact objective change
    (overflow, travel, moved pupils, the stability-cap excess, migrant balance) is negative, and
    undone otherwise (its first move is then not tried again).
Work
    Counted in pair visits on a :class:`~.heuristic.WorkMeter` (a chain search visits the
    pairs of the units it tries), so a work limit gives the same plan on any machine.
"""

from __future__ import annotations

import numpy as np

from solvers.catchment.heuristic import WorkMeter, _past, plan_state
from solvers.catchment.problem import CatchmentProblem, evaluate
from solvers.catchment.types import ObjectiveWeights

#: Longest chain searched (moves); the school graph of a county is small, so depth is cheap.
MAX_DEPTH = 5

#: Labels kept per school and layer (Pareto on pupils received and value).
LABELS_PER_SCHOOL = 4

_Move = tuple[int, int, int]  # unit, old pair, new pair
_Label = tuple[float, float, float, list[_Move]]  # score, overflow saved, pupils received, moves


def eject_chains(
    pb: CatchmentProblem,
    assign: np.ndarray,
    weights: ObjectiveWeights,
    balance_delta: float | None = None,
    max_depth: int = MAX_DEPTH,
    meter: WorkMeter | None = None,
    deadline: float | None = None,
) -> np.ndarray:
    """Reduce a plan's overflow by ejection chains (module docstring).

    Parameters
    ----------
    pb : CatchmentProblem
        The level's problem (sparse pairs; closer-neighbour support data when that rule is on).
    assign : numpy.ndarray
        School per unit, meeting the hard rules; the result does too. With exact contiguity the
        plan is returned unchanged (connectivity is not tracked move by move).
    weights : ObjectiveWeights
        The objective's weights; a chain is kept only when it lowers the objective.
    balance_delta : float, optional
        The migrant-balance band (the exact change is then checked with :func:`.evaluate`).
    max_depth : int
        Most moves per chain.
    meter : WorkMeter, optional
        Work limit (checked before each chain search; deterministic).
    deadline : float, optional
        A ``time.perf_counter()`` value (not deterministic).

    Returns
    -------
    numpy.ndarray
        The improved plan (a copy).
    """
    if pb.n_pairs == 0 or pb.contiguity == "exact":
        return assign
    cd = pb.contig if pb.contiguity == "closer_neighbour" else None
    st = plan_state(pb, assign)
    if st is None:
        return assign
    n_s = pb.n_schools
    units, on_l, nsup, rp, ri, exempt = st.units, st.on, st.nsup, st.rp, st.ri, st.exempt
    ps, pc, ptr, m, cur, seats, load = st.ps, st.pc, st.ptr, st.m, st.cur, st.seats, st.load
    w_o, w_t, w_m = weights.overflow, weights.travel, weights.moved
    cap = pb.moved_cap
    pl = st.pl
    free = [u for u in units.tolist() if ptr[u + 1] - ptr[u] > 1 and not pb.locked[u] and m[u] > 0]
    members: list[set[int]] = [set() for _ in range(n_s)]
    for u in free:
        members[ps[pl[u]]].add(u)
    bal = balance_delta is not None
    tabu: set[tuple[int, int]] = set()

    def over(x: float, s: int) -> float:
        return max(0.0, x - seats[s])

    def can_leave(u: int) -> bool:
        if cd is None:
            return True
        p0 = pl[u]
        return not any(nsup[d] < 2 and on_l[d] and not exempt[d] for d in ri[rp[p0] : rp[p0 + 1]])

    def can_join(p: int) -> bool:
        return cd is None or exempt[p] or nsup[p] > 0

    def moved_change(u: int, p0: int, p: int) -> float:
        cu = cur[u]
        if cu < 0:
            return 0.0
        return m[u] * (float(ps[p] != cu) - float(ps[p0] != cu))

    def move(u: int, p0: int, p: int) -> None:
        st.move(u, p0, p)
        members[ps[p0]].discard(u)
        members[ps[p]].add(u)

    def best_chain(s0: int) -> list[_Move] | None:
        """The best chain out of ``s0`` (module docstring), None when there is none."""
        over0 = load[s0] - seats[s0]
        # labels per school: (travel+moved score, overflow reduction, pupils received, moves);
        # a few per school, since a label that received fewer pupils may go on where a
        # cheaper one cannot
        layer: dict[int, list[_Label]] = {s0: [(0.0, 0.0, 0.0, [])]}
        best: tuple[float, list[_Move]] | None = None
        visits = 0
        for _ in range(max_depth):
            nxt: dict[int, list[_Label]] = {}
            for a, labels in layer.items():
                for score, red_a, mu_in, path in labels:
                    seen = {s0} | {ps[p] for _, _, p in path}
                    for u in sorted(members[a]):
                        mu = m[u]
                        if a == s0:
                            if (s0, u) in tabu:
                                continue
                            red = min(mu, over0)
                        else:
                            red = red_a - (over(load[a] + mu_in - mu, a) - over(load[a], a))
                            if red <= 1e-9:
                                continue  # a school on the way took what the chain saves
                        if not can_leave(u):
                            continue
                        p0 = pl[u]
                        visits += ptr[u + 1] - ptr[u]
                        for p in range(ptr[u], ptr[u + 1]):
                            b = ps[p]
                            if p == p0 or b in seen or not can_join(p):
                                continue
                            sc = score + w_t * mu * (pc[p] - pc[p0])
                            sc += w_m * moved_change(u, p0, p)
                            step = [*path, (u, p0, p)]
                            # ending at b: b may overflow by what the chain still saves
                            net = red - (over(load[b] + mu, b) - over(load[b], b))
                            if net > 1e-9:
                                total = sc - w_o * net
                                if best is None or total < best[0]:
                                    best = (total, step)
                            if load[b] + mu > seats[b] + 1e-9:
                                _keep(nxt.setdefault(b, []), (sc, red, mu, step))
            layer = nxt
            if not layer:
                break
        if meter is not None:
            meter.add(visits)
        return None if best is None or best[0] >= -1e-9 else best[1]

    def _keep(labels: list[_Label], new: _Label) -> None:
        """Add ``new`` unless dominated (more pupils received, no better value); keep a few."""
        val = new[0] - w_o * new[1]
        for lab in labels:
            if lab[2] <= new[2] and lab[0] - w_o * lab[1] <= val:
                return
        labels[:] = [
            lab for lab in labels if not (new[2] <= lab[2] and val <= lab[0] - w_o * lab[1])
        ]
        labels.append(new)
        if len(labels) > LABELS_PER_SCHOOL:
            labels.sort(key=lambda lab: (lab[0] - w_o * lab[1], lab[2]))
            del labels[LABELS_PER_SCHOOL:]

    def terms() -> float:
        """The overflow part of the objective (seat overflow and stability-cap excess)."""
        return w_o * (sum(over(load[s], s) for s in range(n_s)) + over_cap())

    def over_cap() -> float:
        return max(0.0, st.moved - cap) if cap is not None else 0.0

    def apply(chain: list[_Move]) -> bool:
        before = terms()
        base = evaluate(pb, _plan(), weights, balance_delta).terms["objective"] if bal else 0.0
        done: list[_Move] = []
        ok = True
        for u, p0, p in reversed(chain):
            if not (can_leave(u) and can_join(p)):
                ok = False
                break
            move(u, p0, p)
            done.append((u, p0, p))
        if ok:
            change = (
                terms()
                - before
                + sum(
                    w_t * m[u] * (pc[p] - pc[p0]) + w_m * moved_change(u, p0, p)
                    for u, p0, p in done
                )
            )
            if bal:
                change = evaluate(pb, _plan(), weights, balance_delta).terms["objective"] - base
            ok = change < -1e-9 * max(1.0, abs(before))
        if not ok:
            for u, p0, p in reversed(done):
                move(u, p, p0)
        return ok

    def _plan() -> np.ndarray:
        out = assign.copy()
        out[units] = pb.pair_school[np.asarray(pl, dtype=np.int64)[units]]
        return out

    while True:
        order = sorted(
            (s for s in range(n_s) if load[s] > seats[s] + 1e-9),
            key=lambda s: (seats[s] - load[s], s),
        )
        changed = False
        for s0 in order:
            if (meter is not None and meter.spent()) or _past(deadline, meter):
                return _plan()
            while load[s0] > seats[s0] + 1e-9:
                chain = best_chain(s0)
                if chain is None:
                    break
                if apply(chain):
                    changed = True
                else:
                    tabu.add((s0, chain[0][0]))
        if not changed:
            return _plan()


__all__ = ["MAX_DEPTH", "eject_chains"]
