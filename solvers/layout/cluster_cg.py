"""Set-partitioning column generation for capacitated p-median with small clusters.

Where a median serves a handful of customers (Stefanello ali535_150: 3.6 on average, demands up
to half a capacity), choosing each open set's customers is a bin-packing problem and the compact
formulation's LP is far from the optimum (ali535_150: the LP bound is 8 % below the best-known
plan and every rounded start is 40–48 % above it). The set-partitioning model, one column per
(median, cluster) of customers that fits its capacity (Lorena and Senne, Computers & OR 31,
2004; Ceselli and Righini, Discrete Optimization 2, 2005), has a far tighter LP: 1005.3 on
ali535_150 against a best-known 1032.3.

:func:`cluster_cg` solves that LP by column generation from the current plan's clusters:

* **pricing** is a 0/1 knapsack per candidate median (profit ``π_i − c_ij``, weight the
  customer's load, size the capacity), by dynamic programming over integral loads, over each
  site's ``CG_PRICING_PAIRS`` nearest customers (Wentges smoothing of the duals towards the
  best Lagrangian point, ``CG_SMOOTHING``);
* the **bound** is the Lagrangian bound of one exact pricing over all pairs after the last
  round: ``Σ π_i`` plus the ``p`` smallest ``(open cost − best knapsack value)``. It is a valid
  lower bound of the whole problem for any ``π``;
* a **dive** fixes the columns the LP takes (λ > ``CG_DIVE_FIX``, or the largest) and prices
  again, until the LP passes the incumbent; its columns join the pool;
* the **restricted master MIP** over every generated column, from the incumbent, node-limited
  (work-charged, deterministic) gives the plan.

On ali535_150 from a plan at +37 %: LP 1005.3 in 19 s, the pool's MIP 1057.6 (+2.5 %); with the
dive's columns, 1037.6 (+0.5 %) in 101 s. Work is charged from counts (DP cells, simplex
iterations, MIP nodes), so the same seed gives the same plan under any load unless the
wall-clock cap struck (recorded in ``budget.cut``). The charges under-count the wall time
(the master MIP's root does more than its simplex iterations; the master LP's iterations
grow dearer with the pool): at 300 s the safety caps stopped later stages on ali535_100.
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np

from solvers.layout.cap_start import WorkBudget
from solvers.layout.heuristics import dense_costs, dense_loads, single_source_capacitated
from solvers.layout.problem import FacilityProblem

#: Mean customers per median up to which the column generation runs (ali535_150 3.6,
#: ali535_100 5.4; with larger clusters the knapsacks and the master's LP grow and the
#: compact model's LP is tight enough). With 12 at 300 s: ali535_050 (10.7) +1.88 → +1.32 %,
#: but lin318_040 (8.0) best-known → +1.79 % and u724_075 (9.7) +0.29 → +0.75 %.
CG_MAX_CLUSTER = 6.0
#: Largest customer count (the master has one row per customer and site).
CG_MAX_CUSTOMERS = 1_000
#: Largest capacity, in load units, of the knapsack dynamic programme (one cell per unit).
CG_MAX_CAPACITY = 10_000
#: Nearest customers per site in the pricing rounds (at least ``4 × n / p``); the bound is
#: taken from one exact pricing over all pairs.
CG_PRICING_PAIRS = 40
#: Wentges smoothing: the duals priced are this share of the best Lagrangian point plus the
#: rest of the master's duals (halved on each mispricing).
CG_SMOOTHING = 0.8
#: Column-generation rounds at most (before the dive), and per dive step.
CG_MAX_ROUNDS = 400
CG_DIVE_ROUNDS = 50
#: A dive step fixes every free column the LP takes above this value (else the largest).
CG_DIVE_FIX = 0.9
#: Calibrated charges (2-core machine, ali535_150 from a plan at +37 %: 330 M knapsack cells in
#: 17.5 s; 122,738 simplex iterations on 1,071 rows in 37.8 s): one knapsack cell, one simplex
#: iteration per master row (also the MIP's), one MIP node per nonzero of the master.
CG_SECONDS_PER_DP_CELL = 5.5e-8
CG_SECONDS_PER_ITERATION_ROW = 3.0e-7
CG_SECONDS_PER_NODE_NNZ = 2.0e-6
#: Fixed charge of one master LP solve (set-up, dual read-out).
CG_SECONDS_PER_LP = 2.0e-3


def cluster_cg_applies(problem: FacilityProblem) -> bool:
    """Exactly p, a single seat pool with integral loads and capacities, no fixed-open sites,
    clusters of at most ``CG_MAX_CLUSTER`` customers on average, at most ``CG_MAX_CUSTOMERS``."""
    if not knapsack_bound_applies(problem):
        return False
    n = problem.n_customers
    return n <= CG_MAX_CUSTOMERS and n <= CG_MAX_CLUSTER * int(problem.p or 0)


@dataclass
class ClusterCgResult:
    """What :func:`cluster_cg` found.

    Attributes
    ----------
    plan : tuple of numpy.ndarray or None
        ``(open, assign)`` when cheaper than the incumbent, else ``None``.
    bound : float
        Lagrangian lower bound of the whole problem (``-inf`` when the exact pricing did not
        run).
    lp : float
        The master LP's value after the pricing rounds (over restricted pricing).
    columns, rounds, dive_fixed : int
        Columns generated, pricing rounds before the dive, columns the dive fixed.
    mip_objective : float or None
        The restricted master MIP's plan cost.
    converged : bool
        The pricing rounds ended with no improving column (not on the budget).
    before : float
        Cost of the incumbent it started from.
    """

    plan: tuple[np.ndarray, np.ndarray] | None = None
    bound: float = -np.inf
    lp: float = np.inf
    columns: int = 0
    rounds: int = 0
    dive_fixed: int = 0
    mip_objective: float | None = None
    converged: bool = False
    before: float = np.inf

    @property
    def report(self) -> dict[str, object]:
        """The figures as a JSON-friendly dict (``info["cluster_cg"]``)."""

        def value(x: float) -> float | None:
            return round(x, 6) if np.isfinite(x) else None

        return {
            "lp": value(self.lp),
            "bound": value(self.bound),
            "columns": self.columns,
            "rounds": self.rounds,
            "converged": self.converged,
            "dive_fixed": self.dive_fixed,
            "mip": self.mip_objective,
            "before": value(self.before),
        }


class _Master:
    """The set-partitioning master: customer rows (= 1), the count row (= p), one row per
    site (≤ 1); artificial columns keep it feasible while columns are fixed."""

    def __init__(self, n: int, m: int, p: int, big: float) -> None:
        self.n, self.m = n, m
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("threads", 1)
        inf = highspy.kHighsInf
        lo = np.r_[np.ones(n), float(p), np.full(m, -inf)]
        up = np.r_[np.ones(n), float(p), np.ones(m)]
        h.addRows(n + 1 + m, lo, up, 0, np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0))
        for row in range(n):
            h.addCol(big, 0.0, inf, 1, np.array([row], np.int32), np.array([1.0]))
        h.addCol(big, 0.0, inf, 1, np.array([n], np.int32), np.array([1.0]))
        h.addCol(-big, -inf, 0.0, 1, np.array([n], np.int32), np.array([1.0]))
        self.h = h
        self.n_art = n + 2
        self.site: list[int] = []
        self.members: list[np.ndarray] = []
        self.cost: list[float] = []
        self.nnz = 0
        self.keys: set[tuple[int, bytes]] = set()
        # every column's members end to end, for the vectorised test in free()
        self.flat: list[int] = []
        self.starts: list[int] = []

    def add(self, site: int, members: np.ndarray, cost: float) -> bool:
        members = np.sort(members)
        key = (site, members.tobytes())
        if key in self.keys:
            return False
        self.keys.add(key)
        idx = np.r_[members, self.n, self.n + 1 + site].astype(np.int32)
        self.h.addCol(cost, 0.0, highspy.kHighsInf, idx.size, idx, np.ones(idx.size))
        self.site.append(site)
        self.members.append(members)
        self.cost.append(cost)
        self.starts.append(len(self.flat))
        self.flat.extend(members.tolist())
        self.nnz += idx.size
        return True

    def free(self, used: np.ndarray, covered: np.ndarray) -> np.ndarray:
        """Columns whose site is not in ``used`` and none of whose members is ``covered``
        (every column has members)."""
        hit = np.logical_or.reduceat(covered[np.asarray(self.flat)], np.asarray(self.starts))
        return ~used[np.asarray(self.site)] & ~hit

    def solve(self, budget: WorkBudget) -> tuple[float, np.ndarray] | None:
        """The LP's value and duals, charged per simplex iteration and row."""
        h = self.h
        before = h.getInfo().simplex_iteration_count
        h.setOptionValue("time_limit", max(budget.wall_left(), 0.01))
        h.run()
        done = max(h.getInfo().simplex_iteration_count - before, 0)
        rows = self.n + 1 + self.m
        budget.charge(CG_SECONDS_PER_LP + CG_SECONDS_PER_ITERATION_ROW * done * rows)
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        return h.getInfo().objective_function_value, np.asarray(h.getSolution().row_dual)

    def values(self) -> np.ndarray:
        return np.asarray(self.h.getSolution().col_value)[self.n_art :]

    def fix(self, col: int, value: float) -> None:
        upper = highspy.kHighsInf if value == 0.0 else 1.0
        self.h.changeColBounds(self.n_art + col, value, upper)


