"""The catchment problem of one level, compiled from a District into immutable numpy arrays.

:func:`build_problem` applies every *hard* rule that can be applied to the data itself, so the
models only see allowed pairs:

* a unit may go to a school only through an allowed pair ``(u, s)``: the school is ``open`` and
  teaches the level (candidate and closed schools take no one); with a travel table only listed
  pairs exist; ``cost <= max_travel`` and ``cost <= (1 + alpha) × cost to today's school`` (the
  pair to today's school is always allowed when that school is open and teaches the level);
* sparse candidates: per unit the ``k_nearest`` cheapest allowed pairs plus today's school;
* a locked unit keeps today's school: its only pair is that one (none when that school is not
  usable; :mod:`.explain` then says why);
* with phase-in, only the entering grade (g1 / g7) of a unit whose school is usable is
  *movable*; the enrolled pupils stay at today's school and use its seats (``fixed_load``);
* with the closer-neighbour contiguity rule, pairs that can never be supported are pruned
  (:func:`.contiguity.prune_closer_neighbour`).

Migrant pupils per level: a unit's ``migrant_pupils`` counts both levels, so the level's share is
``migrant_pupils / (pupils_primary + pupils_junior)`` (clipped to [0, 1]) times its pupils.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from geo.adjacency import unit_adjacency
from geo.distance import candidate_pairs, pair_distance, travel_pairs
from planner.model import District
from planner.policy import ENTRY_GRADE, Level
from solvers.catchment.contiguity import (
    ContiguityData,
    contiguity_data,
    prune_closer_neighbour,
    prune_exact,
)
from solvers.catchment.types import CatchmentSettings, ObjectiveWeights


@dataclass(frozen=True, eq=False)
class CatchmentProblem:
    """Array data of one level's catchment problem (no geometry, no DataFrames).

    Pairs are sorted by unit, then cost, then school; ``unit_ptr`` gives each unit's slice.
    Unit and school positions are rows of ``district.units`` / ``district.schools``.
    """

    level: Level
    n_units: int
    n_schools: int
    travel_unit: str
    pair_unit: np.ndarray
    pair_school: np.ndarray
    pair_cost: np.ndarray
    unit_ptr: np.ndarray
    pupils: np.ndarray  # all pupils of the level per unit
    movable: np.ndarray  # pupils the plan places (all, or the entering grade with phase-in)
    migrant: np.ndarray  # migrant pupils among ``movable`` (float)
    seats: np.ndarray  # seats per school for the level
    fixed_load: np.ndarray  # enrolled pupils staying at each school (phase-in)
    fixed_migrant: np.ndarray  # migrant pupils among ``fixed_load`` (float)
    fixed_travel: float  # Σ enrolled pupils × cost to today's school (a constant)
    current: np.ndarray  # today's school per unit, -1 none
    current_usable: np.ndarray  # today's school is open and teaches the level
    current_pair: np.ndarray  # pair index of today's school, -1 when not a pair
    locked: np.ndarray  # unit keeps today's school
    usable: np.ndarray  # school may take pupils (open, teaches the level)
    county_migrant_share: float
    moved_cap: int | None  # most pupils that may move (max_moved_share), None = no cap
    contiguity: str
    adj_a: np.ndarray
    adj_b: np.ndarray
    contig: ContiguityData | None
    unit_ids: np.ndarray  # for messages
    school_ids: np.ndarray
    school_status: np.ndarray  # open | candidate | closed
    school_level: np.ndarray  # primary | junior | nine_year
    contiguity_waived: np.ndarray  # (n_units,) bool: contiguity waived (no contiguous option)
    warnings: tuple[str, ...] = ()

    @property
    def n_pairs(self) -> int:
        """Number of candidate pairs."""
        return int(self.pair_unit.size)

    def pair_index(self, unit: np.ndarray, school: np.ndarray) -> np.ndarray:
        """Pair index of (unit, school) rows, -1 where not a pair."""
        unit = np.asarray(unit, dtype=np.int64)
        school = np.asarray(school, dtype=np.int64)
        key = self.pair_unit * self.n_schools + self.pair_school
        order = np.argsort(key, kind="stable")
        q = unit * self.n_schools + school
        pos = np.minimum(np.searchsorted(key[order], q), max(key.size - 1, 0))
        if key.size == 0:
            return np.full(q.size, -1, dtype=np.int64)
        ok = (key[order][pos] == q) & (unit >= 0) & (school >= 0)
        return np.where(ok, order[pos], -1).astype(np.int64)


@dataclass(frozen=True)
class Evaluation:
    """Objective terms of an assignment, recomputed in exact floats."""

    terms: dict[str, float]
    load: np.ndarray
    overflow_by_school: np.ndarray
    moved_by_unit: np.ndarray


def within_alpha(cost: np.ndarray, cur_cost: np.ndarray, alpha: float) -> np.ndarray:
    """The ``alpha`` travel rule: ``cost ≤ (1 + α) × cost to today's school`` (``cur_cost``,
    ``inf`` for a unit without one, which the rule then does not restrict)."""
    return np.asarray(cost <= (1.0 + alpha) * cur_cost + 1e-9)


def _pairs_for_level(
    district: District,
    level: Level,
    settings: CatchmentSettings,
    usable: np.ndarray,
    cur: np.ndarray,
    cur_ok: np.ndarray,
    extra: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Allowed sparse pairs (before locking and contiguity), sorted by unit, cost, school.

    ``extra`` (units, schools): pairs kept besides the ``k`` cheapest, e.g. those added by
    pricing (:mod:`.pricing`); they must be allowed pairs (the travel rules still apply).
    """
    warnings: list[str] = []
    n_units = len(district.units)
    n_schools = len(district.schools)
    k = settings.k_nearest
    keep_u = np.flatnonzero(cur_ok)
    ex_u = np.zeros(0, np.int64) if extra is None else np.asarray(extra[0], dtype=np.int64)
    ex_s = np.zeros(0, np.int64) if extra is None else np.asarray(extra[1], dtype=np.int64)
    if district.travel is None:
        pr = candidate_pairs(
            district.unit_xy(),
            district.school_xy(),
            k=k,
            max_dist=settings.max_travel,
            school_mask=usable,
            must_include=(np.r_[keep_u, ex_u], np.r_[cur[keep_u], ex_s]),
        )
        u, s, c = pr.unit, pr.school, pr.cost
    else:
        pr = travel_pairs(district, level)
        ok = usable[pr.school]
        u, s, c = pr.unit[ok], pr.school[ok], pr.cost[ok]
        is_cur = s == cur[u]
        if settings.max_travel is not None:
            ok = is_cur | (c <= settings.max_travel)
            u, s, c, is_cur = u[ok], s[ok], c[ok], is_cur[ok]
        # Today's school is always allowed; add it when the table does not list it.
        listed = np.zeros(n_units, dtype=bool)
        listed[u[is_cur]] = True
        missing = keep_u[~listed[keep_u]]
        if missing.size:
            if district.travel_unit == "m":
                mc = pair_distance(district.unit_xy(), district.school_xy(), missing, cur[missing])
                u, s, c = np.r_[u, missing], np.r_[s, cur[missing]], np.r_[c, mc]
                warnings.append(
                    f"{missing.size} unit(s) have no travel-table row for today's school; "
                    "straight-line metres are used for that pair"
                )
            else:
                warnings.append(
                    f"{missing.size} unit(s) have no travel-table row for today's school and the "
                    "travel unit is minutes; that pair is left out for them"
                )
        order = np.lexsort((s, c, u))
        u, s, c = u[order], s[order], c[order]
        # Sparse: the k cheapest pairs per unit, plus today's school.
        ptr = np.concatenate(([0], np.cumsum(np.bincount(u, minlength=n_units))))
        rank = np.arange(u.size) - ptr[u]
        ok = (rank < k) | (s == cur[u])
        if ex_u.size:
            ok |= np.isin(u * n_schools + s, ex_u * n_schools + ex_s)
        u, s, c = u[ok], s[ok], c[ok]
    if settings.alpha is not None:
        # Within (1 + alpha) × today's travel; today's school itself always allowed.
        cur_cost = np.full(n_units, np.inf)
        at_cur = s == cur[u]
        cur_cost[u[at_cur]] = c[at_cur]
        ok = at_cur | within_alpha(c, cur_cost[u], settings.alpha)
        u, s, c = u[ok], s[ok], c[ok]
    return u.astype(np.int64), s.astype(np.int64), c.astype(np.float64), warnings


