"""Unit adjacency from polygons and points."""

from __future__ import annotations

import numpy as np
from shapely.geometry import box

from geo.adjacency import adjacency_from_points, adjacency_from_polygons, connect_isolated


def test_rook_contiguity_on_a_2x2_grid_ignores_corner_contact() -> None:
    # 0 1
    # 2 3   (ids by row); 0–3 and 1–2 touch only at a corner.
    geoms = np.array([box(0, 1, 1, 2), box(1, 1, 2, 2), box(0, 0, 1, 1), box(1, 0, 2, 1)])
    a, b = adjacency_from_polygons(geoms)
    assert list(zip(a.tolist(), b.tolist(), strict=True)) == [(0, 1), (0, 2), (1, 3), (2, 3)]


def test_delaunay_on_a_square_with_centre() -> None:
    xy = np.array([[0, 0], [2, 0], [0, 2], [2, 2], [1, 1]], dtype=float)
    a, b = adjacency_from_points(xy)
    edges = set(zip(a.tolist(), b.tolist(), strict=True))
    assert {(0, 4), (1, 4), (2, 4), (3, 4)} <= edges
    assert len(edges) == 8  # 4 hull edges + 4 spokes


def test_collinear_points_become_a_chain() -> None:
    xy = np.array([[0, 0], [2, 0], [1, 0]], dtype=float)
    a, b = adjacency_from_points(xy)
    assert list(zip(a.tolist(), b.tolist(), strict=True)) == [(0, 2), (1, 2)]


def test_an_island_is_joined_to_its_nearest_unit() -> None:
    xy = np.array([[0, 0], [1, 0], [10, 0]], dtype=float)
    a, b = connect_isolated(xy, np.array([0]), np.array([1]))
    assert list(zip(a.tolist(), b.tolist(), strict=True)) == [(0, 1), (1, 2)]
