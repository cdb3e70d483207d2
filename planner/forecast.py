"""Enrolment forecasting by grade progression (cohort survival), births and new housing.

Method (学位预警, five years ahead)
----------------------------------
For unit u, grade g ≥ 2 and year y, the grade-progression ratio is
``r[u, g] = pupils[u, g, y] / pupils[u, g-1, y-1]`` (grade 7 follows grade 6: the primary to
junior transition is a progression like any other). Grade-1 entrants follow births six years
earlier: ``e[u] = pupils[u, 1, y] / births[u, y-6]`` (the birth-to-entry ratio). Each ratio is
averaged over the last ``window`` observed transitions (3–6 years, configurable) as a ratio of
sums, which weights years by their cohort size and is robust to a single empty cohort.

*Pooling.* A unit whose transitions in the window sum to fewer than ``min_cohort`` pupils gets
the pooled ratio of all units instead of its own: small villages otherwise forecast from noise.

*Variants.* ``mid`` uses the averaged ratios. ``low`` and ``high`` shift every ratio by
∓ ``spread_z`` standard deviations of the pooled yearly ratios over the window (the spread of the
county's past ratios), so the band widens with the horizon as ratios compound.

*Housing.* A dwelling of type t completed in year c brings ``policy.dwelling_yield[t]``
compulsory-age pupils, spread evenly over the 9 grades, arriving in year c and progressing with
the ratios afterwards.

*Entrants without births data* use the unit's recent grade-1 average (the flat assumption).

Outputs per unit, level, year, grade and variant; aggregated per school under today's
catchments (``current_primary``/``current_junior``) for seat warnings.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from planner.errors import Problem, ValidationFailed
from planner.jsonsafe import dumps
from planner.model import District
from planner.policy import GRADES, LEVELS, Level

ALL_GRADES: tuple[int, ...] = (*GRADES["primary"], *GRADES["junior"])
VARIANTS: tuple[str, ...] = ("low", "mid", "high")


def level_of_grade(grade: int) -> Level:
    """The level a grade belongs to."""
    return "primary" if grade in GRADES["primary"] else "junior"


@dataclass(frozen=True)
class ForecastSettings:
    """Forecast settings with documented defaults.

    Attributes
    ----------
    years : int
        Years to forecast after the base year.
    window : int
        Past transitions averaged per ratio (3–6).
    min_cohort : int
        Pupils a unit's transitions must sum to in the window to use its own ratios.
    spread_z : float
        Standard deviations of the past pooled ratios between the mid and the low/high variants.
    entry_lag : int
        Years between birth and grade 1.
    """

    years: int = 5
    window: int = 5
    min_cohort: int = 30
    spread_z: float = 1.0
    entry_lag: int = 6

    def __post_init__(self) -> None:
        if not 1 <= self.years <= 20:
            raise ValueError(f"years must be between 1 and 20, got {self.years}")
        if not 1 <= self.window <= 10:
            raise ValueError(f"window must be between 1 and 10, got {self.window}")


@dataclass
class Ratios:
    """Fitted ratios: per unit progression (n_units, 9; column 0 = entry) and their spread."""

    unit_ratio: np.ndarray
    pooled_ratio: np.ndarray
    pooled_std: np.ndarray
    own: np.ndarray
    has_births: bool


@dataclass
class Forecast:
    """A forecast: long table of pupils, plus the fitted ratios and the base year."""

    base_year: int
    table: pd.DataFrame
    ratios: Ratios
    settings: ForecastSettings
    notes: list[str] = field(default_factory=list)

    def unit_totals(self, level: Level, year: int, variant: str = "mid") -> np.ndarray:
        """Pupils per unit (district order) of a level in a year."""
        t = self.table
        sel = t[(t["level"] == level) & (t["year"] == year) & (t["variant"] == variant)]
        return sel.groupby("unit_pos")["pupils"].sum().to_numpy()


def history_cube(district: District) -> tuple[np.ndarray, np.ndarray]:
    """Enrolment history as an array ``[unit, year, grade]`` and its years.

    Falls back to the district's current grade columns as a single year when there is no
    ``enrolment_history`` table.

    Raises
    ------
    ValidationFailed
        If the history names unknown units or grades outside 1–9, or has negative pupils.
    """
    n = len(district.units)
    hist = district.extra.get("enrolment_history")
    if hist is None or hist.empty:
        g = np.stack([district.units[f"g{g}"].to_numpy(float) for g in ALL_GRADES], axis=1)
        return g[:, None, :], np.array([0])
    problems: list[Problem] = []
    idx = district.unit_index()
    pos = hist["unit_id"].astype(str).map(idx)
    for i in np.flatnonzero(pos.isna().to_numpy())[:20]:
        problems.append(
            Problem(
                "enrolment_history.csv",
                int(i) + 2,
                "unit_id",
                str(hist["unit_id"].iloc[i]),
                "a unit_id from units",
            )
        )
    grade = pd.to_numeric(hist["grade"], errors="coerce")
    for i in np.flatnonzero(~grade.isin(ALL_GRADES).to_numpy())[:20]:
        problems.append(
            Problem(
                "enrolment_history.csv",
                int(i) + 2,
                "grade",
                str(hist["grade"].iloc[i]),
                "a grade from 1 to 9",
            )
        )
    pupils = pd.to_numeric(hist["pupils"], errors="coerce")
    for i in np.flatnonzero(~(pupils >= 0).to_numpy())[:20]:
        problems.append(
            Problem(
                "enrolment_history.csv",
                int(i) + 2,
                "pupils",
                str(hist["pupils"].iloc[i]),
                "a non-negative number",
            )
        )
    if problems:
        raise ValidationFailed(problems)
    years = np.sort(pd.to_numeric(hist["year"]).astype(int).unique())
    ypos = {int(y): i for i, y in enumerate(years)}
    cube = np.zeros((n, len(years), len(ALL_GRADES)))
    np.add.at(
        cube,
        (
            pos.to_numpy(int),
            hist["year"].astype(int).map(ypos).to_numpy(int),
            grade.to_numpy(int) - 1,
        ),
        pupils.to_numpy(float),
    )
    return cube, years


def births_matrix(district: District) -> tuple[np.ndarray, dict[int, int]] | None:
    """Births per unit and year (``[unit, year]``) with its year → column map; None if absent."""
    b = district.extra.get("births")
    if b is None or b.empty:
        return None
    idx = district.unit_index()
    pos = b["unit_id"].astype(str).map(idx)
    ok = pos.notna().to_numpy()
    yrs = b["year"].astype(int).to_numpy()[ok]
    years = np.arange(int(yrs.min()), int(yrs.max()) + 1) if yrs.size else np.zeros(0, int)
    ypos = {int(y): i for i, y in enumerate(years)}
    out = np.zeros((len(district.units), len(years)))
    np.add.at(
        out,
        (pos.to_numpy()[ok].astype(int), np.array([ypos[int(y)] for y in yrs], dtype=int)),
        pd.to_numeric(b["births"]).to_numpy(float)[ok],
    )
    return out, ypos


def fit_ratios(
    cube: np.ndarray,
    years: np.ndarray,
    births: tuple[np.ndarray, dict[int, int]] | None,
    settings: ForecastSettings,
) -> Ratios:
    """Fit progression and entry ratios over the last ``settings.window`` transitions.

    Column 0 of the returned ratios is the birth-to-entry ratio (or, without births, the entry
    persistence ratio g1[y]/g1[y-1]); column g-1 for g ≥ 2 is the progression into grade g.
    """
    n_units, n_years, n_grades = cube.shape
    w = min(settings.window, max(n_years - 1, 0))
    num = np.zeros((n_units, n_grades))
    den = np.zeros((n_units, n_grades))
    yearly_num = np.zeros((max(w, 1), n_grades))
    yearly_den = np.zeros((max(w, 1), n_grades))
    for k, t in enumerate(range(n_years - w, n_years)):
        if t < 1:
            continue
        # grade g at t from grade g-1 at t-1
        num[:, 1:] += cube[:, t, 1:]
        den[:, 1:] += cube[:, t - 1, :-1]
        yearly_num[k, 1:] = cube[:, t, 1:].sum(axis=0)
        yearly_den[k, 1:] = cube[:, t - 1, :-1].sum(axis=0)
        if births is not None:
            bmat, bcol = births
            by = bcol.get(int(years[t]) - settings.entry_lag)
            if by is not None:
                num[:, 0] += cube[:, t, 0]
                den[:, 0] += bmat[:, by]
                yearly_num[k, 0] = cube[:, t, 0].sum()
                yearly_den[k, 0] = bmat[:, by].sum()
        else:
            num[:, 0] += cube[:, t, 0]
            den[:, 0] += cube[:, t - 1, 0]
            yearly_num[k, 0] = cube[:, t, 0].sum()
            yearly_den[k, 0] = cube[:, t - 1, 0].sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled = np.where(den.sum(axis=0) > 0, num.sum(axis=0) / den.sum(axis=0), 1.0)
        yearly = np.where(yearly_den > 0, yearly_num / yearly_den, np.nan)
        unit = np.where(den > 0, num / den, np.nan)
    if w > 1 and np.isfinite(yearly).any():
        with warnings.catch_warnings():  # a grade with a single finite year has no spread
            warnings.simplefilter("ignore", RuntimeWarning)
            pooled_std = np.nan_to_num(np.nanstd(yearly, axis=0))
    else:
        pooled_std = np.zeros(n_grades)
    own = den >= settings.min_cohort
    ratio = np.where(own & np.isfinite(unit), unit, pooled[None, :])
    return Ratios(ratio, pooled, pooled_std, own, births is not None)


def housing_additions(district: District, years: list[int], yields: dict[str, float]) -> np.ndarray:
    """Pupils that new housing adds, ``[unit, year_index, grade]``, arriving in the completion year."""
    out = np.zeros((len(district.units), len(years), len(ALL_GRADES)))
    h = district.extra.get("housing")
    if h is None or h.empty:
        return out
    idx = district.unit_index()
    ypos = {y: i for i, y in enumerate(years)}
    for row in h.itertuples(index=False):
        u = idx.get(str(row.unit_id))
        t = ypos.get(int(row.year_complete))
        if u is None or t is None:
            continue
        pupils = float(row.dwellings) * float(yields.get(str(row.type), 0.0))
        out[u, t, :] += pupils / len(ALL_GRADES)
    return out


def forecast_district(
    district: District,
    settings: ForecastSettings | None = None,
    *,
    cube: np.ndarray | None = None,
    years: np.ndarray | None = None,
) -> Forecast:
    """Forecast pupils per unit, grade and year for the low, mid and high variants.

    Parameters
    ----------
    district : District
        With optional extra tables ``enrolment_history``, ``births`` and ``housing``.
    settings : ForecastSettings, optional
    cube, years : optional
        A history cube to use instead of the district's (the backtest passes a truncated one).

    Returns
    -------
    Forecast
        ``table`` columns: unit_id, unit_pos, level, year, grade, pupils, variant.
    """
    settings = settings or ForecastSettings()
    if cube is None or years is None:
        cube, years = history_cube(district)
    notes: list[str] = []
    base_year = int(years[-1])
    if base_year == 0:
        base_year = 2025
        notes.append("no enrolment_history: the current grade columns are the base year 2025")
    births = births_matrix(district)
    ratios = fit_ratios(cube, years, births, settings)
    if births is None:
        notes.append("no births table: grade-1 entrants follow the recent entry trend")
    fut_years = [base_year + i for i in range(1, settings.years + 1)]
    add = housing_additions(district, fut_years, dict(district.policy.dwelling_yield))
    rows = []
    ids = district.units["unit_id"].astype(str).to_numpy()
    n = len(ids)
    for variant, z in (("low", -settings.spread_z), ("mid", 0.0), ("high", settings.spread_z)):
        r = np.clip(ratios.unit_ratio + z * ratios.pooled_std[None, :], 0.0, None)
        state = cube[:, -1, :].copy()
        for t, y in enumerate(fut_years):
            nxt = np.zeros_like(state)
            nxt[:, 1:] = state[:, :-1] * r[:, 1:]
            by = None if births is None else births[1].get(y - settings.entry_lag)
            if births is not None and by is not None and births[0][:, by].sum() > 0:
                nxt[:, 0] = births[0][:, by] * r[:, 0]
            else:
                nxt[:, 0] = state[:, 0] * (r[:, 0] if births is None else 1.0)
            nxt += add[:, t, :]
            state = nxt
            for gi, g in enumerate(ALL_GRADES):
                rows.append(
                    pd.DataFrame(
                        {
                            "unit_id": ids,
                            "unit_pos": np.arange(n),
                            "level": level_of_grade(g),
                            "year": y,
                            "grade": g,
                            "pupils": state[:, gi],
                            "variant": variant,
                        }
                    )
                )
    table = pd.concat(rows, ignore_index=True)
    return Forecast(base_year, table, ratios, settings, notes)


def school_forecast(district: District, fc: Forecast, variant: str = "mid") -> pd.DataFrame:
    """Pupils per school, level, year and grade under today's catchments."""
    t = fc.table[fc.table["variant"] == variant]
    frames = []
    for level in LEVELS:
        cur = district.current(level)
        sub = t[t["level"] == level]
        school = cur[sub["unit_pos"].to_numpy()]
        keep = school >= 0
        frames.append(
            pd.DataFrame(
                {
                    "school_pos": school[keep],
                    "level": level,
                    "year": sub["year"].to_numpy()[keep],
                    "grade": sub["grade"].to_numpy()[keep],
                    "pupils": sub["pupils"].to_numpy()[keep],
                }
            )
        )
    df = pd.concat(frames, ignore_index=True)
    return df.groupby(["school_pos", "level", "year", "grade"], as_index=False)["pupils"].sum()