def _close_under_support(
    district: District,
    settings: CatchmentSettings,
    u: np.ndarray,
    s: np.ndarray,
    c: np.ndarray,
    adj: tuple[np.ndarray, np.ndarray],
    locked: np.ndarray,
    cur: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Add the pairs a contiguous catchment needs: for a pair (u, s), every neighbour v of u
    strictly nearer to s gets the pair (v, s) too, when the travel rules allow it.

    Without this, a sparse pair set (k nearest) would cut the support chains of the contiguity
    rule and leave schools unreachable. Repeats until no pair is added (each step is strictly
    nearer the school). Returns the new arrays and the number of pairs added.
    """
    n_units, n_schools = len(district.units), len(district.schools)
    eu = np.concatenate(adj).astype(np.int64)
    ev = np.concatenate(adj[::-1]).astype(np.int64)
    cur_cost = np.full(n_units, np.inf)
    at = s == cur[u]
    cur_cost[u[at]] = c[at]
    travel: dict[int, float] | None = None
    if district.travel is not None:
        tp = travel_pairs(district)
        travel = dict(
            zip((tp.unit * n_schools + tp.school).tolist(), tp.cost.tolist(), strict=True)
        )
    added = 0
    front_u, front_s, front_c = u, s, c
    keys = set((u * n_schools + s).tolist())
    while front_u.size:
        ptr = np.concatenate(([0], np.cumsum(np.bincount(front_u, minlength=n_units))))
        order = np.argsort(front_u, kind="stable")
        fs, fc = front_s[order], front_c[order]
        cnt = ptr[eu + 1] - ptr[eu]
        e_of = np.repeat(np.arange(eu.size), cnt)
        offs = np.arange(int(cnt.sum())) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        pi = ptr[eu][e_of] + offs
        vv, ss, cu = ev[e_of], fs[pi], fc[pi]
        ok = ~locked[vv]
        vv, ss, cu = vv[ok], ss[ok], cu[ok]
        k = vv * n_schools + ss
        new = np.fromiter((key not in keys for key in k.tolist()), dtype=bool, count=k.size)
        vv, ss, cu, k = vv[new], ss[new], cu[new], k[new]
        if travel is None:
            cv = pair_distance(district.unit_xy(), district.school_xy(), vv, ss)
        else:
            cv = np.array([travel.get(key, np.nan) for key in k.tolist()], dtype=float)
        ok = np.isfinite(cv) & (cv < cu)
        if settings.alpha is not None:
            ok &= within_alpha(cv, cur_cost[vv], settings.alpha)
        vv, ss, cv, k = vv[ok], ss[ok], cv[ok], k[ok]
        _, first = np.unique(k, return_index=True)
        vv, ss, cv = vv[first], ss[first], cv[first]
        keys.update((vv * n_schools + ss).tolist())
        added += vv.size
        u, s, c = np.r_[u, vv], np.r_[s, ss], np.r_[c, cv]
        front_u, front_s, front_c = vv, ss, cv
    order = np.lexsort((s, c, u))
    return u[order], s[order], c[order], added


def build_problem(
    district: District,
    level: Level,
    settings: CatchmentSettings,
    extra: tuple[np.ndarray, np.ndarray] | None = None,
    adjacency: tuple[np.ndarray, np.ndarray] | None = None,
) -> CatchmentProblem:
    """Compile one level of a district into a :class:`CatchmentProblem`.

    Parameters
    ----------
    district : District
        The validated district.
    level : {"primary", "junior"}
        The level to plan.
    settings : CatchmentSettings
        Travel rules, sparsity, phase-in, stability cap, contiguity.
    extra : (units, schools), optional
        Allowed pairs to keep besides each unit's ``k_nearest`` (pairs priced in by
        :func:`.pricing.price_pairs`).
    adjacency : (a, b), optional
        The unit adjacency edges, when already computed (a rebuild with more pairs); computed
        from the geometry otherwise.

    Returns
    -------
    CatchmentProblem
        Arrays only; infeasibility is explained by :func:`.explain.explain_infeasibility`.

    Raises
    ------
    ValueError
        If a pair cost is negative or not finite.
    """
    n_units, n_schools = len(district.units), len(district.schools)
    units = district.units
    status = district.schools["status"].astype(str).to_numpy()
    usable = district.serves(level) & (status == "open")
    cur = district.current(level)
    cur_ok = (cur >= 0) & usable[np.maximum(cur, 0)]
    locked = units["locked"].to_numpy(dtype=bool) & (cur >= 0)
    warnings: list[str] = []

    pupils = district.pupils(level)
    if settings.phase_in:
        entry = units[f"g{ENTRY_GRADE[level]}"].to_numpy(dtype=np.int64)
        movable = np.where(cur_ok, np.minimum(entry, pupils), pupils)
        if pupils.sum() > 0 and entry.sum() == 0:
            warnings.append(
                f"phase-in: no unit has grade-{ENTRY_GRADE[level]} pupils, so no {level} pupil moves"
            )
    else:
        movable = pupils.copy()
    enrolled = pupils - movable

    u, s, c, w = _pairs_for_level(district, level, settings, usable, cur, cur_ok, extra)
    stranded_mask = np.zeros(n_units, dtype=bool)
    warnings += w
    if c.size and not (np.isfinite(c).all() and (c >= 0).all()):
        raise ValueError("travel costs must be finite and non-negative")
    # Cost to today's school (phase-in travel of enrolled pupils).
    cur_cost = np.zeros(n_units)
    at_cur = s == cur[u]
    cur_cost[u[at_cur]] = c[at_cur]

    # A locked unit keeps today's school: only that pair (none if that school is not usable).
    ok = ~locked[u] | at_cur
    u, s, c = u[ok], s[ok], c[ok]

    if settings.contiguity != "none":
        adj_a, adj_b = adjacency if adjacency is not None else unit_adjacency(district)
    else:  # not needed by the model; plan.py / check.py compute adjacency for reporting
        adj_a = adj_b = np.zeros(0, dtype=np.int64)
    unit_xy, school_xy = district.unit_xy(), district.school_xy()
    if settings.contiguity != "none":
        u, s, c, _ = _close_under_support(district, settings, u, s, c, (adj_a, adj_b), locked, cur)
    if settings.contiguity == "closer_neighbour":
        keep, stranded = prune_closer_neighbour(u, s, c, unit_xy, school_xy, adj_a, adj_b, locked)
        if stranded.size:
            ids = units["unit_id"].to_numpy()[stranded[:5]]
            warnings.append(
                f"{stranded.size} unit(s) have no candidate school they could join contiguously "
                f"(e.g. {', '.join(map(str, ids))}); the closer-neighbour rule is waived for them"
            )
        u, s, c = u[keep], s[keep], c[keep]
        stranded_mask[stranded] = True
        contig = contiguity_data(
            u, s, c, unit_xy, school_xy, adj_a, adj_b, locked, extra_exempt=stranded_mask[u]
        )
    elif settings.contiguity == "exact":
        full = contiguity_data(
            u, s, c, unit_xy, school_xy, adj_a, adj_b, locked, exempt_locked=False
        )
        keep, stranded = prune_exact(u, s, n_units, full)
        if stranded.size:
            ids = units["unit_id"].to_numpy()[stranded[:5]]
            warnings.append(
                f"{stranded.size} unit(s) are not linked to any candidate school's unit "
                f"(e.g. {', '.join(map(str, ids))}); exact contiguity is waived for them"
            )
        u, s, c = u[keep], s[keep], c[keep]
        stranded_mask[stranded] = True
        contig = contiguity_data(
            u, s, c, unit_xy, school_xy, adj_a, adj_b, locked,
            extra_exempt=stranded_mask[u], exempt_locked=False,
        )  # fmt: skip
    else:
        contig = None

    ptr = np.concatenate(([0], np.cumsum(np.bincount(u, minlength=n_units)))).astype(np.int64)
    key = u * n_schools + s
    cur_key = np.where(cur >= 0, np.arange(n_units) * n_schools + cur, -1)
    order = np.argsort(key, kind="stable")
    pos = np.minimum(np.searchsorted(key[order], cur_key), max(key.size - 1, 0))
    current_pair = (
        np.where((key[order][pos] == cur_key) & (cur >= 0), order[pos], -1)
        if key.size
        else np.full(n_units, -1)
    ).astype(np.int64)

    # Phase-in: enrolled pupils stay at today's (usable) school and use its seats.
    fixed_load = np.bincount(cur[enrolled > 0], weights=enrolled[enrolled > 0], minlength=n_schools)
    both = units["pupils_primary"].to_numpy(dtype=float) + units["pupils_junior"].to_numpy(
        dtype=float
    )
    share = np.clip(units["migrant_pupils"].to_numpy(dtype=float) / np.maximum(both, 1.0), 0, 1)
    fixed_migrant = np.bincount(
        cur[enrolled > 0], weights=(share * enrolled)[enrolled > 0], minlength=n_schools
    )
    total = int(pupils.sum())
    county_share = float((share * pupils).sum() / total) if total else 0.0
    moved_cap = (
        int(np.floor(settings.max_moved_share * total + 1e-9))
        if settings.max_moved_share is not None
        else None
    )
    return CatchmentProblem(
        level=level,
        n_units=n_units,
        n_schools=n_schools,
        travel_unit=district.travel_unit,
        pair_unit=u,
        pair_school=s,
        pair_cost=c,
        unit_ptr=ptr,
        pupils=pupils.astype(np.int64),
        movable=movable.astype(np.int64),
        migrant=share * movable,
        seats=district.seats(level).astype(np.int64),
        fixed_load=np.rint(fixed_load).astype(np.int64),
        fixed_migrant=fixed_migrant,
        fixed_travel=float((enrolled * cur_cost).sum()),
        current=cur,
        current_usable=cur_ok,
        current_pair=current_pair,
        locked=locked,
        usable=usable,
        county_migrant_share=county_share,
        moved_cap=moved_cap,
        contiguity=settings.contiguity,
        adj_a=adj_a,
        adj_b=adj_b,
        contig=contig,
        unit_ids=units["unit_id"].astype(str).to_numpy(),
        school_ids=district.schools["school_id"].astype(str).to_numpy(),
        school_status=status,
        school_level=district.schools["level"].astype(str).to_numpy(),
        contiguity_waived=stranded_mask,
        warnings=tuple(warnings),
    )


def evaluate(
    problem: CatchmentProblem,
    assign: np.ndarray,
    weights: ObjectiveWeights,
    balance_delta: float | None = None,
) -> Evaluation:
    """Objective terms of an assignment in exact floats (the numbers every solver reports).

    * ``overflow_pupils`` = Σ_s max(0, load_s − seats_s), load including enrolled pupils;
    * ``travel_cost`` = Σ movable pupils × cost of their pair + enrolled pupils × cost to today's
      school (phase-in);
    * ``moved_pupils`` = movable pupils of units with a today's school placed elsewhere;
    * ``balance_excess`` = Σ_s max(0, |migrant_s − r·load_s| − δ·load_s), r the county share;
    * ``objective`` = the weighted sum.

    Raises
    ------
    ValueError
        If a unit with pupils is unassigned or assigned through a pair that does not exist.
    """
    assign = np.asarray(assign, dtype=np.int64)
    has = assign >= 0
    units = np.flatnonzero(has)
    p = problem.pair_index(units, assign[has])
    if (p < 0).any():
        bad = units[p < 0][0]
        raise ValueError(f"unit {bad} is assigned to school {assign[bad]}, not an allowed pair")
    if (problem.movable[~has] > 0).any():
        raise ValueError("a unit with pupils is unassigned")
    mv = problem.movable[units].astype(float)
    load = problem.fixed_load.astype(float) + np.bincount(
        assign[has], weights=mv, minlength=problem.n_schools
    )
    overflow = np.maximum(load - problem.seats, 0.0)
    travel = float((mv * problem.pair_cost[p]).sum()) + problem.fixed_travel
    moved_by_unit = np.where(
        (problem.current >= 0) & (assign != problem.current), problem.movable, 0
    )
    moved = float(moved_by_unit.sum())
    balance = 0.0
    if balance_delta is not None:
        mig = problem.fixed_migrant + np.bincount(
            assign[has], weights=problem.migrant[units], minlength=problem.n_schools
        )
        dev = np.abs(mig - problem.county_migrant_share * load) - balance_delta * load
        balance = float(np.maximum(dev, 0.0).sum())
    obj = (
        weights.overflow * float(overflow.sum())
        + weights.travel * travel
        + weights.moved * moved
        + (weights.balance * balance if balance_delta is not None else 0.0)
    )
    terms = {
        "overflow_pupils": float(overflow.sum()),
        "travel_cost": travel,
        "moved_pupils": moved,
        "balance_excess": balance,
        "objective": obj,
    }
    return Evaluation(terms, load, overflow, moved_by_unit)
