"""LP relaxation of the catchment model: lower bound, rounded warm start, reduced-cost fixing.

Without contiguity and balance the relaxation is a transportation problem with soft supplies:
a basic optimal solution is fractional for at most (#schools + 1) units (one per capacity or
stability row in the basis), so rounding each unit to its largest ``x`` gives a plan whose cost
is within a few units of the bound. With contiguity rows the LP stays a valid (weaker) bound.

Reduced-cost fixing: for a basic optimal LP solution with value ``z_LP`` and reduced cost
``d_j ≥ 0`` of a pair at 0, every integer solution with ``x_j = 1`` costs at least
``z_LP + d_j``; with an incumbent of cost ``z_inc``, pairs with ``z_LP + d_j > z_inc`` can be
fixed to 0 without losing any plan better than the incumbent.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import highspy
import numpy as np

from solvers.catchment.contiguity import components
from solvers.catchment.heuristic import repair_chains
from solvers.catchment.mip import LinearModel, make_highs
from solvers.catchment.problem import CatchmentProblem
from solvers.catchment.types import ObjectiveWeights


@dataclass(frozen=True)
class LPResult:
    """An LP relaxation's answer: ``objective`` is a proven lower bound when ``status == 'optimal'``."""

    status: str
    objective: float
    values: np.ndarray
    reduced_costs: np.ndarray
    seconds: float
    row_duals: np.ndarray | None = None
    iterations: int = 0
    clock_cut: bool = False  # stopped by the wall clock (not deterministic)
    #: The optimal basis (column and row ``HighsBasisStatus`` values), to warm-start a
    #: larger model (:func:`carry_basis`); None when not optimal.
    basis: tuple[np.ndarray, np.ndarray] | None = None


def solve_lp(
    model: LinearModel,
    *,
    seed: int,
    time_limit: float,
    iteration_limit: int | None = None,
    basis: tuple[np.ndarray, np.ndarray] | None = None,
    primal: bool = False,
) -> LPResult:
    """Solve the LP relaxation with HiGHS (dual simplex by default, one thread, deterministic).

    ``time_limit`` is wall-clock from the call and enforced through the simplex interrupt
    callback; ``iteration_limit`` caps the simplex iterations (a work limit: deterministic). A
    stopped LP has status ``"unknown"`` and no bound; ``clock_cut`` tells the clock stopped it.
    ``basis`` (from :func:`carry_basis`) starts the simplex there; ``primal`` asks for the
    primal simplex, which goes on from a basis that stayed primal feasible (a few columns were
    added to an optimal one) in tens of iterations where HiGHS's default takes hundreds.
    """
    t0 = time.perf_counter()
    deadline = t0 + max(time_limit, 0.01)
    h = make_highs(model, integer=False, seed=seed)
    if basis is not None:
        hb = highspy.HighsBasis()
        hb.col_status = [_STATUS[int(v)] for v in basis[0]]
        hb.row_status = [_STATUS[int(v)] for v in basis[1]]
        hb.valid = True
        if h.setBasis(hb) == highspy.HighsStatus.kOk and primal:
            h.setOptionValue("simplex_strategy", 4)
    h.setOptionValue("time_limit", float(max(deadline - time.perf_counter(), 0.01)))
    if iteration_limit is not None:
        h.setOptionValue("simplex_iteration_limit", int(max(iteration_limit, 1)))
    cut: list[bool] = []

    def on_interrupt(e: object) -> None:  # HiGHS may overshoot its own limit: enforce it
        if time.perf_counter() > deadline:
            cut.append(True)
            e.data_in.user_interrupt = True  # type: ignore[attr-defined]

    h.cbSimplexInterrupt.subscribe(on_interrupt)
    h.run()
    st = h.getModelStatus()
    if st == highspy.HighsModelStatus.kTimeLimit:
        cut.append(True)
    sol = h.getSolution()
    if st == highspy.HighsModelStatus.kOptimal:
        status = "optimal"
    elif st == highspy.HighsModelStatus.kInfeasible:
        status = "infeasible"
    else:
        status = "unknown"
    ok = status == "optimal"
    return LPResult(
        status=status,
        objective=float(h.getInfo().objective_function_value) if ok else -np.inf,
        values=np.asarray(sol.col_value) if ok else np.zeros(model.n_cols),
        reduced_costs=np.asarray(sol.col_dual) if ok else np.zeros(model.n_cols),
        seconds=time.perf_counter() - t0,
        row_duals=np.asarray(sol.row_dual) if ok else None,
        iterations=int(h.getInfo().simplex_iteration_count),
        clock_cut=bool(cut) and not ok,
        basis=_basis_of(h) if ok else None,
    )


