"""Dissolving units into catchments: one polygon per school, pupils summed, points handled."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from geo.dissolve import dissolve_catchments, to_wgs84, unit_polygons
from tests.solvers.test_catchment_plan import tiny_district


def test_one_polygon_per_school_with_pupils() -> None:
    units = tiny_district().units
    ids = np.array(["A", "A", "B", "A", "B", "B"], dtype=object)
    cat = dissolve_catchments(units, ids, "primary")
    assert list(cat["school_id"]) == ["A", "B"]
    assert list(cat["pupils"]) == [60 + 30 + 36, 24 + 48 + 72]
    assert list(cat["units"]) == [3, 3]
    assert list(cat["level"]) == ["primary", "primary"]
    assert all(g.geom_type == "Polygon" for g in cat.geometry)  # connected → one ring each
    assert cat.geometry.area.tolist() == pytest.approx([3e6, 3e6])
    assert cat.crs == units.crs


def test_unassigned_units_are_left_out_and_disconnected_is_multi() -> None:
    units = tiny_district().units
    ids = np.array(["A", "", "A", "B", "B", "B"], dtype=object)  # A = U1 + U3, apart
    cat = dissolve_catchments(units, ids, "primary").set_index("school_id")
    assert cat.at["A", "geometry"].geom_type == "MultiPolygon"
    assert cat.at["A", "pupils"] == 84
    assert cat["units"].sum() == 5


def test_point_units_become_voronoi_cells() -> None:
    units = tiny_district().units
    pts = gpd.GeoDataFrame(
        units.drop(columns="geometry"), geometry=gpd.points_from_xy(units.x, units.y), crs=units.crs
    )
    polys = unit_polygons(pts)
    assert (polys.geom_type == "Polygon").all()
    # each cell holds its own point and no other
    for i, g in enumerate(polys):
        inside = [shapely.contains(g, p) for p in pts.geometry]
        assert inside == [j == i for j in range(len(pts))]
    cat = dissolve_catchments(
        pts, np.array(["A", "A", "B", "A", "B", "B"], dtype=object), "primary"
    )
    assert len(cat) == 2 and cat.geometry.is_valid.all()


def test_wrong_length_refused_and_wgs84() -> None:
    units = tiny_district().units
    with pytest.raises(ValueError, match="5 entries for 6 units"):
        dissolve_catchments(units, np.array(["A"] * 5, dtype=object), "primary")
    cat = to_wgs84(dissolve_catchments(units, np.array(["A"] * 6, dtype=object), "primary"))
    assert cat.crs.to_epsg() == 4326
    x0, y0, x1, y1 = cat.total_bounds
    assert 116 < x0 < x1 < 118 and 30 < y0 < y1 < 31