def seat_warnings(district: District, fc: Forecast, variant: str = "mid") -> pd.DataFrame:
    """Seat warnings (学位预警): school, level and year where the forecast exceeds the seats.

    Columns: school_id, level, year, seats, forecast, shortfall, over_cap_class_share (the share
    of the school's classes of that level over the class-size cap if it forms one class per
    classroom, its classrooms spread evenly over the grades).
    """
    sf = school_forecast(district, fc, variant)
    out = []
    for level in LEVELS:
        seats = district.seats(level)
        cap = district.policy.class_size_cap[level]
        grades = GRADES[level]
        rooms = district.schools[f"classrooms_{level}"].to_numpy(float)
        sub = sf[sf["level"] == level]
        tot = sub.groupby(["school_pos", "year"], as_index=False)["pupils"].sum()
        for row in tot.itertuples(index=False):
            s = int(row.school_pos)
            fcast = float(row.pupils)
            if fcast <= seats[s]:
                continue
            per_grade = sub[(sub["school_pos"] == s) & (sub["year"] == row.year)]
            rooms_g = rooms[s] / len(grades) if rooms[s] > 0 else seats[s] / cap / len(grades)
            over = total = 0.0
            for p in per_grade["pupils"]:
                n_classes = max(np.ceil(rooms_g), 1.0)
                total += n_classes
                if p / n_classes > cap:
                    over += n_classes
            out.append(
                {
                    "school_id": district.schools["school_id"].iloc[s],
                    "level": level,
                    "year": int(row.year),
                    "seats": int(seats[s]),
                    "forecast": round(fcast, 1),
                    "shortfall": round(fcast - seats[s], 1),
                    "over_cap_class_share": round(over / total, 3) if total else 0.0,
                }
            )
    cols = ["school_id", "level", "year", "seats", "forecast", "shortfall", "over_cap_class_share"]
    return pd.DataFrame(out, columns=cols).sort_values(
        ["year", "school_id", "level"], ignore_index=True
    )


