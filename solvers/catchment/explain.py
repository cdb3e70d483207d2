"""Explain infeasibility of a catchment problem before solving, with numbers.

Hard reasons (:func:`explain_infeasibility`; the solve raises
:class:`planner.errors.InfeasiblePlan` with them):

* a unit with pupils has no allowed school (named, with its pupils);
* a locked unit is locked to a school that is closed, a candidate, or does not teach the level;
* more pupils must leave their school (closed, not teaching the level, or cut off by the
  contiguity rule) than ``max_moved_share`` allows.

Capacity is soft, so seat shortages are warnings (:func:`capacity_warnings`, reported in
``LevelSolution.info["warnings"]``): locked pupils that overfill a school, and groups of units
whose reachable schools have fewer seats than their pupils.
"""

from __future__ import annotations

import numpy as np

from planner.model import SERVES, District
from solvers.catchment.contiguity import components
from solvers.catchment.problem import CatchmentProblem

#: Units named one by one before the rest are summarised.
MAX_NAMED = 10


def _locked_bad(pb: CatchmentProblem) -> np.ndarray:
    return pb.locked & ~pb.current_usable


def explain_infeasibility(district: District | None, problem: CatchmentProblem) -> list[str]:
    """Reasons why no plan can meet the hard rules (empty when none is found).

    Parameters
    ----------
    district : District or None
        Unused beyond the ids already in ``problem``; accepted so callers can pass it.
    problem : CatchmentProblem
        The compiled level.
    """
    pb = problem
    level = pb.level
    reasons: list[str] = []
    for u in np.flatnonzero(_locked_bad(pb)).tolist():
        s = int(pb.current[u])
        sid, status = pb.school_ids[s], pb.school_status[s]
        if pb.school_level[s] not in SERVES[level]:
            why = f"which does not teach {level}"
        else:
            why = f"which is {status}"
        reasons.append(f"unit {pb.unit_ids[u]} is locked to {sid}, {why}")
    none = (np.diff(pb.unit_ptr) == 0) & (pb.pupils > 0) & ~_locked_bad(pb)
    bad = np.flatnonzero(none)
    for u in bad[:MAX_NAMED].tolist():
        reasons.append(
            f"unit {pb.unit_ids[u]} ({int(pb.pupils[u])} {level} pupils) has no allowed {level} "
            "school: no open school teaching it within the travel rules"
        )
    if bad.size > MAX_NAMED:
        rest = bad[MAX_NAMED:]
        reasons.append(
            f"{rest.size} more units ({int(pb.pupils[rest].sum())} {level} pupils) have no "
            f"allowed {level} school"
        )
    if pb.moved_cap is not None:
        forced_units = (pb.current >= 0) & (pb.current_pair < 0) & ~pb.locked
        forced = int(pb.movable[forced_units].sum())
        if forced > pb.moved_cap:
            reasons.append(
                f"at least {forced} {level} pupils must leave today's school (closed, not "
                f"teaching {level}, or not allowed by the travel or contiguity rules) but "
                f"max_moved_share allows only {pb.moved_cap}"
            )
    return reasons


def capacity_warnings(problem: CatchmentProblem) -> list[str]:
    """Seat shortages that force overflow (capacity is soft: these are warnings)."""
    pb = problem
    level = pb.level
    out: list[str] = []
    # Pupils that cannot leave a school: locked units and enrolled grades (phase-in).
    lk = pb.locked & pb.current_usable
    fixed = pb.fixed_load + np.bincount(
        pb.current[lk], weights=pb.movable[lk], minlength=pb.n_schools
    ).astype(np.int64)
    for s in np.flatnonzero(fixed > pb.seats).tolist():
        what = "locked pupils" if pb.fixed_load[s] == 0 else "pupils that must stay"
        out.append(
            f"{what} at {pb.school_ids[s]} ({int(fixed[s])}) exceed its {int(pb.seats[s])} "
            f"{level} seats by {int(fixed[s] - pb.seats[s])}"
        )
    # Groups of units linked by shared candidate schools, short of seats.
    n_u, n_s = pb.n_units, pb.n_schools
    label = components(n_u + n_s, pb.pair_unit, n_u + pb.pair_school)
    lu, ls = label[:n_u], label[n_u:]
    n_lab = int(label.max()) + 1 if label.size else 0
    demand = np.bincount(lu, weights=pb.movable, minlength=n_lab) + np.bincount(
        ls, weights=pb.fixed_load, minlength=n_lab
    )
    has_school = np.bincount(ls, weights=pb.usable, minlength=n_lab) > 0
    seats = np.bincount(ls, weights=np.where(pb.usable, pb.seats, 0), minlength=n_lab)
    for g in np.flatnonzero(has_school & (demand > seats)).tolist():
        schools = np.flatnonzero((ls == g) & pb.usable)
        around = schools[np.argmax(pb.seats[schools])]
        n_units = int(((lu == g) & (np.diff(pb.unit_ptr) > 0)).sum())
        out.append(
            f"seats short by {int(demand[g] - seats[g])} in the area around "
            f"{pb.school_ids[around]}: {n_units} units with {int(demand[g])} {level} pupils "
            f"can reach only {int(seats[g])} seats at {schools.size} school(s)"
        )
    empty = (np.diff(pb.unit_ptr) == 0) & (pb.pupils == 0) & ~_locked_bad(pb)
    if empty.any():
        out.append(
            f"{int(empty.sum())} unit(s) without {level} pupils have no allowed {level} school "
            "and stay unassigned"
        )
    return out
