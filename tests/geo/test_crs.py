"""CRS helpers: UTM zone choice, degree detection, projected-metres check, area of use."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from geo.crs import (
    check_projected_metres,
    from_lonlat,
    is_geographic,
    looks_like_lonlat,
    outside_area_of_use,
    to_lonlat,
    utm_crs_for,
)


@pytest.mark.parametrize(
    ("lon", "lat", "crs"),
    [
        (116.4, 39.9, "EPSG:32650"),  # Beijing
        (104.1, 30.7, "EPSG:32648"),  # Chengdu
        (-70.6, -33.4, "EPSG:32719"),  # Santiago
        (-180.0, 0.0, "EPSG:32601"),
        (180.0, 10.0, "EPSG:32660"),
        (0.0, -0.1, "EPSG:32731"),
    ],
)
def test_utm_crs_for(lon: float, lat: float, crs: str) -> None:
    assert utm_crs_for(lon, lat) == crs


def test_utm_crs_for_rejects_non_lonlat() -> None:
    with pytest.raises(ValueError, match=r"not a lon/lat point: \(440000.0, 4420000.0\)"):
        utm_crs_for(440000.0, 4420000.0)


@given(st.floats(-179.9, 179.9), st.floats(-79.9, 83.9))
def test_utm_zone_contains_the_point(lon: float, lat: float) -> None:
    crs = utm_crs_for(lon, lat)
    x, y = from_lonlat(crs, np.array([lon]), np.array([lat]))
    # A point in its own zone lies within 3° of the central meridian: easting 160–840 km.
    assert 160_000 < x[0] < 840_000
    assert not outside_area_of_use(crs, x, y, margin_deg=0.01)[0]


def test_is_geographic() -> None:
    assert is_geographic("EPSG:4326")
    assert not is_geographic("EPSG:32650")


def test_looks_like_lonlat() -> None:
    assert looks_like_lonlat(np.array([116.4, 116.5]), np.array([39.9, 40.0]))
    assert not looks_like_lonlat(np.array([440000.0]), np.array([4420000.0]))
    assert not looks_like_lonlat(np.array([116.4, 440000.0]), np.array([39.9, 4420000.0]))
    assert not looks_like_lonlat(np.array([0.0]), np.array([0.0]))
    assert not looks_like_lonlat(np.array([np.nan]), np.array([np.nan]))


@pytest.mark.parametrize(
    ("crs", "message"),
    [
        ("EPSG:4326", "EPSG:4326 is geographic (degrees); a projected CRS in metres is needed"),
        ("EPSG:2263", "EPSG:2263 has axis units ['us survey foot']; metres are needed"),
        ("EPSG:4978", "EPSG:4978 is not a projected CRS; a projected CRS in metres is needed"),
        ("EPSG:999999", "unknown CRS 'EPSG:999999'"),
    ],
)
def test_check_projected_metres_rejects(crs: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        check_projected_metres(crs)
    assert str(info.value) == message


def test_check_projected_metres_accepts_utm_and_cgcs2000() -> None:
    check_projected_metres("EPSG:32650")
    check_projected_metres("EPSG:4547")  # CGCS2000 / 3-degree Gauss-Kruger CM 114E


def test_round_trip_and_area_of_use() -> None:
    x, y = from_lonlat("EPSG:32650", np.array([116.4]), np.array([39.9]))
    lon, lat = to_lonlat("EPSG:32650", x, y)
    assert lon[0] == pytest.approx(116.4) and lat[0] == pytest.approx(39.9)
    # Zone 50 is 114°E–120°E; a point at 100°E (Tibet) is far outside even with the margin.
    fx, fy = from_lonlat("EPSG:32650", np.array([100.0]), np.array([30.0]))
    mask = outside_area_of_use("EPSG:32650", np.r_[x, fx], np.r_[y, fy])
    assert mask.tolist() == [False, True]
