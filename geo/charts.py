"""Charts that are not maps: per-school forecast charts (pupils versus seats over the years)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from planner.forecast import Forecast
    from planner.model import District


def forecast_charts(district: District, fc: Forecast, out: Path) -> list[Path]:
    """One PNG per school and level: forecast pupils (mid, with the low–high band) against seats.

    Files are ``out/<school_id>_<level>.png``; schools of a level that have no pupils in the
    forecast get no chart.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from planner.forecast import ALL_GRADES, history_cube, school_forecast
    from planner.policy import GRADES, LEVELS

    out.mkdir(parents=True, exist_ok=True)
    per_variant = {
        v: school_forecast(district, fc, v).groupby(["school_pos", "level", "year"])["pupils"].sum()
        for v in ("low", "mid", "high")
    }
    written: list[Path] = []
    # the base year's actual pupils per school and level, so the first forecast step is visible
    cube, _ = history_cube(district)
    base: dict[tuple[int, str], float] = {}
    for level in LEVELS:
        cols = [ALL_GRADES.index(g) for g in GRADES[level]]
        per_unit = cube[:, -1, cols].sum(axis=1)
        cur = district.current(level)
        ok = cur >= 0
        tot = np.bincount(cur[ok], weights=per_unit[ok], minlength=len(district.schools))
        for s_pos in np.flatnonzero(tot > 0):
            base[(int(s_pos), level)] = float(tot[s_pos])
    ids = district.schools["school_id"].astype(str).tolist()
    names = district.schools["name"].astype(str).tolist()
    # One figure reused for every school: creating a figure costs more than drawing on it.
    fig, ax = plt.subplots(figsize=(5, 3), dpi=90)
    for level in LEVELS:
        seats = district.seats(level)
        mid = per_variant["mid"]
        schools = sorted({int(s) for s, lv, _ in mid.index if lv == level})
        for s in schools:
            years = sorted(y for (ss, lv, y) in mid.index if ss == s and lv == level)
            m = np.array([mid[(s, level, y)] for y in years])
            lo = np.array([per_variant["low"].get((s, level, y), np.nan) for y in years])
            hi = np.array([per_variant["high"].get((s, level, y), np.nan) for y in years])
            ax.clear()
            if (s, level) in base:  # join the base year's actual to the forecast
                b = base[(s, level)]
                years = [fc.base_year, *years]
                m, lo, hi = (np.concatenate([[b], a]) for a in (m, lo, hi))
                ax.plot(
                    [fc.base_year],
                    [b],
                    color="black",
                    marker="s",
                    ls="",
                    label=f"{fc.base_year} actual",
                )
            ax.fill_between(years, lo, hi, color="tab:blue", alpha=0.2, label="low–high")
            ax.plot(years, m, color="tab:blue", marker="o", label="forecast (mid)")
            ax.axhline(seats[s], color="tab:red", ls="--", label=f"seats {seats[s]}")
            ax.set_xticks(years)
            ax.set_xticklabels([str(y) for y in years])
            ax.set_ylim(bottom=0, top=max(float(np.nanmax(hi)), float(seats[s])) * 1.15)
            over = m > seats[s]
            if over.any():
                ax.fill_between(
                    years, seats[s], m, where=over, color="tab:red", alpha=0.15, label="shortfall"
                )
            ax.set_title(f"{ids[s]} {names[s]} — {level}", fontsize=9)
            ax.set_xlabel("year")
            ax.set_ylabel("pupils")
            ax.legend(fontsize=7, loc="best")
            fig.tight_layout()
            p = out / f"{ids[s]}_{level}.png"
            fig.savefig(p)
            written.append(p)
    plt.close(fig)
    return written