class _Pricer:
    """Knapsack pricing per site by dynamic programming over integral loads."""

    def __init__(self, problem: FacilityProblem, k: int) -> None:
        allowed = ~problem.forbidden
        self.sites = np.flatnonzero(allowed)
        self.c = dense_costs(problem)
        self.w = dense_loads(problem)
        self.cap = np.floor(problem.capacity[:, 0]).astype(np.int64)
        self.open_cost = np.asarray(problem.open_cost, dtype=float)
        reach = np.isfinite(self.c) & (self.w <= self.cap[:, None])
        self.reach = reach
        self.near = np.zeros((self.c.shape[0], 0), dtype=np.int64)
        if k > 0:  # k = 0: exact pricing only
            order = np.argsort(np.where(reach, self.c, np.inf), axis=1, kind="stable")
            self.near = order[:, :k]
        self.cells = 0

    def best(
        self, site: int, pi: np.ndarray, exact: bool, skip: np.ndarray | None
    ) -> tuple[float, np.ndarray]:
        """The largest ``Σ (π_i − c_ij)`` over customer sets within the site's capacity."""
        profit = pi - self.c[site]
        cand = np.arange(pi.size) if exact else self.near[site]
        ok = self.reach[site, cand] & (profit[cand] > 1e-9)
        if skip is not None:
            ok &= ~skip[cand]
        items = np.sort(cand[ok])
        if items.size == 0:
            return 0.0, items
        cap = int(self.cap[site])
        weights = self.w[site, items].astype(np.int64)
        dp = np.zeros(cap + 1)
        keep = np.zeros((items.size, cap + 1), dtype=bool)
        for t, (i, wt) in enumerate(zip(items, weights, strict=True)):
            take = dp[: cap + 1 - wt] + profit[i]
            better = take > dp[wt:] + 1e-12
            keep[t, wt:] = better
            dp[wt:] = np.where(better, take, dp[wt:])
        self.cells += items.size * (cap + 1)
        left, chosen = cap, []
        for t in range(items.size - 1, -1, -1):
            if keep[t, left]:
                chosen.append(items[t])
                left -= int(weights[t])
        return float(dp[cap]), np.asarray(chosen[::-1], dtype=np.int64)

    def round(
        self,
        pi: np.ndarray,
        exact: bool,
        used: np.ndarray,
        covered: np.ndarray | None,
        budget: WorkBudget,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Every site's best value and cluster (0 and empty for sites in ``used``), its
        knapsack cells charged to ``budget``."""
        self.cells = 0
        vals = np.zeros(self.c.shape[0])
        found: list[np.ndarray] = [np.zeros(0, np.int64)] * self.c.shape[0]
        for s in self.sites:
            if used[s]:
                continue
            vals[s], found[s] = self.best(int(s), pi, exact, covered)
        budget.charge(CG_SECONDS_PER_DP_CELL * self.cells)
        return vals, found


def _lagrangian(pricer: _Pricer, pi: np.ndarray, vals: np.ndarray, p: int) -> float:
    """``Σ π`` plus the ``p`` smallest reduced site values (any ``π``: a valid bound)."""
    reduced = pricer.open_cost[pricer.sites] - vals[pricer.sites]
    return float(pi.sum() + np.sort(reduced)[:p].sum())


def knapsack_bound_applies(problem: FacilityProblem) -> bool:
    """Exactly p, a single seat pool, no fixed-open sites, integral loads and capacities of
    at most ``CG_MAX_CAPACITY`` (the knapsacks of :func:`lagrangian_bound`)."""
    if not single_source_capacitated(problem) or problem.p is None:
        return False
    if problem.p_limit != "exactly" or problem.fixed_open.any() or problem.p < 1:
        return False
    cap = problem.capacity[~problem.forbidden, 0]
    if not np.isfinite(cap).all() or cap.max(initial=0.0) > CG_MAX_CAPACITY:
        return False
    load = problem.pair_load
    return bool(np.all(load == np.round(load)) and np.all(cap == np.round(cap)))


def lagrangian_bound(problem: FacilityProblem, pi: np.ndarray, budget: WorkBudget) -> float:
    """The Lagrangian bound of the whole problem at multipliers ``pi`` of the "served once"
    rows: ``Σ π`` plus the ``p`` smallest (open cost − best knapsack value) over all pairs,
    the knapsack cells charged to ``budget``. Valid for any ``pi``; the duals of an LP over
    each customer's cheapest pairs (:func:`~solvers.layout.cap_start.sparse_lp_open`) give
    about that LP's value. Needs :func:`knapsack_bound_applies`; ``-inf`` otherwise."""
    pi = np.asarray(pi, dtype=float)
    if not knapsack_bound_applies(problem) or pi.shape != (problem.n_customers,):
        return -np.inf
    pricer = _Pricer(problem, 0)
    used = np.zeros(problem.n_facilities, dtype=bool)
    vals, _ = pricer.round(pi, True, used, None, budget)
    return _lagrangian(pricer, pi, vals, int(problem.p or 0))


def cluster_cg(
    problem: FacilityProblem,
    open_: np.ndarray,
    assign: np.ndarray,
    budget: WorkBudget,
    *,
    seed: int = 0,
) -> ClusterCgResult:
    """Column generation, a dive and the restricted master MIP from the plan ``(open_,
    assign)`` (see the module docstring), on ``budget``.

    Returns the bound, the LP value and, when the MIP (or the dive) found a cheaper plan than
    the incumbent, that plan. Requires :func:`cluster_cg_applies`.
    """
    out = ClusterCgResult()
    p = int(problem.p or 0)
    n, m = problem.n_customers, problem.n_facilities
    k = max(CG_PRICING_PAIRS, int(np.ceil(4 * n / max(p, 1))))
    pricer = _Pricer(problem, min(k, n))
    c = pricer.c
    finite = c[np.isfinite(c)]
    big = 1e3 * float(np.abs(finite).max(initial=1.0)) + 1.0
    master = _Master(n, m, p, big)
    open_cost = np.where(problem.fixed_open, 0.0, pricer.open_cost)

    def column_cost(site: int, members: np.ndarray) -> float:
        return float(open_cost[site] + c[site, members].sum())

    incumbent = 0.0
    for site in np.flatnonzero(np.asarray(open_, dtype=bool)).tolist():
        members = np.flatnonzero(assign == site)
        incumbent += column_cost(site, members)  # an empty open site pays its open cost
        if members.size:
            master.add(site, members, column_cost(site, members))
    n_start = len(master.site)
    out.before = incumbent
    used = np.zeros(m, dtype=bool)
    covered = np.zeros(n, dtype=bool)

    def price_rounds(
        limit: int, smooth: bool, budget: WorkBudget
    ) -> tuple[float, np.ndarray] | None:
        """Pricing rounds to convergence (or ``limit``); the last LP's value and duals."""
        stab: np.ndarray | None = None
        best_lb = -np.inf
        alpha = CG_SMOOTHING if smooth else 0.0
        last: tuple[float, np.ndarray] | None = None
        for _ in range(limit):
            if budget.exhausted("cluster_cg"):
                return last
            solved = master.solve(budget)
            if solved is None:
                return last
            last = solved
            z, dual = solved
            pi, mu, nu = dual[:n], dual[n], dual[n + 1 :]
            added = 0
            while True:
                sep = pi if stab is None or alpha == 0.0 else alpha * stab + (1 - alpha) * pi
                skip = covered if covered.any() else None
                vals, found = pricer.round(sep, False, used, skip, budget)
                if smooth and not covered.any():
                    lb = _lagrangian(pricer, sep, vals, p)
                    if lb > best_lb:
                        best_lb, stab = lb, sep.copy()
                for s in pricer.sites:
                    cluster = found[s]
                    if cluster.size == 0:
                        continue
                    cost = column_cost(int(s), cluster)
                    if cost - pi[cluster].sum() - mu - nu[s] < -1e-7 * max(1.0, abs(z)):
                        added += master.add(int(s), cluster, cost)
                if added or sep is pi:
                    break
                alpha = 0.0 if alpha < 0.1 else alpha / 2  # mispriced: trust the master more
            if smooth:
                out.rounds += 1
            if not added:
                if smooth:
                    out.converged = True
                return last
        return last

    res = price_rounds(CG_MAX_ROUNDS, smooth=True, budget=budget)
    if res is None:
        out.columns = len(master.site)
        return out
    out.lp, dual = res
    vals, _ = pricer.round(dual[:n], True, used, None, budget)
    out.bound = _lagrangian(pricer, dual[:n], vals, p)

    # dive: fix what the LP takes, price again, until the LP passes the incumbent
    fixed: list[int] = []
    z = out.lp
    while not covered.all() and z < incumbent and not budget.exhausted("cluster_cg"):
        lam = np.where(master.free(used, covered), master.values(), -1.0)
        pick = np.flatnonzero(lam > CG_DIVE_FIX)
        if pick.size == 0:
            top = int(np.argmax(lam))
            if lam[top] <= 1e-9:
                break
            pick = np.array([top])
        for col in pick.tolist():
            site, mem = master.site[col], master.members[col]
            if used[site] or covered[mem].any():
                continue
            master.fix(col, 1.0)
            used[site] = True
            covered[mem] = True
            fixed.append(int(col))
        step = price_rounds(CG_DIVE_ROUNDS, smooth=False, budget=budget)
        if step is None:
            break
        z = step[0]
    out.dive_fixed = len(fixed)
    for col in fixed:
        master.fix(col, 0.0)
    out.columns = len(master.site)

    # the restricted master as a MIP over every column, from the incumbent
    cols = _master_mip(master, n_start, budget, seed)
    if cols is not None:
        new_open = np.zeros(m, dtype=bool)
        new_assign = -np.ones(n, dtype=np.int64)
        for col in cols:
            new_open[master.site[col]] = True
            new_assign[master.members[col]] = master.site[col]
        cost = float(sum(master.cost[col] for col in cols))
        if (new_assign >= 0).all() and int(new_open.sum()) == p:
            out.mip_objective = cost
            if cost < incumbent - 1e-9 * max(1.0, abs(incumbent)):
                out.plan = (new_open, new_assign)
    return out


def _master_mip(master: _Master, n_start: int, budget: WorkBudget, seed: int) -> list[int] | None:
    """The master's columns as binaries, from the first ``n_start`` (the incumbent), with a
    node limit from what is left of ``budget`` but at least its root (charged after: where the
    dive spends the budget the root still runs; u724_125 at 300 s without it: +1.03 %, the
    pool's root plan is 39,162.9 against 39,401.6 before); the columns of its best plan."""
    h = master.h
    n_cols = h.getNumCol()
    left = max(budget.left(), 0.0)
    nodes = max(int(left / (CG_SECONDS_PER_NODE_NNZ * max(master.nnz, 1))), 1)
    if budget.wall_left() <= 0:
        budget.exhausted("cluster_cg")
        return None
    idx = np.arange(master.n_art, n_cols, dtype=np.int32)
    h.changeColsIntegrality(
        idx.size, idx, np.full(idx.size, highspy.HighsVarType.kInteger, dtype=np.uint8)
    )
    # artificials are not part of a plan
    for col in range(master.n_art):
        h.changeColBounds(col, 0.0, 0.0)
    h.setOptionValue("mip_max_nodes", nodes)
    h.setOptionValue("random_seed", seed)
    h.setOptionValue("time_limit", max(budget.wall_left(), 0.01))
    start = np.zeros(n_cols)
    start[master.n_art : master.n_art + n_start] = 1.0
    sol = highspy.HighsSolution()
    sol.col_value = list(start)
    sol.value_valid = True
    h.setSolution(sol)
    before = h.getInfo().simplex_iteration_count
    h.run()
    done = float(h.getInfo().mip_node_count)
    iterations = max(h.getInfo().simplex_iteration_count - before, 0)
    rows = master.n + 1 + master.m
    budget.charge(
        max(
            CG_SECONDS_PER_NODE_NNZ * max(done, 1.0) * master.nnz,
            CG_SECONDS_PER_ITERATION_ROW * iterations * rows,
        )
    )
    if h.getModelStatus() == highspy.HighsModelStatus.kTimeLimit:
        budget.exhausted("cluster_cg")
        if "cluster_cg" not in budget.cut:
            budget.cut.append("cluster_cg")
    if not h.getInfo().primal_solution_status:
        return None
    x = np.asarray(h.getSolution().col_value)[master.n_art :]
    return [int(col) for col in np.flatnonzero(x > 0.5)]