_STATUS = list(highspy.HighsBasisStatus.__members__.values())  # by value: 0 … 4
BASIC = int(highspy.HighsBasisStatus.kBasic)
_LOWER = int(highspy.HighsBasisStatus.kLower)


def _basis_of(h: highspy.Highs) -> tuple[np.ndarray, np.ndarray] | None:
    b = h.getBasis()
    if not b.valid:
        return None
    return (
        np.fromiter((int(v) for v in b.col_status), dtype=np.int8),
        np.fromiter((int(v) for v in b.row_status), dtype=np.int8),
    )


def _row_keys(pb: CatchmentProblem, family: str) -> np.ndarray | None:
    """Pair keys (``u·n_schools + s``) of a row family indexed by pair, None for the others."""
    if family != "closer_neighbour" or pb.contig is None:
        return None
    cd = pb.contig
    rows_p = np.flatnonzero(~cd.exempt & (np.diff(cd.support_ptr) > 0))
    return pb.pair_unit[rows_p] * pb.n_schools + pb.pair_school[rows_p]


def _carry(old: np.ndarray, old_keys: np.ndarray, new_keys: np.ndarray, fill: int) -> np.ndarray:
    """Statuses of ``new_keys`` from ``old`` where the key was there, ``fill`` elsewhere."""
    order = np.argsort(old_keys, kind="stable")
    pos = np.searchsorted(old_keys[order], new_keys)
    pos = np.minimum(pos, max(old_keys.size - 1, 0))
    hit = old_keys.size > 0
    found = (old_keys[order][pos] == new_keys) if hit else np.zeros(new_keys.size, dtype=bool)
    out = np.full(new_keys.size, fill, dtype=np.int8)
    if hit:
        out[found] = old[order[pos[found]]]
    return out


def carry_basis(
    old_pb: CatchmentProblem,
    old_model: LinearModel,
    new_pb: CatchmentProblem,
    new_model: LinearModel,
    basis: tuple[np.ndarray, np.ndarray] | None,
) -> tuple[np.ndarray, np.ndarray] | None:
    """An optimal basis of ``old_model`` carried over to ``new_model`` (more or fewer pairs).

    Assignment columns and closer-neighbour rows are matched by pair; a new pair's column is
    nonbasic at 0 and its new row basic (its slack), so that an optimal basis stays a primal
    feasible one. Other column and row families must keep their sizes. Returns None when the
    families differ or the carried basis has the wrong number of basic variables (a dropped
    pair was basic), and the LP then starts cold.
    """
    if basis is None:
        return None
    cols_old, rows_old = basis
    old_x = old_pb.pair_unit * old_pb.n_schools + old_pb.pair_school
    new_x = new_pb.pair_unit * new_pb.n_schools + new_pb.pair_school
    if old_model.cols.keys() != new_model.cols.keys():
        return None
    if old_model.families.keys() != new_model.families.keys():
        return None
    col = np.full(new_model.n_cols, _LOWER, dtype=np.int8)
    for name, sl in new_model.cols.items():
        osl = old_model.cols[name]
        if name == "x":
            col[sl] = _carry(cols_old[osl], old_x, new_x, _LOWER)
        elif (sl.stop - sl.start) == (osl.stop - osl.start):
            col[sl] = cols_old[osl]
        else:
            return None
    row = np.full(int(new_model.row_lo.size), BASIC, dtype=np.int8)
    for name, sl in new_model.families.items():
        osl = old_model.families[name]
        nk, ok = _row_keys(new_pb, name), _row_keys(old_pb, name)
        if nk is not None and ok is not None:
            row[sl] = _carry(rows_old[osl], ok, nk, BASIC)
        elif (sl.stop - sl.start) == (osl.stop - osl.start):
            row[sl] = rows_old[osl]
        else:
            return None
    if int((col == BASIC).sum() + (row == BASIC).sum()) != row.size:
        return None
    return col, row


