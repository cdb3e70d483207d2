"""The rotation model in CP-SAT: who rotates, to which school.

Formulation (groups ``g`` of interchangeable pool teachers at school ``s(g)`` in subject
``u(g)``, see :mod:`solvers.rotation.problem`; candidate receiving schools ``J(g)``):

Variables
    ``x_gj ∈ {0..|g|}`` teachers of group g moving to school j ∈ J(g); ``y_g = Σ_j x_gj ≤ |g|``.
Hard rules
    * quota: ``R = Σ_g y_g ≥ Q``; per sending urban or strong school (optional)
      ``Σ_{s(g)=i} y_g ≥ Q_i``;
    * backbone: ``B = Σ_{g backbone} y_g``; ``den·B ≥ num·R`` for β = num/den of those rotated,
      or ``B ≥ ⌈β × pool backbone⌉`` of those eligible;
    * caps: ``Σ_{s(g)=i} y_g ≤ leave_cap_i``; ``Σ_g x_gi ≤ arrive_cap_i``;
    * direction, level, subject, commute, own school, history and forbids: only through J(g);
      a lock fixes ``x_gj = 1``;
    * protection: ``after_iu = count_iu − out_iu + in_iu ≥ min(count_iu, need_iu)`` where
      need_iu > 0;
    * couples (a, b), limit ``L = max(couple_distance_m, today's distance)``: for targets j of a
      and k of b farther apart than L, ``x_aj + x_bk ≤ 1``; a target j of a farther than L from
      b's current school needs b to move (``x_aj ≤ y_b``; 0 if b cannot move); symmetric.
Objective (integer weights, :class:`~solvers.rotation.settings.ObjectiveWeights`)
    ``W_s Σ_{j,u} w_ju·short_ju + W_b Σ_{level,k} CV²_{level,k} + W_c Σ km_gj x_gj +
    W_p Σ (rank − 1)·x + W_m R`` with ``short_ju ≥ need_ju − after_ju``, ``w_ju`` = village
    PE/arts multiplier or 1.
Balance term, exact on integers
    County totals are fixed, so with X̄ today's mean per 100 pupils,
    ``CV² = Σ_i (n_i/N)(100 c_i/P_i − X̄)² / X̄²`` (c_i indicator teachers, P_i the school's
    pupils, n_i its pupils of the level). Per school this is ``α_i (c_i − m_i)²`` with
    ``α_i = 10⁴ n_i / (N X̄² P_i²)``, ``m_i = P_i X̄ / 100``: a convex function of the integer
    c_i. ``z_i ≥ round(W_b α_i (a − m_i)²)`` is imposed by the secants through consecutive
    integers a (exact at every integer c_i). When a nine-year school takes a teacher across
    levels the level mean can shift; the term is then ``var + (X̄' − X̄)²``, an upper bound.
Tie-break (published, deterministic)
    A second pass fixes the objective at the first pass's value and minimises
    ``Σ_g T_g(y_g)``, ``T_g(y) = Σ_{m<y} (rank_m + 1)`` over the group's members in
    tie-break order (longer years at school first, then teacher_id; rank over the whole pool):
    within a group the longest-serving go first, across groups the lower rank sum wins.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np
from ortools.sat.python import cp_model

from planner.errors import InfeasiblePlan
from planner.policy import LEVELS, Policy
from solvers.progress import ProgressEvent, ProgressFn
from solvers.rotation.problem import RotationProblem, couple_rules
from solvers.rotation.settings import RotationSettings

#: CP-SAT status names mapped to ours.
_STATUS = {cp_model.OPTIMAL: "optimal", cp_model.FEASIBLE: "feasible"}


@dataclass(frozen=True)
class ModelSolution:
    """Counts per (group, target), plus the solver's figures."""

    x: dict[tuple[int, int], int]  # (group index, target school) -> teachers
    status: str
    objective: float
    bound: float
    tie_break_status: str
    solve_seconds: float
    stages: dict[str, dict[str, float | str]] = field(default_factory=dict)  # per pass (HiGHS)
    #: False when a wall-clock limit (not a deterministic budget) ended a pass: the same
    #: inputs and seed may then give another list
    deterministic: bool = True


