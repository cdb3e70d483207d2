"""Distances and sparse candidate pairs between planning units and schools.

Solvers must not build units × schools matrices at county or city scale: a unit's school is
almost always among its few nearest, so we keep the ``k`` nearest serving schools per unit (plus
pairs that must exist, such as today's school) and let the models work on that sparse set.
Costs are straight-line metres in the district's projected CRS unless a travel table is given.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from planner.model import District
from planner.policy import Level


@dataclass(frozen=True)
class Pairs:
    """Sparse unit–school pairs, sorted by unit then cost (then school, for determinism).

    Attributes
    ----------
    unit, school : numpy.ndarray
        int64 row positions in ``district.units`` and ``district.schools``.
    cost : numpy.ndarray
        float64 cost of the pair (metres, or the travel table's unit).
    """

    unit: np.ndarray
    school: np.ndarray
    cost: np.ndarray

    def __len__(self) -> int:
        return int(self.unit.size)

    def offsets(self, n_units: int) -> np.ndarray:
        """CSR offsets: the pairs of unit ``u`` are ``offsets[u]:offsets[u+1]``."""
        counts = np.bincount(self.unit, minlength=n_units)
        return np.concatenate(([0], np.cumsum(counts))).astype(np.int64)

    def per_unit_count(self, n_units: int) -> np.ndarray:
        """Number of candidate schools of each unit."""
        return np.bincount(self.unit, minlength=n_units)


def _sorted_pairs(unit: np.ndarray, school: np.ndarray, cost: np.ndarray) -> Pairs:
    """Drop duplicate (unit, school) pairs and sort by unit, cost, school."""
    unit = np.asarray(unit, dtype=np.int64)
    school = np.asarray(school, dtype=np.int64)
    cost = np.asarray(cost, dtype=np.float64)
    order = np.lexsort((school, cost, unit))
    unit, school, cost = unit[order], school[order], cost[order]
    if unit.size:
        key = unit * (int(school.max()) + 1) + school
        _, first = np.unique(key, return_index=True)
        keep = np.sort(first)
        unit, school, cost = unit[keep], school[keep], cost[keep]
    return Pairs(unit, school, cost)


def straight_line(a_xy: np.ndarray, b_xy: np.ndarray) -> np.ndarray:
    """Dense Euclidean distance matrix (len(a), len(b)); for small problems and tests only."""
    a = np.asarray(a_xy, dtype=float)
    b = np.asarray(b_xy, dtype=float)
    return np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=2))


def pair_distance(
    unit_xy: np.ndarray, school_xy: np.ndarray, unit: np.ndarray, school: np.ndarray
) -> np.ndarray:
    """Euclidean distance of given (unit, school) pairs."""
    d = np.asarray(unit_xy, dtype=float)[unit] - np.asarray(school_xy, dtype=float)[school]
    return np.sqrt((d * d).sum(axis=1))


def candidate_pairs(
    unit_xy: np.ndarray,
    school_xy: np.ndarray,
    *,
    k: int,
    max_dist: float | None = None,
    school_mask: np.ndarray | None = None,
    must_include: tuple[np.ndarray, np.ndarray] | None = None,
) -> Pairs:
    """The ``k`` nearest allowed schools of every unit, by straight-line distance.

    Parameters
    ----------
    unit_xy, school_xy : numpy.ndarray
        (n, 2) coordinates in metres.
    k : int
        Schools kept per unit (fewer if fewer are allowed).
    max_dist : float, optional
        Drop pairs farther than this (metres); ``must_include`` pairs are kept regardless.
    school_mask : numpy.ndarray, optional
        Boolean mask of schools that may be chosen at all (e.g. open and serving the level).
    must_include : (units, schools), optional
        Pairs always present, such as each unit's current school or a locked assignment.

    Returns
    -------
    Pairs
        Sorted by unit, then distance, then school.

    Raises
    ------
    ValueError
        If ``k`` < 1.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    unit_xy = np.asarray(unit_xy, dtype=float)
    school_xy = np.asarray(school_xy, dtype=float)
    allowed = np.arange(len(school_xy)) if school_mask is None else np.flatnonzero(school_mask)
    units_l: list[np.ndarray] = []
    schools_l: list[np.ndarray] = []
    costs_l: list[np.ndarray] = []
    if allowed.size and len(unit_xy):
        kk = min(k, allowed.size)
        tree = cKDTree(school_xy[allowed])
        dist, idx = tree.query(unit_xy, k=kk)
        dist = np.asarray(dist, dtype=float).reshape(len(unit_xy), kk)
        idx = np.asarray(idx).reshape(len(unit_xy), kk)
        u = np.repeat(np.arange(len(unit_xy)), kk)
        s = allowed[idx.ravel()]
        c = dist.ravel()
        if max_dist is not None:
            keep = c <= max_dist
            u, s, c = u[keep], s[keep], c[keep]
        units_l.append(u)
        schools_l.append(s)
        costs_l.append(c)
    if must_include is not None:
        mu, ms = (np.asarray(a, dtype=np.int64) for a in must_include)
        ok = (mu >= 0) & (ms >= 0)
        mu, ms = mu[ok], ms[ok]
        units_l.append(mu)
        schools_l.append(ms)
        costs_l.append(pair_distance(unit_xy, school_xy, mu, ms))
    if not units_l:
        empty = np.zeros(0, dtype=np.int64)
        return Pairs(empty, empty.copy(), np.zeros(0))
    return _sorted_pairs(
        np.concatenate(units_l), np.concatenate(schools_l), np.concatenate(costs_l)
    )


def travel_pairs(district: District, level: Level | None = None) -> Pairs:
    """Pairs listed in the district's travel table (only they are allowed when it exists).

    Rows naming unknown ids, or (with ``level``) schools that do not teach it, are dropped:
    validation reports unknown ids before any solve.

    Raises
    ------
    ValueError
        If the district has no travel table.
    """
    if district.travel is None:
        raise ValueError(f"district {district.name!r} has no travel table")
    uidx = district.unit_index()
    sidx = district.school_index()
    t = district.travel
    u = t["unit_id"].astype(str).map(uidx)
    s = t["school_id"].astype(str).map(sidx)
    ok = u.notna() & s.notna()
    uu = u[ok].to_numpy(dtype=np.int64)
    ss = s[ok].to_numpy(dtype=np.int64)
    cc = t.loc[ok, "cost"].to_numpy(dtype=float)
    if level is not None:
        serve = district.serves(level)[ss]
        uu, ss, cc = uu[serve], ss[serve], cc[serve]
    return _sorted_pairs(uu, ss, cc)


def district_pairs(
    district: District,
    level: Level,
    *,
    k: int,
    max_dist: float | None = None,
    school_mask: np.ndarray | None = None,
    must_include: tuple[np.ndarray, np.ndarray] | None = None,
) -> Pairs:
    """Candidate pairs of a district for one level: the travel table if any, else k nearest.

    ``school_mask`` defaults to the schools teaching ``level``. With a travel table, every
    listed pair to an allowed school is kept (``k`` does not apply) and ``max_dist`` filters
    by the table's cost.
    """
    mask = district.serves(level) if school_mask is None else (school_mask & district.serves(level))
    if district.travel is not None:
        p = travel_pairs(district, level)
        keep = mask[p.school]
        if max_dist is not None:
            keep &= p.cost <= max_dist
        return Pairs(p.unit[keep], p.school[keep], p.cost[keep])
    return candidate_pairs(
        district.unit_xy(),
        district.school_xy(),
        k=k,
        max_dist=max_dist,
        school_mask=mask,
        must_include=must_include,
    )


def pair_cost(district: District, unit: np.ndarray, school: np.ndarray) -> np.ndarray:
    """Cost of arbitrary pairs: the travel table's cost (nan where not listed), else metres."""
    unit = np.asarray(unit, dtype=np.int64)
    school = np.asarray(school, dtype=np.int64)
    if district.travel is None:
        return pair_distance(district.unit_xy(), district.school_xy(), unit, school)
    p = travel_pairs(district)
    n_s = len(district.schools)
    table = dict(zip((p.unit * n_s + p.school).tolist(), p.cost.tolist(), strict=True))
    keys = (unit * n_s + school).tolist()
    return np.array([table.get(key, np.nan) for key in keys], dtype=float)