def overflow_lower_bound(model: LinearModel, lp: LPResult) -> float | None:
    """A proven lower bound on the overflow pupils of any plan, from the LP's row duals.

    Lagrangian bound of ``min Σ o_s`` over the same rows: for duals ``y`` with the right signs
    (wrong-signed ones, numerical noise, are set to 0), every ``v`` in the column box satisfies
    ``Σ o_s ≥ Σ_i y_i·(row bound) + Σ_j min_box (c_j − a_jᵀy) v_j`` with ``c`` the overflow-only
    cost. The main LP's duals (objective ≈ lexicographic, overflow weight dominant) scaled by
    ``1 / W_o`` make this nearly tight. None when the LP was not solved to optimality.
    """
    if lp.status != "optimal" or lp.row_duals is None:
        return None
    o = model.cols["overflow"]
    w_o = float(model.obj[o][0]) if o.stop > o.start else 1.0
    if w_o <= 0:
        return None
    y = lp.row_duals / w_o
    y = np.where((y > 0) & ~np.isfinite(model.row_lo), 0.0, y)
    y = np.where((y < 0) & ~np.isfinite(model.row_hi), 0.0, y)
    rows = np.where(y > 0, y * np.nan_to_num(model.row_lo, neginf=0.0), 0.0) + np.where(
        y < 0, y * np.nan_to_num(model.row_hi, posinf=0.0), 0.0
    )
    c = np.zeros(model.n_cols)
    c[o] = 1.0
    d = c - model.A.T @ y
    lb, ub = model.lb, model.ub
    box = np.minimum(d * lb, np.where(np.isfinite(ub), d * ub, np.where(d < 0, -np.inf, 0.0)))
    val = float(rows.sum() + box.sum())
    return val if np.isfinite(val) else None


def round_assignment(
    pb: CatchmentProblem, x: np.ndarray, weights: ObjectiveWeights | None = None
) -> np.ndarray:
    """Each unit to its pair with the largest LP value (ties: the cheaper pair), then repair.

    Repairs, in order: the contiguity rule (closer-neighbour), then overflow (moving units off
    over-full schools where it pays, keeping the rule). Returns the school per unit (-1 none).
    """
    assign = np.full(pb.n_units, -1, dtype=np.int64)
    if pb.n_pairs == 0:
        return assign
    order = np.lexsort((np.arange(pb.n_pairs), -np.round(x, 9), pb.pair_unit))
    u_sorted = pb.pair_unit[order]
    first = np.r_[True, u_sorted[1:] != u_sorted[:-1]]
    chosen = order[first]
    assign[pb.pair_unit[chosen]] = pb.pair_school[chosen]
    if pb.contiguity == "closer_neighbour":
        assign = repair_closer_neighbour(pb, assign)
        if hard_violations(pb, assign):
            assign = repair_chains(pb, assign, weights or ObjectiveWeights())
    if weights is not None and pb.contiguity != "exact":
        assign = repair_overflow(pb, assign, weights)
    return assign


def _support_owner(pb: CatchmentProblem) -> np.ndarray:
    cd = pb.contig
    assert cd is not None
    return np.repeat(np.arange(pb.n_pairs), np.diff(cd.support_ptr))


def repair_closer_neighbour(
    pb: CatchmentProblem, assign: np.ndarray, rounds: int = 200
) -> np.ndarray:
    """Make every unit's pair supported by a closer neighbour in the same catchment.

    A unit without a supported pair moves to its cheapest supported pair; if it has none, its
    nearest supporting neighbour is pulled to the same school (support chains end at the
    school's unit, so pulling terminates).
    """
    cd = pb.contig
    assert cd is not None
    owner = _support_owner(pb)
    for _ in range(rounds):
        on = assign[pb.pair_unit] == pb.pair_school
        n_sup = np.bincount(owner, weights=on[cd.support_idx], minlength=pb.n_pairs)
        ok_pair = cd.exempt | (n_sup > 0)
        bad = on & ~ok_pair
        if not bad.any():
            break
        for p in np.flatnonzero(bad).tolist():
            u = int(pb.pair_unit[p])
            lo, hi = pb.unit_ptr[u], pb.unit_ptr[u + 1]
            cand = np.flatnonzero(ok_pair[lo:hi])
            if cand.size:
                assign[u] = pb.pair_school[lo + cand[0]]
                continue
            sup = cd.support_idx[cd.support_ptr[p] : cd.support_ptr[p + 1]]
            sup = sup[~pb.locked[pb.pair_unit[sup]]]
            if sup.size:
                q = sup[np.argmin(pb.pair_cost[sup])]
                assign[pb.pair_unit[q]] = pb.pair_school[q]
    return _regrow(pb, assign, owner)


