"""Adjacency between planning units, for contiguous catchments.

Order of preference: the district's ``adjacency.csv``; shared polygon boundaries (rook
contiguity: a shared edge, not a single corner point); a Delaunay graph for point units. Units
left without any neighbour (islands, enclaves) are joined to their nearest unit, so that a
contiguity rule can never strand them.
"""

from __future__ import annotations

import numpy as np
import shapely
from scipy.spatial import Delaunay, cKDTree

from planner.model import District


def _normalise(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Undirected, unique, sorted edges with a < b; self-loops dropped."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    keep = lo != hi
    lo, hi = lo[keep], hi[keep]
    if lo.size == 0:
        return lo, hi
    edges = np.unique(np.stack([lo, hi], axis=1), axis=0)
    return edges[:, 0].copy(), edges[:, 1].copy()


def adjacency_from_polygons(
    geoms: np.ndarray, min_shared_length: float = 1e-6
) -> tuple[np.ndarray, np.ndarray]:
    """Units sharing a boundary of at least ``min_shared_length`` (metres).

    Parameters
    ----------
    geoms : array of shapely geometries
        Polygons in a projected CRS.
    min_shared_length : float
        Shared boundary length below which two units are not neighbours (corner contact).
    """
    geoms = np.asarray(geoms, dtype=object)
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="intersects")
    keep = a < b
    a, b = a[keep], b[keep]
    if a.size:
        shared = shapely.intersection(shapely.boundary(geoms[a]), shapely.boundary(geoms[b]))
        length = shapely.length(shared)
        # Overlapping polygons (bad data that validation repaired) also count as neighbours.
        overlap = shapely.area(shapely.intersection(geoms[a], geoms[b])) > 0
        ok = (length >= min_shared_length) | overlap
        a, b = a[ok], b[ok]
    return _normalise(a, b)


def adjacency_from_points(xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Delaunay edges between points (a chain by nearest neighbours for < 3 or collinear points)."""
    xy = np.asarray(xy, dtype=float)
    n = len(xy)
    if n < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    try:
        if n < 3:
            raise ValueError("too few points")
        tri = Delaunay(xy)
        s = tri.simplices
        a = np.concatenate([s[:, 0], s[:, 1], s[:, 2]])
        b = np.concatenate([s[:, 1], s[:, 2], s[:, 0]])
    except Exception:  # collinear or degenerate: Qhull refuses, so link along the line
        order = np.lexsort((xy[:, 1], xy[:, 0]))
        a, b = order[:-1], order[1:]
    return _normalise(a, b)


def connect_isolated(xy: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Join each unit with no neighbour to its nearest other unit."""
    n = len(xy)
    deg = np.bincount(np.concatenate([a, b]), minlength=n) if a.size else np.zeros(n, np.int64)
    lonely = np.flatnonzero(deg == 0)
    if lonely.size == 0 or n < 2:
        return a, b
    _, idx = cKDTree(xy).query(xy[lonely], k=2)
    near = idx[:, 1]
    return _normalise(np.concatenate([a, lonely]), np.concatenate([b, near]))


def unit_adjacency(district: District) -> tuple[np.ndarray, np.ndarray]:
    """Undirected unit adjacency of a district as two int64 arrays of row positions (a < b).

    Uses ``district.adjacency`` when given (unknown ids are dropped: validation reports them),
    else shared polygon boundaries, else Delaunay on the unit points.
    """
    xy = district.unit_xy()
    if district.adjacency is not None:
        idx = district.unit_index()
        ua = district.adjacency["unit_a"].astype(str).map(idx)
        ub = district.adjacency["unit_b"].astype(str).map(idx)
        ok = ua.notna() & ub.notna()
        a, b = _normalise(ua[ok].to_numpy(np.int64), ub[ok].to_numpy(np.int64))
        return a, b
    geoms = np.asarray(district.units.geometry.values, dtype=object)
    polygonal = len(geoms) > 0 and bool(
        np.all(np.isin(shapely.get_type_id(geoms), [3, 6]))  # Polygon, MultiPolygon
    )
    a, b = adjacency_from_polygons(geoms) if polygonal else adjacency_from_points(xy)
    return connect_isolated(xy, a, b)