@dataclass
class Backtest:
    """Backtest errors: MAPE per level and per school over the held-out years."""

    holdout: int
    mape_level: dict[str, float]
    mape_school: pd.DataFrame


def backtest(
    district: District, holdout: int = 2, settings: ForecastSettings | None = None
) -> Backtest:
    """Hold out the last ``holdout`` years, forecast them from the rest, and score the mid variant.

    MAPE is computed on totals per level (county) and per school and level (today's
    catchments), averaged over the held-out years; schools with fewer than 20 actual pupils are
    left out of the school MAPE, where percentages explode.

    Raises
    ------
    ValueError
        If the history is too short to hold out ``holdout`` years and keep two to fit on.
    """
    settings = settings or ForecastSettings()
    cube, years = history_cube(district)
    if len(years) < holdout + 2:
        raise ValueError(
            f"backtest needs at least {holdout + 2} years of enrolment history, found {len(years)}"
        )
    fit_cube, fit_years = cube[:, :-holdout, :], years[:-holdout]
    s2 = ForecastSettings(
        years=holdout,
        window=settings.window,
        min_cohort=settings.min_cohort,
        spread_z=settings.spread_z,
        entry_lag=settings.entry_lag,
    )
    hist_housing = district.extra.get("housing")
    d = district
    if hist_housing is not None:  # future housing is not known in a backtest's past
        d = district.with_tables(extra={k: v for k, v in district.extra.items() if k != "housing"})
    fc = forecast_district(d, s2, cube=fit_cube, years=fit_years)
    mid = fc.table[fc.table["variant"] == "mid"]
    mape_level: dict[str, float] = {}
    rows = []
    for level in LEVELS:
        gidx = [g - 1 for g in GRADES[level]]
        cur = district.current(level)
        errs = []
        for t in range(holdout):
            y = int(years[-holdout + t])
            actual_u = cube[:, len(years) - holdout + t, gidx].sum(axis=1)
            pred = mid[(mid["level"] == level) & (mid["year"] == y)]
            pred_u = (
                pred.groupby("unit_pos")["pupils"]
                .sum()
                .reindex(range(len(actual_u)), fill_value=0)
                .to_numpy()
            )
            if actual_u.sum() > 0:
                errs.append(abs(pred_u.sum() - actual_u.sum()) / actual_u.sum())
            keep = cur >= 0
            a_s = np.bincount(cur[keep], weights=actual_u[keep], minlength=len(district.schools))
            p_s = np.bincount(cur[keep], weights=pred_u[keep], minlength=len(district.schools))
            for s in np.flatnonzero(a_s >= 20):
                rows.append(
                    {
                        "school_id": district.schools["school_id"].iloc[s],
                        "level": level,
                        "year": y,
                        "actual": a_s[s],
                        "forecast": p_s[s],
                        "ape": abs(p_s[s] - a_s[s]) / a_s[s],
                    }
                )
        mape_level[level] = float(np.mean(errs)) if errs else float("nan")
    per = pd.DataFrame(rows, columns=["school_id", "level", "year", "actual", "forecast", "ape"])
    mape_school = (
        per.groupby(["school_id", "level"], as_index=False)["ape"]
        .mean()
        .rename(columns={"ape": "mape"})
    )
    return Backtest(holdout, mape_level, mape_school)