def _regrow(pb: CatchmentProblem, assign: np.ndarray, owner: np.ndarray) -> np.ndarray:
    """Drop units whose support chain is broken, then grow catchments back from their roots.

    An unassigned unit takes its cheapest pair that is exempt or supported by an assigned
    neighbour, until no unit changes. Units that stay stuck keep their (infeasible) school.
    """
    cd = pb.contig
    assert cd is not None
    on = assign[pb.pair_unit] == pb.pair_school
    while True:
        n_sup = np.bincount(owner, weights=on[cd.support_idx], minlength=pb.n_pairs)
        new = on & (cd.exempt | (n_sup > 0))
        if np.array_equal(new, on):
            break
        on = new
    if on.sum() == np.count_nonzero(np.diff(pb.unit_ptr)):
        return assign
    done = np.zeros(pb.n_units, dtype=bool)
    done[pb.pair_unit[on]] = True
    done |= np.diff(pb.unit_ptr) == 0
    while not done.all():
        n_sup = np.bincount(owner, weights=on[cd.support_idx], minlength=pb.n_pairs)
        ok = (cd.exempt | (n_sup > 0)) & ~done[pb.pair_unit]
        if not ok.any():
            break
        idx = np.flatnonzero(ok)
        first = np.r_[True, pb.pair_unit[idx][1:] != pb.pair_unit[idx][:-1]]
        take = idx[first]  # cheapest supported pair per unit (pairs are cost-ordered)
        on[take] = True
        done[pb.pair_unit[take]] = True
    out = assign.copy()
    sel = np.flatnonzero(on)
    out[pb.pair_unit[sel]] = pb.pair_school[sel]
    return out


def repair_overflow(
    pb: CatchmentProblem, assign: np.ndarray, weights: ObjectiveWeights, rounds: int = 3
) -> np.ndarray:
    """Greedy: move units off over-full schools to pairs with spare seats when that pays.

    A move must keep the closer-neighbour rule: the new pair is exempt or supported, and no unit
    left behind loses its only support.
    """
    m = pb.movable
    load = pb.fixed_load + np.bincount(
        assign[assign >= 0], weights=m[assign >= 0], minlength=pb.n_schools
    ).astype(np.int64)
    cd = pb.contig if pb.contiguity == "closer_neighbour" else None
    if cd is not None:
        owner = _support_owner(pb)
        # Reverse support: the pairs that pair q supports.
        rorder = np.argsort(cd.support_idx, kind="stable")
        r_ptr = np.concatenate(([0], np.cumsum(np.bincount(cd.support_idx, minlength=pb.n_pairs))))
        r_idx = owner[rorder]
    moved_w = weights.moved
    for _ in range(rounds):
        over = np.flatnonzero(load > pb.seats)
        if over.size == 0:
            break
        changed = False
        for s in over.tolist():
            units = np.flatnonzero((assign == s) & (m > 0) & ~pb.locked)
            # Largest units first: they free the most seats per move.
            for u in units[np.argsort(-m[units], kind="stable")].tolist():
                excess = load[s] - pb.seats[s]
                if excess <= 0:
                    break
                lo, hi = pb.unit_ptr[u], pb.unit_ptr[u + 1]
                p_old = lo + int(np.flatnonzero(pb.pair_school[lo:hi] == s)[0])
                if cd is not None:
                    on = assign[pb.pair_unit] == pb.pair_school
                    deps = r_idx[r_ptr[p_old] : r_ptr[p_old + 1]]
                    deps = deps[on[deps] & ~cd.exempt[deps]]
                    if deps.size:
                        sup_on = np.array(
                            [
                                on[cd.support_idx[cd.support_ptr[d] : cd.support_ptr[d + 1]]].sum()
                                for d in deps.tolist()
                            ]
                        )
                        if (sup_on <= 1).any():
                            continue
                best_gain, best_p = 0.0, -1
                gain_over = weights.overflow * min(excess, m[u])
                for p in range(lo, hi):
                    t = int(pb.pair_school[p])
                    if t == s or load[t] + m[u] > pb.seats[t]:
                        continue
                    if cd is not None and not cd.exempt[p]:
                        sup = cd.support_idx[cd.support_ptr[p] : cd.support_ptr[p + 1]]
                        if not (assign[pb.pair_unit[sup]] == t).any():
                            continue
                    delta = weights.travel * m[u] * (pb.pair_cost[p] - pb.pair_cost[p_old])
                    cur = pb.current[u]
                    if cur >= 0:
                        delta += moved_w * m[u] * (int(t != cur) - int(s != cur))
                    gain = gain_over - delta
                    if gain > best_gain:
                        best_gain, best_p = gain, p
                if best_p >= 0:
                    t = int(pb.pair_school[best_p])
                    assign[u] = t
                    load[s] -= m[u]
                    load[t] += m[u]
                    changed = True
        if not changed:
            break
    return assign


