"""Facility-location benchmark instances as plain arrays, one loader per public format.

Every loader returns a :class:`FacilityInstance`: ``cost[i, j]`` is the cost of serving customer
``j`` (all of its demand) from facility ``i``, exactly as the published objective counts it, so
that ``Σ fixed_cost[open] + Σ_j cost[assign[j], j]`` is the published objective value. Formats
and their traps (duplicate edges, floored distances, trailing dots) are documented in each set's
``PROVENANCE.md`` under ``../shared/benchmarks``.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import shortest_path

PLimit = Literal["exactly", "at_most"]


@dataclass(frozen=True)
class FacilityInstance:
    """A facility-location instance: facilities × customers, as published.

    Attributes
    ----------
    name : str
        Instance name as in ``optima.csv`` (``pmed1``, ``capa_8000``).
    kind : str
        ``pmedian`` | ``cpmp`` | ``sscflp`` | ``cflp`` | ``gap``.
    cost : numpy.ndarray
        (n_facilities, n_customers) float64 cost of serving customer j entirely from facility i.
    demand : numpy.ndarray
        (n_customers,) float64 demand (1 for the uncapacitated p-median).
    capacity : numpy.ndarray
        (n_facilities,) float64; ``inf`` when uncapacitated.
    fixed_cost : numpy.ndarray
        (n_facilities,) float64 cost of opening; zeros for p-median sets.
    p : int or None
        Number of facilities to open, if the problem fixes it.
    p_limit : {"exactly", "at_most"}
        How ``p`` applies.
    xy : numpy.ndarray or None
        (n, 2) coordinates when customers and facilities are the same points (p-median sets).
    usage : numpy.ndarray or None
        (n_facilities, n_customers) capacity used by customer j at facility i, when it depends on
        the facility (GAP); ``None`` means ``demand[j]`` everywhere.
    all_open : bool
        Every facility is open and free (GAP): only the assignment is chosen.
    """

    name: str
    kind: str
    cost: np.ndarray
    demand: np.ndarray
    capacity: np.ndarray
    fixed_cost: np.ndarray
    p: int | None = None
    p_limit: PLimit = "exactly"
    xy: np.ndarray | None = None
    usage: np.ndarray | None = None
    all_open: bool = False

    @property
    def n_facilities(self) -> int:
        """Number of candidate facilities."""
        return int(self.cost.shape[0])

    @property
    def n_customers(self) -> int:
        """Number of customers."""
        return int(self.cost.shape[1])

    @property
    def size(self) -> str:
        """Short size label for tables: ``n×m`` or ``n, p=P``."""
        if self.p is not None:
            return f"{self.n_customers}, p={self.p}"
        return f"{self.n_facilities}×{self.n_customers}"

    def objective(self, open_: np.ndarray, assign: np.ndarray) -> float:
        """The published objective of a solution: fixed costs of open facilities + assignment."""
        open_ = np.asarray(open_, dtype=bool)
        assign = np.asarray(assign, dtype=np.int64)
        return float(
            self.fixed_cost[open_].sum() + self.cost[assign, np.arange(self.n_customers)].sum()
        )


@dataclass(frozen=True)
class Optimum:
    """One row of a set's ``optima.csv``."""

    instance: str
    optimal_value: float
    status: str
    source: str


def _numbers(path: Path) -> np.ndarray:
    """All numbers of a text file (tolerating trailing dots, CRLF and NUL padding)."""
    text = path.read_bytes().split(b"\x00", 1)[0].decode("ascii", errors="replace")
    return np.array([float(t) for t in re.findall(r"-?\d+\.?\d*(?:[eE][-+]?\d+)?", text)])


