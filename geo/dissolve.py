"""Dissolve planning units into one polygon per catchment.

Units given as polygons are unioned per school. Units given only as points (a CSV district) are
first turned into Voronoi cells clipped to the convex hull of all points buffered by half the
median nearest-neighbour spacing, so that a catchment still draws as an area.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry


def unit_polygons(units: gpd.GeoDataFrame) -> gpd.GeoSeries:
    """Area geometry per unit: the unit's own polygon, or its Voronoi cell for point units.

    Parameters
    ----------
    units : geopandas.GeoDataFrame
        Planning units with a ``geometry`` column (polygons, points or a mix) or ``x``/``y``.

    Returns
    -------
    geopandas.GeoSeries
        One polygonal geometry per unit, same index and CRS as ``units``.
    """
    crs = units.crs
    if "geometry" in units and units.geometry.notna().all():
        geom = units.geometry.to_numpy()
    else:
        geom = shapely.points(units["x"].to_numpy(float), units["y"].to_numpy(float))
    kinds = shapely.get_type_id(geom)
    areal = np.isin(kinds, (3, 6))  # Polygon, MultiPolygon
    if areal.all():
        return gpd.GeoSeries(geom, index=units.index, crs=crs)
    pts = shapely.centroid(geom)
    cells = _voronoi_cells(pts)
    out = np.where(areal, geom, cells)
    return gpd.GeoSeries(out, index=units.index, crs=crs)


def _voronoi_cells(pts: np.ndarray) -> np.ndarray:
    """Voronoi cell per point (duplicates share a cell), clipped to a buffered hull."""
    xy = shapely.get_coordinates(pts)
    if len(xy) == 1:
        return np.array([shapely.buffer(pts[0], 500.0)], dtype=object)
    from scipy.spatial import cKDTree

    d, _ = cKDTree(xy).query(xy, k=2)
    pos = d[:, 1][d[:, 1] > 0]
    spacing = float(np.median(pos)) if len(pos) else 1.0
    hull = shapely.buffer(shapely.convex_hull(shapely.multipoints(xy)), spacing / 2)
    regions = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(xy), extend_to=hull))
    tree = shapely.STRtree(regions)
    pi, ri = tree.query(pts, predicate="intersects")
    cell_of = np.full(len(pts), -1)
    cell_of[pi[::-1]] = ri[::-1]  # first matching region per point
    cells = np.array([shapely.intersection(regions[i], hull) for i in cell_of], dtype=object)
    return cells


def dissolve_catchments(
    units: gpd.GeoDataFrame, school_ids: np.ndarray, level: str
) -> gpd.GeoDataFrame:
    """One (multi)polygon per catchment of ``level``.

    Parameters
    ----------
    units : geopandas.GeoDataFrame
        Planning units (``pupils_<level>`` column used when present).
    school_ids : array of str
        School id per unit, aligned with ``units`` rows; empty string = unassigned (left out).
    level : str
        ``"primary"`` or ``"junior"``; written in the ``level`` column.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``school_id, level, pupils, units, geometry``, sorted by ``school_id``, in the
        CRS of ``units``.

    Raises
    ------
    ValueError
        When ``school_ids`` does not have one entry per unit.
    """
    school_ids = np.asarray(school_ids, dtype=object)
    if len(school_ids) != len(units):
        raise ValueError(f"school_ids has {len(school_ids)} entries for {len(units)} units")
    polys = unit_polygons(units).to_numpy()
    col = f"pupils_{level}"
    pupils = units[col].to_numpy(np.int64) if col in units else np.zeros(len(units), np.int64)
    df = pd.DataFrame({"school_id": school_ids, "pupils": pupils, "i": np.arange(len(units))})
    df = df[df["school_id"] != ""]
    rows: list[dict[str, object]] = []
    geoms: list[BaseGeometry] = []
    for sid, grp in df.groupby("school_id", sort=True):
        rows.append(
            {
                "school_id": str(sid),
                "level": level,
                "pupils": int(grp["pupils"].sum()),
                "units": len(grp),
            }
        )
        # make_valid repairs self-touching rings a union of neighbours can produce
        geoms.append(shapely.make_valid(shapely.union_all(polys[grp["i"].to_numpy()])))
    frame = pd.DataFrame(rows, columns=["school_id", "level", "pupils", "units"])
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=units.crs), crs=units.crs)


def to_wgs84(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Reproject to WGS84 lon/lat (RFC 7946 GeoJSON); a frame without CRS is returned as is."""
    if gdf.crs is None:
        return gdf
    return gdf.to_crs("EPSG:4326")


__all__ = ["dissolve_catchments", "to_wgs84", "unit_polygons"]