class _Callback(cp_model.CpSolverSolutionCallback):
    def __init__(self, progress: ProgressFn | None, t0: float, phase: str) -> None:
        super().__init__()
        self._progress, self._t0, self._phase = progress, t0, phase

    def on_solution_callback(self) -> None:
        if self._progress is not None:
            self._progress(
                ProgressEvent(
                    elapsed=time.perf_counter() - self._t0,
                    objective=self.objective_value,
                    bound=self.best_objective_bound,
                    message=self._phase,
                )
            )


def _secant_cuts(
    m: cp_model.CpModel, z: cp_model.IntVar, c: cp_model.LinearExprT, vals: dict[int, int]
) -> None:
    """z ≥ the secant of ``vals`` (a convex function on consecutive integers) through a, a+1."""
    keys = sorted(vals)
    if len(keys) == 1:
        m.add(z >= vals[keys[0]])
        return
    for a, b in zip(keys[:-1], keys[1:], strict=True):
        slope = vals[b] - vals[a]
        m.add(z >= vals[a] + slope * (c - a))


def build_and_solve(
    p: RotationProblem,
    settings: RotationSettings,
    policy: Policy,
    progress: ProgressFn | None = None,
    stop: threading.Event | None = None,
    hint: list[tuple[int, int]] | None = None,
) -> ModelSolution:
    """Build the CP-SAT model of ``p`` and solve it in two passes (objective, tie-break).

    ``hint`` (moves, e.g. from :func:`solvers.rotation.greedy.greedy_moves`) starts the search.

    Raises
    ------
    InfeasiblePlan
        If CP-SAT proves the hard rules contradictory, or finds no plan in the time limit.
    """
    t0 = time.perf_counter()
    w = settings.weights
    m = cp_model.CpModel()
    S, U = p.need.shape
    G = p.groups
    x: dict[tuple[int, int], cp_model.IntVar] = {}
    y: list[cp_model.LinearExprT] = []
    out_s: list[list[cp_model.LinearExprT]] = [[] for _ in range(S)]
    in_s: list[list[cp_model.LinearExprT]] = [[] for _ in range(S)]
    out_su: dict[tuple[int, int], list[cp_model.LinearExprT]] = {}
    in_su: dict[tuple[int, int], list[cp_model.LinearExprT]] = {}
    d_ind: dict[tuple[int, int], list[tuple[int, cp_model.LinearExprT]]] = {}
    commute_terms: list[cp_model.LinearExprT] = []
    pref_terms: list[cp_model.LinearExprT] = []
    for gi, g in enumerate(G):
        size = len(g.members)
        vs = []
        for k, j in enumerate(g.targets):
            v = m.new_bool_var(f"x{gi}_{j}") if size == 1 else m.new_int_var(0, size, f"x{gi}_{j}")
            x[gi, int(j)] = v
            vs.append(v)
            in_s[int(j)].append(v)
            in_su.setdefault((int(j), g.subject), []).append(v)
            km = int(round(g.commute_km[k] * w.commute_per_km))
            if km:
                commute_terms.append(km * v)
            if g.pref_rank.any():
                r = int(g.pref_rank[k])
                steps = (r - 1) if r > 0 else int(g.pref_rank.max())
                if steps:
                    pref_terms.append(steps * w.preference_step * v)
            for ind, flag in enumerate(g.flags):
                if flag:
                    d_ind.setdefault((int(j), ind), []).append((1, v))
        yg: cp_model.LinearExprT = 0
        if vs:
            yg = m.new_int_var(0, size, f"y{gi}")
            m.add(yg == sum(vs))
        y.append(yg)
        if not vs:
            continue
        out_s[g.school].append(yg)
        out_su.setdefault((g.school, g.subject), []).append(yg)
        for ind, flag in enumerate(g.flags):
            if flag:
                d_ind.setdefault((g.school, ind), []).append((-1, yg))
        if g.locked >= 0:
            m.add(x[gi, g.locked] == 1)

    # quotas and caps
    R = sum(y)
    m.add(p.quota <= R)
    for s, q in p.school_quota.items():
        m.add(sum(out_s[s]) >= q)
    B = sum(yg for g, yg in zip(G, y, strict=True) if g.flags[1])
    if policy.backbone_denominator == "rotated":
        num, den = p.backbone_share.numerator, p.backbone_share.denominator
        m.add(den * B >= num * R)
    else:
        m.add(p.backbone_min <= B)
    for s in range(S):
        if out_s[s]:
            m.add(sum(out_s[s]) <= int(p.leave_cap[s]))
        if in_s[s]:
            m.add(sum(in_s[s]) <= int(p.arrive_cap[s]))

    # protection and shortfall
    village = p.category == "village"
    pe_arts = np.array([u in policy.pe_arts_subjects for u in p.subjects])
    short_terms: list[cp_model.LinearExprT] = []
    for s, u in sorted(set(out_su) | set(in_su)):
        need, cnt = int(p.need[s, u]), int(p.count[s, u])
        if need <= 0:
            continue
        after = (
            cnt
            - cp_model.LinearExpr.sum(out_su.get((s, u), []))
            + cp_model.LinearExpr.sum(in_su.get((s, u), []))
        )
        if (s, u) in out_su:
            m.add(after >= min(cnt, need))
        sf = m.new_int_var(0, need, f"short{s}_{u}")
        m.add(sf >= need - after)
        mult = w.village_pe_arts if (village[s] and pe_arts[u]) else 1
        short_terms.append(mult * sf)

    # balance: secant epigraphs of the per-school squared deviation
    bal_terms: list[cp_model.LinearExprT] = []
    total = p.pupils.sum(axis=1)
    for li, level in enumerate(LEVELS):
        pos = p.cv_positions[level]
        if len(pos) == 0:
            continue
        n = p.pupils[pos, li]
        N = float(n.sum())
        for k in range(3):
            c0 = p.ind_counts[pos, k].astype(float)
            xbar = float((n * 100.0 * c0 / total[pos]).sum() / N)
            if xbar <= 0:
                continue
            for i, ni, ci in zip(pos, n, c0, strict=True):
                terms = d_ind.get((int(i), k))
                if not terms:
                    continue
                alpha = 1e4 * ni / (N * xbar**2 * total[i] ** 2)
                mi = total[i] * xbar / 100.0
                down = min(int(p.leave_cap[i]), sum(1 for sg, _ in terms if sg < 0) * 10**6)
                up = int(p.arrive_cap[i])
                lo, hi = max(0, int(ci) - down), int(ci) + up
                vals = {a: int(round(w.balance * alpha * (a - mi) ** 2)) for a in range(lo, hi + 1)}
                z = m.new_int_var(0, max(vals.values()), f"bal{level}{k}_{i}")
                c = m.new_int_var(lo, hi, f"cnt{level}{k}_{i}")
                m.add(c == int(ci) + sum(sg * e for sg, e in terms))
                _secant_cuts(m, z, c, vals)
                bal_terms.append(z)

    # couples
    gpos = {g.members[0]: gi for gi, g in enumerate(G) if len(g.members) == 1}
    for gm, j, go, kk in couple_rules(p, G, gpos, settings.couple_distance_m):
        if kk is not None:
            m.add(x[gm, j] + x[go, kk] <= 1)  # type: ignore[index]
        else:
            m.add(x[gm, j] <= (y[go] if go is not None else 0))

    obj = (
        w.shortfall * cp_model.LinearExpr.sum(short_terms)
        + cp_model.LinearExpr.sum(bal_terms)
        + cp_model.LinearExpr.sum(commute_terms)
        + cp_model.LinearExpr.sum(pref_terms)
        + w.move * cp_model.LinearExpr.sum(y)
    )
    m.minimize(obj)
    if hint is not None:
        gidx = {i: gi for gi, g in enumerate(G) for i in g.members}
        h: dict[tuple[int, int], int] = {}
        for i, j in hint:
            if (gidx.get(i, -1), j) in x:
                h[gidx[i], j] = h.get((gidx[i], j), 0) + 1
        for key, var in x.items():
            m.add_hint(var, h.get(key, 0))

    solver = cp_model.CpSolver()
    solver.parameters.num_workers = settings.num_workers
    solver.parameters.random_seed = settings.seed
    solver.parameters.interleave_search = settings.num_workers > 1 and settings.deterministic
    solver.parameters.log_search_progress = settings.log
    solver.parameters.cp_model_probing_level = 0
    solver.parameters.symmetry_level = 0
    if hint is not None:
        _complete_hint(m, settings)
    main_time = settings.time_limit * (1.0 - settings.tie_break_share)
    solver.parameters.max_time_in_seconds = main_time
    watcher = _watch(stop, solver)
    status = solver.solve(m, _Callback(progress, t0, "objective"))
    if status not in _STATUS:
        _stop_watch(watcher)
        if status == cp_model.INFEASIBLE:
            raise InfeasiblePlan(
                [
                    "No list meets every hard rule together (quota "
                    f"{p.quota}, backbone share, caps, subject protection, couples and locks); "
                    "each rule alone can be met, so relax one of them."
                ]
            )
        raise InfeasiblePlan(
            [f"No list found within {main_time:g} s (status {solver.status_name(status)})."]
        )
    best = int(round(solver.objective_value))
    bound = float(solver.best_objective_bound)
    main_status = _STATUS[status]
    sol = {k: int(solver.value(v)) for k, v in x.items()}

    # tie-break pass: keep the objective, prefer longer service, then teacher_id
    tb_status = "skipped"
    remaining = settings.time_limit - (time.perf_counter() - t0)
    if remaining > 0.05 and not (stop is not None and stop.is_set()):
        ranks = p.teachers["rank"].to_numpy()
        tb_terms: list[cp_model.LinearExprT] = []
        for gi, g in enumerate(G):
            if not len(g.targets):
                continue
            r = ranks[list(g.members)] + 1
            if len(g.members) == 1:
                tb_terms.append(int(r[0]) * y[gi])
                continue
            cum = {0: 0}
            for a in range(1, len(g.members) + 1):
                cum[a] = cum[a - 1] + int(r[a - 1])
            z = m.new_int_var(0, cum[len(g.members)], f"tb{gi}")
            _secant_cuts(m, z, y[gi], cum)
            tb_terms.append(z)
        m.add(obj <= best)
        m.clear_hints()
        for key, var in x.items():
            m.add_hint(var, sol[key])
        m.minimize(sum(tb_terms))
        _complete_hint(m, settings)
        solver.parameters.max_time_in_seconds = remaining
        st2 = solver.solve(m, _Callback(progress, t0, "tie-break"))
        if st2 in _STATUS:
            sol = {k: int(solver.value(v)) for k, v in x.items()}
            tb_status = _STATUS[st2]
    _stop_watch(watcher)
    return ModelSolution(
        x={k: v for k, v in sol.items() if v},
        status=main_status,
        objective=float(best),
        bound=bound,
        tie_break_status=tb_status,
        solve_seconds=time.perf_counter() - t0,
        # CP-SAT stops on wall-clock time only: reproducible when both passes end optimal
        deterministic=main_status == "optimal" and tb_status == "optimal",
    )