def orlib_pmed(path: Path | str) -> FacilityInstance:
    """OR-Library uncapacitated p-median (``pmed1.txt`` … ``pmed40.txt``).

    The cost is the shortest-path length in the given graph; when an edge is listed twice the
    **last** occurrence wins (OR-Library's rule, which reproduces the published optima).

    Raises
    ------
    ValueError
        If the file does not hold ``3 + 3m`` numbers.
    """
    path = Path(path)
    nums = _numbers(path).astype(np.int64)
    n, m, p = (int(v) for v in nums[:3])
    if nums.size != 3 + 3 * m:
        raise ValueError(f"{path.name}: expected {3 + 3 * m} numbers, found {nums.size}")
    e = nums[3:].reshape(m, 3)
    i, j, c = e[:, 0] - 1, e[:, 1] - 1, e[:, 2].astype(float)
    a, b = np.minimum(i, j), np.maximum(i, j)
    # Last occurrence wins: keep the last row per unordered pair.
    key = a * n + b
    _, last_rev = np.unique(key[::-1], return_index=True)
    keep = m - 1 - last_rev
    a, b, c = a[keep], b[keep], c[keep]
    g = coo_matrix((c, (a, b)), shape=(n, n)).tocsr()
    dist = shortest_path(g, method="D", directed=False)
    if not np.isfinite(dist).all():
        raise ValueError(f"{path.name}: graph is not connected")
    return FacilityInstance(
        name=path.stem,
        kind="pmedian",
        cost=dist,
        demand=np.ones(n),
        capacity=np.full(n, np.inf),
        fixed_cost=np.zeros(n),
        p=p,
    )


def _pairwise(xy: np.ndarray) -> np.ndarray:
    diff = xy[:, None, :] - xy[None, :, :]
    return np.sqrt((diff**2).sum(axis=2))


def cpmp_osman_christofides(path: Path | str) -> FacilityInstance:
    """Osman–Christofides capacitated p-median (``pmedcap01.txt`` …).

    Distances are ``floor(Euclidean)``; the objective is the unweighted sum of distances.
    """
    path = Path(path)
    nums = _numbers(path)
    n, p, q = int(nums[2]), int(nums[3]), float(nums[4])
    rows = nums[5 : 5 + 4 * n].reshape(n, 4)
    xy = rows[:, 1:3]
    return FacilityInstance(
        name=path.stem,
        kind="cpmp",
        cost=np.floor(_pairwise(xy) + 1e-9),
        demand=rows[:, 3].copy(),
        capacity=np.full(n, q),
        fixed_cost=np.zeros(n),
        p=p,
        xy=xy,
    )


def cpmp_stefanello(path: Path | str) -> FacilityInstance:
    """Stefanello et al. / Lorena–Senne capacitated p-median (real Euclidean, unweighted).

    Memory: the dense cost matrix is n² float64 (fnl4461: 159 MB).
    """
    path = Path(path)
    nums = _numbers(path)
    n, p = int(nums[0]), int(nums[1])
    rows = nums[2 : 2 + 4 * n].reshape(n, 4)
    xy = rows[:, 0:2]
    return FacilityInstance(
        name=path.stem,
        kind="cpmp",
        cost=_pairwise(xy),
        demand=rows[:, 3].copy(),
        capacity=rows[:, 2].copy(),
        fixed_cost=np.zeros(n),
        p=p,
        xy=xy,
    )


def sscflp_holmberg(path: Path | str) -> FacilityInstance:
    """Holmberg–Rönnqvist–Yuan single-source CFLP (``p1`` … ``p71``; facility-major costs).

    Raises
    ------
    ValueError
        If the file does not hold ``2 + 2m + n + m·n`` numbers.
    """
    path = Path(path)
    nums = _numbers(path)
    m, n = int(nums[0]), int(nums[1])
    want = 2 + 2 * m + n + m * n
    if nums.size != want:
        raise ValueError(f"{path.name}: expected {want} numbers, found {nums.size}")
    fac = nums[2 : 2 + 2 * m].reshape(m, 2)
    demand = nums[2 + 2 * m : 2 + 2 * m + n]
    cost = nums[2 + 2 * m + n :].reshape(m, n)
    return FacilityInstance(
        name=path.name,
        kind="sscflp",
        cost=cost,
        demand=demand.copy(),
        capacity=fac[:, 0].copy(),
        fixed_cost=fac[:, 1].copy(),
    )


#: Capacities substituted for the word ``capacity`` in capa/capb/capc (PROVENANCE.md).
CAP_ABC_CAPACITIES: dict[str, tuple[int, ...]] = {
    "capa": (8000, 10000, 12000, 14000),
    "capb": (5000, 6000, 7000, 8000),
    "capc": (5000, 5750, 6500, 7250),
}


