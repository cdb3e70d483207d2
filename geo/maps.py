"""Static maps of catchment plans (matplotlib, Agg backend; no display needed).

The map is built from plain tables so that ``geo`` stays independent of the solvers: the caller
(``CatchmentPlan.write``) passes one :class:`MapPanel` per level.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib import patheffects  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from geo.dissolve import dissolve_catchments, unit_polygons  # noqa: E402

#: Qualitative palette for catchments (adjacent catchments get different colours by a greedy
#: colouring of the catchment adjacency graph, so 10 colours are plenty).
PALETTE: tuple[str, ...] = (
    "#8dd3c7", "#ffffb3", "#bebada", "#80b1d3", "#fdb462",
    "#b3de69", "#fccde5", "#d9d9d9", "#bc80bd", "#ccebc5",
)  # fmt: skip
OVER_COLOUR = "#d7191c"
OK_COLOUR = "#2b83ba"


@dataclass(frozen=True)
class MapPanel:
    """What one panel (one level) shows.

    Attributes
    ----------
    level : str
        ``"primary"`` or ``"junior"`` (panel title).
    school_ids : ndarray
        School id per unit (empty = unassigned).
    moved : ndarray
        Bool per unit: its school changed from today (drawn hatched).
    schools : pandas.DataFrame
        ``school_id, pupils, seats, utilisation`` of the schools serving the level.
    subtitle : str
        KPI line under the panel title.
    """

    level: str
    school_ids: np.ndarray
    moved: np.ndarray
    schools: pd.DataFrame
    subtitle: str = ""


def _colour_catchments(cat: gpd.GeoDataFrame) -> list[int]:
    """Greedy graph colouring so touching catchments differ (largest first, deterministic)."""
    n = len(cat)
    if n == 0:
        return []
    geoms = cat.geometry.to_numpy()
    import shapely

    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="intersects")
    nbrs: list[set[int]] = [set() for _ in range(n)]
    for i, j in zip(a, b, strict=True):
        if i != j:
            nbrs[i].add(int(j))
    order = sorted(range(n), key=lambda i: (-len(nbrs[i]), i))
    colour = [-1] * n
    for i in order:
        used = {colour[j] for j in nbrs[i]}
        c = 0
        while c in used:
            c += 1
        colour[i] = c
    return colour


def catchment_map(
    units: gpd.GeoDataFrame,
    schools: pd.DataFrame,
    panels: list[MapPanel],
    out: Path,
    title: str = "",
    dpi: int = 110,
) -> Path:
    """Draw catchments, schools and moved units, one panel per level, into a PNG.

    Parameters
    ----------
    units : geopandas.GeoDataFrame
        Planning units (polygons or points; points are drawn as Voronoi cells).
    schools : pandas.DataFrame
        All schools with ``school_id, x, y`` in the units' CRS.
    panels : list of MapPanel
        One per level.
    out : pathlib.Path
        PNG file to write.
    title : str
        Figure title (the plan's KPIs).
    dpi : int
        Resolution.

    Returns
    -------
    pathlib.Path
        ``out``.

    Raises
    ------
    ValueError
        When ``panels`` is empty.
    """
    if not panels:
        raise ValueError("catchment_map needs at least one panel")
    polys = gpd.GeoDataFrame(geometry=unit_polygons(units), crs=units.crs)
    n = len(panels)
    x0, y0, x1, y1 = polys.total_bounds
    aspect = (y1 - y0) / max(x1 - x0, 1e-9) if np.isfinite([x0, y0, x1, y1]).all() else 1.0
    height = float(np.clip(7.0 * aspect, 3.5, 10.0)) + 1.8  # title and legend
    fig, axes = plt.subplots(1, n, figsize=(7.0 * n, height), squeeze=False)
    xy = schools.set_index("school_id")[["x", "y"]]
    for ax, panel in zip(axes[0], panels, strict=True):
        cat = dissolve_catchments(units, panel.school_ids, panel.level)
        colours = _colour_catchments(cat)
        cmap = ListedColormap(list(PALETTE))
        if len(cat):
            cat.assign(c=[c % len(PALETTE) for c in colours]).plot(
                ax=ax, column="c", cmap=cmap, vmin=0, vmax=len(PALETTE) - 1,
                edgecolor="#404040", linewidth=1.2,
            )  # fmt: skip
        unassigned = np.asarray(panel.school_ids == "")
        if unassigned.any():
            polys[unassigned].plot(ax=ax, color="white", edgecolor="#999999", linewidth=0.3)
        moved = np.asarray(panel.moved, dtype=bool)
        if moved.any():
            polys[moved].plot(
                ax=ax, facecolor="none", edgecolor="#333333", hatch="///", linewidth=0.0
            )
        polys.boundary.plot(ax=ax, color="#ffffff", linewidth=0.15, alpha=0.6)
        sch = panel.schools.merge(xy, left_on="school_id", right_index=True, how="inner")
        # candidate sites and closed schools take no pupils here: grey, hollow, unlabelled
        if "status" in sch.columns:
            idle = (sch["status"].astype(str) != "open").to_numpy() & (
                sch["pupils"].to_numpy() == 0
            )
        else:
            idle = np.zeros(len(sch), dtype=bool)
        if idle.any():
            ax.scatter(
                sch.loc[idle, "x"], sch.loc[idle, "y"], s=40, facecolors="none",
                edgecolors="#666666", linewidths=1.0, marker="s", zorder=5,
            )  # fmt: skip
        sch = sch[~idle]
        util = sch["utilisation"].fillna(0.0).to_numpy(float)
        extra = sch["pupils"].to_numpy(float) - sch["seats"].to_numpy(float)
        over = extra > 0
        size = 30 + 170 * np.clip(util, 0, 1.6)
        ax.scatter(
            sch["x"], sch["y"], s=size, c=np.where(over, OVER_COLOUR, OK_COLOUR),
            edgecolors="black", linewidths=0.7, zorder=5,
        )  # fmt: skip
        # label the schools worth a look: over capacity (by how many pupils) or under half full
        notable = sch.assign(u=util, extra=extra)[over | (util < 0.5)]
        notable = notable.assign(
            key=np.where(notable["extra"] > 0, notable["extra"], -notable["u"])
        )
        for _, r in notable.sort_values("key", ascending=False).head(25).iterrows():
            text = (
                f"{r['school_id']} +{r['extra']:,.0f}"
                if r["extra"] > 0
                else f"{r['school_id']} {100 * r['u']:.0f}%"
            )
            ax.annotate(
                text, (r["x"], r["y"]), xytext=(5, 5),
                textcoords="offset points", fontsize=7, zorder=6,
                path_effects=[patheffects.withStroke(linewidth=2.5, foreground="white")],
            )  # fmt: skip
        ax.set_title(f"{panel.level}\n{panel.subtitle}", fontsize=10)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel("")
        ax.set_ylabel("")
    handles = [
        Line2D([], [], marker="o", ls="", mfc=OK_COLOUR, mec="black", ms=8,
               label="school within seats (size = utilisation)"),
        Line2D([], [], marker="o", ls="", mfc=OVER_COLOUR, mec="black", ms=10,
               label="over capacity (label: id +pupils over seats); under half full: id and use %"),
        Line2D([], [], marker="s", ls="", mfc="none", mec="#666666", ms=7,
               label="candidate site or closed school (takes no pupils)"),
        Patch(facecolor="white", edgecolor="#333333", hatch="///", label="unit changes school"),
        Patch(facecolor=PALETTE[0], edgecolor="#404040", label="catchment (one colour each)"),
    ]  # fmt: skip
    fig.legend(handles=handles, loc="lower center", ncol=2, fontsize=9, frameon=False)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout(rect=(0, 0.09, 1, 0.97))
    out = Path(out)
    fig.savefig(out, dpi=dpi, format="png")
    plt.close(fig)
    return out


__all__ = ["MapPanel", "catchment_map"]