def write_forecast(
    district: District, fc: Forecast, out: Path, *, charts: bool = True
) -> list[Path]:
    """Write forecast.csv, warnings.csv, summary.json and one chart per school under ``out``."""

    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    table = fc.table.copy()
    table["pupils"] = table["pupils"].round(2)
    p = out / "forecast.csv"
    table[["unit_id", "level", "year", "grade", "pupils", "variant"]].to_csv(p, index=False)
    written.append(p)
    warn = seat_warnings(district, fc, "mid")
    p = out / "warnings.csv"
    warn.to_csv(p, index=False)
    written.append(p)
    summary = {
        "base_year": fc.base_year,
        "years": fc.settings.years,
        "window": fc.settings.window,
        "warnings": len(warn),
        "schools_warned": int(warn["school_id"].nunique()) if len(warn) else 0,
        "pooled_ratios": [round(float(x), 4) for x in fc.ratios.pooled_ratio],
        "pooled_ratio_std": [round(float(x), 4) for x in fc.ratios.pooled_std],
        "units_with_own_ratios": int(fc.ratios.own.all(axis=1).sum()),
        "notes": fc.notes,
        "totals": {
            level: {
                variant: {
                    str(y): round(float(g["pupils"].sum()), 1)
                    for y, g in fc.table[
                        (fc.table["level"] == level) & (fc.table["variant"] == variant)
                    ].groupby("year")
                }
                for variant in VARIANTS
            }
            for level in LEVELS
        },
    }
    p = out / "summary.json"
    p.write_text(dumps(summary, indent=2))
    written.append(p)
    if charts:
        from geo.charts import forecast_charts  # matplotlib only when charts are wanted

        written += forecast_charts(district, fc, out / "charts")
    return written