def cflp_orlib_cap(path: Path | str, capacity: float | None = None) -> FacilityInstance:
    """OR-Library capacitated warehouse location (``cap41`` … ``cap134``, ``capa/b/c``).

    Costs are per customer's whole demand. For capa/b/c pass the substituted ``capacity``
    (named ``capa_8000`` etc. in the optima tables). Use ``optima_single_source.csv`` for the
    single-source optima this model solves.

    Raises
    ------
    ValueError
        If a capa/b/c file is read without ``capacity``.
    """
    path = Path(path)
    text = path.read_text()
    name = path.stem
    if "capacity" in text:
        if capacity is None:
            raise ValueError(f"{path.name}: pass capacity= (one of {CAP_ABC_CAPACITIES[name]})")
        text = text.replace("capacity", str(capacity))
        name = f"{name}_{int(capacity)}"
    nums = np.array([float(t) for t in re.findall(r"-?\d+\.?\d*(?:[eE][-+]?\d+)?", text)])
    m, n = int(nums[0]), int(nums[1])
    fac = nums[2 : 2 + 2 * m].reshape(m, 2)
    cust = nums[2 + 2 * m : 2 + 2 * m + n * (m + 1)].reshape(n, m + 1)
    return FacilityInstance(
        name=name,
        kind="cflp",
        cost=cust[:, 1:].T.copy(),
        demand=cust[:, 0].copy(),
        capacity=fac[:, 0].copy(),
        fixed_cost=fac[:, 1].copy(),
    )


def gap_orlib_yagiura(path: Path | str) -> FacilityInstance:
    """Generalised assignment (OR-Library / Yagiura): agents = open facilities, jobs = customers.

    Raises
    ------
    ValueError
        If the file does not hold ``2 + 2mn + m`` numbers.
    """
    path = Path(path)
    nums = _numbers(path)
    m, n = int(nums[0]), int(nums[1])
    if nums.size != 2 + 2 * m * n + m:
        raise ValueError(f"{path.name}: expected {2 + 2 * m * n + m} numbers, found {nums.size}")
    cost = nums[2 : 2 + m * n].reshape(m, n)
    usage = nums[2 + m * n : 2 + 2 * m * n].reshape(m, n)
    return FacilityInstance(
        name=path.name,
        kind="gap",
        cost=cost,
        demand=np.ones(n),
        capacity=nums[2 + 2 * m * n :].copy(),
        fixed_cost=np.zeros(m),
        usage=usage,
        all_open=True,
    )


#: Benchmark sets: folder name → (loader, optima table file).
BENCHMARK_SETS: dict[str, str] = {
    "orlib_pmed": "optima.csv",
    "cpmp_osman_christofides": "optima.csv",
    "cpmp_stefanello": "optima.csv",
    "sscflp_holmberg": "optima.csv",
    "cflp_orlib_cap": "optima_single_source.csv",
    "gap_orlib_yagiura": "optima.csv",
}


def read_optima(path: Path | str) -> dict[str, Optimum]:
    """Read an optima table (``instance,optimal_value,status,source``), or a set folder's."""
    path = Path(path)
    if path.is_dir():
        path = path / BENCHMARK_SETS.get(path.name, "optima.csv")
    with path.open(newline="") as fh:
        return {
            r["instance"]: Optimum(
                r["instance"], float(r["optimal_value"]), r["status"], r.get("source", "")
            )
            for r in csv.DictReader(fh)
        }


def instance_paths(set_dir: Path | str) -> list[str]:
    """Instance names of a set, in the order of its optima table."""
    return list(read_optima(set_dir))


def load_instance(set_dir: Path | str, name: str) -> FacilityInstance:
    """Load instance ``name`` of the set in ``set_dir`` (folder name selects the format).

    Raises
    ------
    ValueError
        For an unknown set folder.
    """
    set_dir = Path(set_dir)
    kind = set_dir.name
    if kind == "orlib_pmed":
        return orlib_pmed(set_dir / f"{name}.txt")
    if kind == "cpmp_osman_christofides":
        return cpmp_osman_christofides(set_dir / f"{name}.txt")
    if kind == "cpmp_stefanello":
        return cpmp_stefanello(set_dir / f"{name}.txt")
    if kind == "sscflp_holmberg":
        return sscflp_holmberg(set_dir / name)
    if kind == "cflp_orlib_cap":
        base, _, cap = name.partition("_")
        return cflp_orlib_cap(set_dir / f"{base}.txt", float(cap) if cap else None)
    if kind == "gap_orlib_yagiura":
        return gap_orlib_yagiura(set_dir / name)
    raise ValueError(f"unknown benchmark set {kind!r}; known: {', '.join(BENCHMARK_SETS)}")


def iter_instances(set_dir: Path | str) -> Iterator[FacilityInstance]:
    """All instances of a set, in optima-table order."""
    for name in instance_paths(set_dir):
        yield load_instance(set_dir, name)