def _complete_hint(m: cp_model.CpModel, settings: RotationSettings) -> None:
    """Turn a hint on the move variables into a complete hint (CP-SAT ignores an incomplete one
    with few workers): solve once with the hinted values fixed, then hint every variable."""
    s = cp_model.CpSolver()
    s.parameters.fix_variables_to_their_hinted_value = True
    s.parameters.num_workers = 1
    s.parameters.max_time_in_seconds = max(1.0, 0.1 * settings.time_limit)
    if s.solve(m) not in _STATUS:
        return  # the hint breaks a rule: search without it
    n = len(m.proto.variables)
    vals = [s.value(m.get_int_var_from_proto_index(k)) for k in range(n)]
    m.clear_hints()
    for k in range(n):
        m.add_hint(m.get_int_var_from_proto_index(k), vals[k])


def _watch(
    stop: threading.Event | None, solver: cp_model.CpSolver
) -> tuple[threading.Thread, threading.Event] | None:
    """Stop the solver when ``stop`` is set (polled every 0.1 s)."""
    if stop is None:
        return None
    done = threading.Event()

    def run() -> None:
        while not done.wait(0.1):
            if stop.is_set():
                solver.stop_search()

    th = threading.Thread(target=run, daemon=True)
    th.start()
    return th, done


def _stop_watch(w: tuple[threading.Thread, threading.Event] | None) -> None:
    if w is not None:
        w[1].set()
        w[0].join()


__all__ = ["ModelSolution", "build_and_solve"]