def hard_violations(pb: CatchmentProblem, assign: np.ndarray) -> list[str]:
    """Hard rules an assignment breaks (empty when it is a feasible plan of the problem)."""
    out: list[str] = []
    has_pairs = np.diff(pb.unit_ptr) > 0
    units = np.flatnonzero(has_pairs)
    p = pb.pair_index(units, assign[units])
    if (p < 0).any():
        out.append(f"{int((p < 0).sum())} unit(s) are not on an allowed pair")
        return out
    if (assign[~has_pairs] >= 0).any():
        out.append("a unit without allowed pairs is assigned")
    if pb.moved_cap is not None:
        moved = pb.movable[(pb.current >= 0) & (assign != pb.current)].sum()
        if moved > pb.moved_cap:
            out.append(f"{int(moved)} pupils moved, more than the cap {pb.moved_cap}")
    cd = pb.contig
    if cd is None:
        return out
    on = np.zeros(pb.n_pairs, dtype=bool)
    on[p] = True
    if pb.contiguity == "closer_neighbour":
        owner = np.repeat(np.arange(pb.n_pairs), np.diff(cd.support_ptr))
        n_sup = np.bincount(owner, weights=on[cd.support_idx], minlength=pb.n_pairs)
        bad = on & ~cd.exempt & (n_sup == 0)
        if bad.any():
            out.append(f"{int(bad.sum())} unit(s) have no closer neighbour in their catchment")
    else:
        # Exact: every non-exempt assigned pair is linked to its school's unit inside the catchment.
        root = pb.pair_index(cd.own_unit, np.arange(pb.n_schools))
        free = cd.exempt.copy()  # stranded pairs; the roots are exempt but carry the flow
        free[root[root >= 0]] = False
        e = on[cd.nb_p] & on[cd.nb_q] & ~free[cd.nb_p] & ~free[cd.nb_q]
        label = components(pb.n_pairs, cd.nb_p[e], cd.nb_q[e])
        root_label = np.where(root >= 0, label[np.maximum(root, 0)], -1)
        root_on = np.where(root >= 0, on[np.maximum(root, 0)], False)
        need = on & ~free
        ok = root_on[pb.pair_school] & (label == root_label[pb.pair_school])
        bad = need & ~ok
        if bad.any():
            out.append(f"{int(bad.sum())} unit(s) are cut off from their school's unit")
    return out


def solution_vector(
    pb: CatchmentProblem, model: LinearModel, assign: np.ndarray, balance_delta: float | None
) -> np.ndarray | None:
    """A full column vector for an assignment (for MIP starts); None with exact contiguity."""
    if "flow" in model.cols:
        return None
    v = np.zeros(model.n_cols)
    units = np.flatnonzero(assign >= 0)
    p = pb.pair_index(units, assign[units])
    if (p < 0).any():
        return None
    v[p] = 1.0
    load = pb.fixed_load + np.bincount(
        assign[units], weights=pb.movable[units], minlength=pb.n_schools
    )
    v[model.cols["overflow"]] = np.maximum(load - pb.seats, 0)
    if "balance" in model.cols and balance_delta is not None:
        mig = pb.fixed_migrant + np.bincount(
            assign[units], weights=pb.migrant[units], minlength=pb.n_schools
        )
        dev = np.abs(mig - pb.county_migrant_share * load) - balance_delta * load
        v[model.cols["balance"]] = np.maximum(dev, 0.0)
    return v


def reduced_cost_fixing(
    model: LinearModel, lp: LPResult, incumbent: float, keep: np.ndarray | None = None
) -> np.ndarray:
    """Mask of assignment columns that can be fixed to 0 given an incumbent value."""
    xs = model.cols["x"]
    d = lp.reduced_costs[xs]
    at_zero = lp.values[xs] < 1e-9
    slack = incumbent - lp.objective
    tol = 1e-6 * max(1.0, abs(incumbent)) + 1e-6
    fix = at_zero & (d > slack + tol)
    if keep is not None:
        fix &= ~keep
    return fix
