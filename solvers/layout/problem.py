"""The facility-location problem behind school layout, as immutable arrays on sparse pairs.

Formulation (solved by :mod:`solvers.layout.highs_model` and :mod:`solvers.layout.cpsat_model`)::

    customers j (planning unit × level), level l(j), demand d_j
    facilities i (schools), allowed pairs P ⊆ I × J with cost c_p and load w_p (usually d_j)
    y_i ∈ {0,1}   open            (y_i = 1 fixed for must-open, 0 for closed schools)
    x_p ∈ {0,1}   assignment      m_il ∈ {0..M_il} added modules (classrooms)
    o_il ≥ 0      overflow seats  (only when capacity is soft)
    u_j ∈ {0,1}   fallback        (only in a sparsified relaxation, see solve.py)

    min  Σ f_i y_i + Σ g_il m_il + Σ c_p x_p + π Σ o_il + Σ φ_j u_j
    s.t. Σ_{p ∋ j} x_p + u_j = 1                          every customer served once
         x_p ≤ y_i                                        only by an open facility (strong form)
         Σ_{p ∋ i, l(p)=l} w_p x_p ≤ Q_il y_i + S_l m_il + o_il    seats per level
         m_il ≤ M_il y_i,  Σ_l m_il ≤ T_i                 modules only at open facilities
         Σ_{p ∋ i} w_p x_p ≤ L_i y_i + e_i                school-size limit (e_i soft like o)
         Σ_{p ∋ i} w_p x_p ≥ N_i y_i                      minimum pupils of an open facility
         Σ y_i = P  or  ≤ P                               number of open facilities
         Σ_{i candidate} f_i y_i + Σ g_il m_il ≤ B        build budget

``c_p`` is the full objective coefficient: the builder applies the demand weighting
(``travel_weight × d_j × travel`` for districts, the unweighted ``c_ij`` for the p-median
benchmarks). Capacity is hard when ``overflow_penalty`` is ``None``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from solvers.benchdata.instances import FacilityInstance


@dataclass(frozen=True)
class FacilityProblem:
    """Single-source capacitated facility location with modular capacity on sparse pairs.

    Pairs are sorted by customer. All arrays are numpy; nothing here is mutated by solvers.

    Attributes
    ----------
    name : str
        For logs and tables.
    demand : numpy.ndarray
        (n_customers,) demand d_j.
    customer_level : numpy.ndarray
        (n_customers,) int level index l(j) in ``0..n_levels-1``.
    pair_customer, pair_facility : numpy.ndarray
        (n_pairs,) int64 ends of each allowed pair, sorted by customer.
    pair_cost : numpy.ndarray
        (n_pairs,) objective coefficient c_p of assigning the customer along the pair.
    pair_load : numpy.ndarray
        (n_pairs,) capacity used w_p (d_j unless the load depends on the facility).
    open_cost : numpy.ndarray
        (n_facilities,) f_i, paid when the facility is open and not forced open.
    fixed_open, forbidden : numpy.ndarray
        (n_facilities,) bool: must stay open / never open.
    counts_in_budget : numpy.ndarray
        (n_facilities,) bool: its open cost is a build cost (candidates).
    capacity : numpy.ndarray
        (n_facilities, n_levels) base seats Q_il (``inf`` = uncapacitated).
    max_modules : numpy.ndarray
        (n_facilities, n_levels) int M_il.
    module_seats : numpy.ndarray
        (n_levels,) seats per module S_l (classroom × class-size cap).
    module_cost : numpy.ndarray
        (n_facilities, n_levels) g_il.
    module_limit : numpy.ndarray or None
        (n_facilities,) T_i, modules over all levels together (a nine-year school's extra
        classrooms serve either level); ``None`` = no joint limit.
    size_limit : numpy.ndarray
        (n_facilities,) L_i on total load over all levels (``inf`` = none).
    min_load : numpy.ndarray
        (n_facilities,) N_i, smallest load of an open facility (0 = none).
    p : int or None
        Open-facility count limit; ``p_limit`` says ``exactly`` or ``at_most``.
    budget : float or None
        Build budget B.
    overflow_penalty : float or None
        π per overflow seat; ``None`` makes capacity and size limits hard.
    fallback_cost : numpy.ndarray or None
        (n_customers,) φ_j, cost of the relaxation's "served outside the kept pairs" option;
        ``inf`` = no fallback. Only set by the sparsification in :mod:`solvers.layout.solve`.
    """

    name: str
    demand: np.ndarray
    customer_level: np.ndarray
    pair_customer: np.ndarray
    pair_facility: np.ndarray
    pair_cost: np.ndarray
    pair_load: np.ndarray
    open_cost: np.ndarray
    fixed_open: np.ndarray
    forbidden: np.ndarray
    counts_in_budget: np.ndarray
    capacity: np.ndarray
    max_modules: np.ndarray
    module_seats: np.ndarray
    module_cost: np.ndarray
    size_limit: np.ndarray
    min_load: np.ndarray
    module_limit: np.ndarray | None = None
    p: int | None = None
    p_limit: str = "exactly"
    budget: float | None = None
    overflow_penalty: float | None = None
    fallback_cost: np.ndarray | None = None
    level_names: tuple[str, ...] = ("all",)
    info: dict[str, object] = field(default_factory=dict)

    # -- sizes ------------------------------------------------------------------------
    @property
    def n_customers(self) -> int:
        """Number of customers."""
        return int(self.demand.size)

    @property
    def n_facilities(self) -> int:
        """Number of facilities."""
        return int(self.open_cost.size)

    @property
    def n_levels(self) -> int:
        """Number of levels (seat pools per facility)."""
        return int(self.module_seats.size)

    @property
    def n_pairs(self) -> int:
        """Number of allowed pairs."""
        return int(self.pair_customer.size)

    def offsets(self) -> np.ndarray:
        """CSR offsets of pairs by customer."""
        counts = np.bincount(self.pair_customer, minlength=self.n_customers)
        return np.concatenate(([0], np.cumsum(counts))).astype(np.int64)

    def restrict(self, keep: np.ndarray, fallback_cost: np.ndarray | None) -> FacilityProblem:
        """A copy keeping only the pairs in boolean mask ``keep``, with a fallback per customer."""
        return replace(
            self,
            pair_customer=self.pair_customer[keep],
            pair_facility=self.pair_facility[keep],
            pair_cost=self.pair_cost[keep],
            pair_load=self.pair_load[keep],
            fallback_cost=fallback_cost,
        )

    # -- validation ---------------------------------------------------------------------
    def __post_init__(self) -> None:
        # masks must be boolean: an int array would silently index instead of mask
        for name in ("fixed_open", "forbidden", "counts_in_budget"):
            object.__setattr__(self, name, np.asarray(getattr(self, name), dtype=bool))
        n_f, n_p = self.open_cost.size, self.pair_customer.size
        for name, arr, shape in (
            ("pair_facility", self.pair_facility, (n_p,)),
            ("pair_cost", self.pair_cost, (n_p,)),
            ("pair_load", self.pair_load, (n_p,)),
            ("fixed_open", self.fixed_open, (n_f,)),
            ("forbidden", self.forbidden, (n_f,)),
            ("size_limit", self.size_limit, (n_f,)),
            ("min_load", self.min_load, (n_f,)),
            ("capacity", self.capacity, (n_f, self.module_seats.size)),
            ("max_modules", self.max_modules, (n_f, self.module_seats.size)),
        ):
            if arr.shape != shape:
                raise ValueError(f"{name} has shape {arr.shape}, expected {shape}")
        if n_p and np.any(np.diff(self.pair_customer) < 0):
            raise ValueError("pairs must be sorted by customer")
        if np.any(self.demand < 0) or np.any(self.pair_load < 0):
            raise ValueError("demand and loads must be non-negative")
        if np.any(self.fixed_open & self.forbidden):
            bad = np.flatnonzero(self.fixed_open & self.forbidden)[:5]
            raise ValueError(f"facilities {bad.tolist()} are both must-open and closed")

    # -- constructors -----------------------------------------------------------------------
    @classmethod
    def from_instance(
        cls, inst: FacilityInstance, *, weight_by_demand: bool = False
    ) -> FacilityProblem:
        """All pairs of a benchmark instance; capacity hard, p as published.

        ``weight_by_demand`` multiplies each cost by the customer's demand (the district
        convention); the published objectives are unweighted, so the default is ``False``.
        """
        n_f, n_c = inst.cost.shape
        fac, cust = np.meshgrid(np.arange(n_f), np.arange(n_c), indexing="xy")
        pc, pf = cust.ravel().astype(np.int64), fac.ravel().astype(np.int64)
        cost = inst.cost[pf, pc] * (inst.demand[pc] if weight_by_demand else 1.0)
        load = inst.usage[pf, pc] if inst.usage is not None else inst.demand[pc]
        return cls(
            name=inst.name,
            demand=inst.demand.astype(float),
            customer_level=np.zeros(n_c, dtype=np.int64),
            pair_customer=pc,
            pair_facility=pf,
            pair_cost=cost.astype(float),
            pair_load=load.astype(float),
            open_cost=inst.fixed_cost.astype(float),
            fixed_open=np.full(n_f, inst.all_open),
            forbidden=np.zeros(n_f, dtype=bool),
            counts_in_budget=np.ones(n_f, dtype=bool),
            capacity=inst.capacity.astype(float)[:, None],
            max_modules=np.zeros((n_f, 1), dtype=np.int64),
            module_seats=np.ones(1),
            module_cost=np.zeros((n_f, 1)),
            size_limit=np.full(n_f, np.inf),
            min_load=np.zeros(n_f),
            p=inst.p,
            p_limit=inst.p_limit,
        )


@dataclass
class FacilitySolution:
    """A solver's answer to a :class:`FacilityProblem`.

    ``assign[j]`` is the facility of customer j (−1 only if unassigned, which a returned
    feasible solution never has). ``bound`` is a valid lower bound on the optimum of the full
    problem (also when the solver worked on a sparsified relaxation).
    """

    status: str
    objective: float
    bound: float
    open: np.ndarray
    modules: np.ndarray
    assign: np.ndarray
    overflow: np.ndarray
    solve_seconds: float
    solver: str
    terms: dict[str, float] = field(default_factory=dict)
    info: dict[str, object] = field(default_factory=dict)

    @property
    def gap(self) -> float:
        """Relative gap |objective − bound| / max(|objective|, 1e-9); inf if infeasible."""
        if not np.isfinite(self.objective):
            return float("inf")
        return abs(self.objective - self.bound) / max(abs(self.objective), 1e-9)


def assigned_pairs(problem: FacilityProblem, assign: np.ndarray) -> np.ndarray:
    """Position of each customer's pair to its ``assign`` facility; −1 where there is none.

    One vectorised pass over the pairs: a dictionary of every pair took minutes and gigabytes
    on 20 M pairs (Stefanello fnl4461), and every answer is checked with this.
    """
    assign = np.asarray(assign, dtype=np.int64)
    out = -np.ones(problem.n_customers, dtype=np.int64)
    if assign.size != problem.n_customers:
        raise ValueError(f"{assign.size} assignments for {problem.n_customers} customers")
    hit = np.flatnonzero(problem.pair_facility == assign[problem.pair_customer])
    # written in reverse so that a repeated (customer, facility) pair gives its first position
    out[problem.pair_customer[hit[::-1]]] = hit[::-1]
    return out


def loads(problem: FacilityProblem, assign: np.ndarray) -> np.ndarray:
    """(n_facilities, n_levels) load of an assignment (pairs must exist)."""
    assign = np.asarray(assign, dtype=np.int64)
    pos = assigned_pairs(problem, assign)
    if (pos < 0).any():
        j = int(np.flatnonzero(pos < 0)[0])
        raise KeyError((j, int(assign[j])))
    out = np.zeros((problem.n_facilities, problem.n_levels))
    np.add.at(out, (assign, problem.customer_level), problem.pair_load[pos])
    return out


def evaluate(
    problem: FacilityProblem, open_: np.ndarray, modules: np.ndarray, assign: np.ndarray
) -> tuple[dict[str, float], list[str]]:
    """Recompute the objective terms of a solution and list every violated hard rule.

    Solver-independent: used by tests and after every solve. Overflow is the smallest
    consistent with the modules (soft capacity) and is reported in ``terms['overflow_seats']``.

    Returns
    -------
    terms : dict
        ``build``, ``assignment``, ``overflow_seats``, ``overflow_cost``, ``objective``.
    violations : list of str
        Empty when the solution satisfies every hard rule.
    """
    open_ = np.asarray(open_, dtype=bool)
    modules = np.asarray(modules, dtype=np.int64)
    assign = np.asarray(assign, dtype=np.int64)
    bad: list[str] = []
    pos = assigned_pairs(problem, assign)
    for j in np.flatnonzero((pos < 0) | ~open_[np.clip(assign, 0, None)]).tolist():
        i = int(assign[j])
        if pos[j] < 0:
            bad.append(f"customer {j} assigned to facility {i} outside the allowed pairs")
        else:
            bad.append(f"customer {j} assigned to closed facility {i}")
    assign_cost = float(problem.pair_cost[pos[pos >= 0]].sum())
    if bad:
        return {"objective": float("inf")}, bad
    load = loads(problem, assign)
    seats = (
        np.where(open_[:, None], problem.capacity, 0.0) + modules * problem.module_seats[None, :]
    )
    over = np.maximum(load - np.where(np.isfinite(seats), seats, np.inf), 0.0)
    total = load.sum(axis=1)
    size_over = np.maximum(total - np.where(open_, problem.size_limit, 0.0), 0.0)
    soft = problem.overflow_penalty is not None
    tol = 1e-6
    if not soft and (over.sum() > tol or size_over.sum() > tol):
        bad.append(f"capacity exceeded by {over.sum():g} seats, size limit by {size_over.sum():g}")
    if np.any(open_ & problem.forbidden):
        bad.append(
            f"closed facilities opened: {np.flatnonzero(open_ & problem.forbidden).tolist()}"
        )
    if np.any(~open_ & problem.fixed_open):
        bad.append(
            f"must-open facilities closed: {np.flatnonzero(~open_ & problem.fixed_open).tolist()}"
        )
    if np.any(modules > problem.max_modules * open_[:, None]) or np.any(modules < 0):
        bad.append("modules outside 0..max at an open facility")
    if problem.module_limit is not None and np.any(modules.sum(axis=1) > problem.module_limit):
        bad.append("modules over a facility's joint limit")
    small = open_ & (total < problem.min_load - tol)
    if small.any():
        bad.append(f"open facilities below their minimum load: {np.flatnonzero(small).tolist()}")
    n_open = int(open_.sum())
    if problem.p is not None:
        if problem.p_limit == "exactly" and n_open != problem.p:
            bad.append(f"{n_open} facilities open, expected exactly {problem.p}")
        if problem.p_limit == "at_most" and n_open > problem.p:
            bad.append(f"{n_open} facilities open, at most {problem.p} allowed")
    payable = open_ & ~problem.fixed_open
    build = float(problem.open_cost[payable].sum() + (problem.module_cost * modules).sum())
    budget_use = float(
        problem.open_cost[payable & problem.counts_in_budget].sum()
        + (problem.module_cost * modules).sum()
    )
    if problem.budget is not None and budget_use > problem.budget + tol:
        bad.append(f"build cost {budget_use:,.2f} exceeds the budget {problem.budget:,.2f}")
    over_seats = float(over.sum() + size_over.sum())
    over_cost = (problem.overflow_penalty or 0.0) * over_seats
    terms = {
        "build": build,
        "assignment": assign_cost,
        "overflow_seats": over_seats,
        "overflow_cost": over_cost,
        "objective": build + assign_cost + over_cost,
    }
    return terms, bad


def unserved_customers(problem: FacilityProblem) -> np.ndarray:
    """Customers with demand but no pair to a facility that may open (nor a fallback)."""
    ok_pair = ~problem.forbidden[problem.pair_facility]
    served = np.bincount(problem.pair_customer[ok_pair], minlength=problem.n_customers) > 0
    if problem.fallback_cost is not None:
        served |= np.isfinite(problem.fallback_cost)
    return np.flatnonzero(~served & (problem.demand > 0))


def explain_infeasible(problem: FacilityProblem) -> list[str]:
    """Reasons, with numbers, why no solution can exist; empty when none is found.

    Checks (before any solve): customers without an allowed pair to an openable facility; the
    open-count limit against must-open and openable facilities; with hard capacity, the seats
    reachable by the ``p`` largest facilities (or all, or within the budget by a fractional
    knapsack bound) against total demand, per level.
    """
    reasons: list[str] = []
    openable = ~problem.forbidden
    lonely = unserved_customers(problem)
    if lonely.size:
        reasons.append(
            f"{lonely.size} customer(s) have no allowed facility that may open "
            f"(first: {lonely[:5].tolist()})"
        )
    n_fixed, n_openable = int(problem.fixed_open.sum()), int(openable.sum())
    if problem.p is not None:
        if n_fixed > problem.p:
            reasons.append(
                f"{n_fixed} facilities must stay open but at most {problem.p} may be open"
            )
        if problem.p_limit == "exactly" and n_openable < problem.p:
            reasons.append(f"exactly {problem.p} facilities must open but only {n_openable} may")
    if problem.budget is not None:
        fixed_mod = 0.0  # modules are optional, so only forced spending counts
        if problem.budget < fixed_mod - 1e-9:
            reasons.append(f"the budget {problem.budget:,.2f} is negative")
    if problem.overflow_penalty is None:
        for lev in range(problem.n_levels):
            need = float(problem.demand[problem.customer_level == lev].sum())
            if problem.pair_load.size and not np.allclose(
                problem.pair_load, problem.demand[problem.pair_customer]
            ):
                continue  # facility-dependent loads (GAP): no simple seat count
            full = (
                problem.capacity[:, lev] + problem.max_modules[:, lev] * problem.module_seats[lev]
            )
            full = np.where(openable, full, 0.0)
            if not np.isfinite(full).all() or need <= 0:
                continue
            lname = problem.level_names[lev] if lev < len(problem.level_names) else str(lev)
            if problem.p is not None:
                # the p largest, with must-open facilities counted first
                fixed = np.sort(full[problem.fixed_open])[::-1]
                rest = np.sort(full[~problem.fixed_open])[::-1][: max(problem.p - fixed.size, 0)]
                top = float(fixed.sum() + rest.sum())
                if top < need - 1e-9:
                    reasons.append(
                        f"{lname}: the {problem.p} largest capacities (with all modules) sum to "
                        f"{top:,.0f} < total demand {need:,.0f}"
                    )
                    continue
            if float(full.sum()) < need - 1e-9:
                reasons.append(
                    f"{lname}: all facilities that may open have {full.sum():,.0f} seats "
                    f"(with all modules) < total demand {need:,.0f}"
                )
                continue
            if problem.budget is not None:
                reach = _budget_seats(problem, lev)
                if reach < need - 1e-9:
                    reasons.append(
                        f"{lname}: within the budget {problem.budget:,.0f} at most {reach:,.0f} "
                        f"seats can exist (fractional bound) < total demand {need:,.0f}"
                    )
    return reasons


def _budget_seats(problem: FacilityProblem, lev: int) -> float:
    """Upper bound on seats of one level reachable within the budget (fractional knapsack)."""
    assert problem.budget is not None
    openable = ~problem.forbidden
    free_open = openable & (
        problem.fixed_open | ~problem.counts_in_budget | (problem.open_cost <= 0)
    )
    seats = float(problem.capacity[free_open, lev].sum())
    items: list[tuple[float, float]] = []  # (cost, seats)
    for i in np.flatnonzero(openable & ~free_open):
        items.append((float(problem.open_cost[i]), float(problem.capacity[i, lev])))
    for i in np.flatnonzero(openable):
        m = int(problem.max_modules[i, lev])
        if m > 0:
            items.append(
                (float(problem.module_cost[i, lev]) * m, m * float(problem.module_seats[lev]))
            )
    left = float(problem.budget)
    free = [s for c, s in items if c <= 0]
    seats += sum(free)
    paid = sorted(((c, s) for c, s in items if c > 0), key=lambda t: -t[1] / t[0])
    for c, s in paid:
        if left <= 0:
            break
        take = min(1.0, left / c)
        seats += take * s
        left -= take * c
    return seats
