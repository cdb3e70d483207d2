"""Multi-year layout: in which year to open each candidate school and add classrooms.

Formulation (HiGHS MIP through :class:`solvers.highs_model.SparseMip`), for years
t = 1..T after the base year, levels l, sparse unit–school pairs p = (u, s) of level l::

    x[p,t] ∈ {0,1}        unit u attends s in year t (one school per level and year)
    y[s,t] ∈ {0,1}        candidate s is open in year t        (monotone: y[s,t] ≥ y[s,t-1])
    r[s,l,t] ∈ ℤ≥0        classrooms added by year t           (monotone, Σ_l r ≤ max_extra_s)
    o[s,l,t] ≥ 0          pupils over the seats (reported; penalised)
    e[s,t] ≥ 0            pupils over the school-size limit (0 from the deadline year on)
    v[p,t] ≥ 0            v ≥ x[p,t-1] − x[p,t]: unit u left s between t-1 and t

    min Σ_t [ w_travel Σ_p d[u,l,t] c_p x[p,t] + π Σ o + π_size Σ e ]
        + Σ_s f_s y[s,T] + Σ_s g_s Σ_l r[s,l,T]                           build cost, paid once
    s.t. Σ_{p∋u} x[p,t] = 1                                       every unit, level, year
         x[p,t] ≤ y[s,t]                                          candidates only once open
         Σ_{p∋s} d[u,l,t] x[p,t] ≤ Q_sl·y + cap_l r[s,l,t] + o[s,l,t]   seats: no class over the cap
         Σ_l Σ_{p∋s} d x ≤ L_s + e[s,t]                           school size (逐步分流)
         y[s,t] = 0 for t < lead;  r[s,l,t] = 0 for t < classroom_lead
         f·(y[t] − y[t−1]) + g·(r[t] − r[t−1]) ≤ B_t               budget per year
         Σ_p d v[p,t] ≤ m · D_t                                   boundaries move little per year

Demand d[u,l,t] comes from :mod:`planner.forecast` (the ``mid`` variant; the robust option plans
against ``high`` and reports the cost of robustness against the ``mid`` plan). Year 1 moves are
counted against today's schools (``current_*``). Existing schools stay open (closures are a
single-year layout question).
"""

from __future__ import annotations

import json
import math
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from geo.distance import district_pairs
from planner.errors import InfeasiblePlan
from planner.forecast import Forecast, ForecastSettings, forecast_district
from planner.jsonsafe import dumps
from planner.model import District
from planner.policy import LEVELS, Level
from solvers.highs_model import INF, SparseMip
from solvers.progress import ProgressFn


class MultiYearSettings(BaseModel):
    """Settings of a multi-year layout plan (documented defaults)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    years: int = Field(5, ge=1, le=15, description="Years planned after the base year.")
    budget_per_year: float | list[float] | None = Field(
        None, description="Build budget per year: one number, or one per year (None = no limit)."
    )
    lead_time_years: int = Field(
        2, ge=0, le=5, description="Years from decision to a new school opening."
    )
    classroom_lead_years: int = Field(
        1, ge=0, le=5, description="Years from decision to added classrooms."
    )
    max_moved_share: float = Field(
        0.10, ge=0, le=1, description="Share of pupils whose school may change per year."
    )
    size_deadline_years: int | None = Field(
        3,
        ge=1,
        description="From this year on, no school over the size limit (None = soft throughout).",
    )
    travel_weight: float = Field(0.05, ge=0, description="Cost per pupil × metre per year.")
    overflow_penalty: float = Field(
        1_000_000.0, ge=0, description="Cost per pupil over the seats per year."
    )
    size_penalty: float = Field(
        100_000.0, ge=0, description="Cost per pupil over the size limit before the deadline."
    )
    variant: Literal["low", "mid", "high"] = Field(
        "mid", description="Forecast variant planned against."
    )
    robust: bool = Field(
        False, description="Plan against 'high' and report the cost against 'mid'."
    )
    k_nearest: int = Field(6, ge=1, description="Candidate schools per planning block.")
    blocks_per_level: int = Field(
        300,
        ge=0,
        description="Units are grouped into about this many blocks per level that share a school "
        "(each today's catchment split by k-means); 0 keeps one unit per block.",
    )
    time_limit: float = Field(60.0, gt=0, description="Seconds per solve.")
    seed: int = Field(0, description="Random seed.")
    gap_limit: float = Field(1e-4, ge=0, description="Stop at this relative gap.")


@dataclass
class MultiYearPlan:
    """A multi-year plan: decisions per year, assignment per year, and its summary."""

    district: District
    settings: MultiYearSettings
    years: list[int]
    decisions: pd.DataFrame
    assignment: pd.DataFrame
    schools: pd.DataFrame
    summary: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)

    def write(self, out: Path) -> list[Path]:
        """Write decisions.csv, assignment.csv, schools.csv and summary.json into ``out``."""
        out.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, df in (
            ("decisions.csv", self.decisions),
            ("assignment.csv", self.assignment),
            ("schools.csv", self.schools),
        ):
            p = out / (name + ".tmp")
            # fractional forecast pupils: 4 decimals keep the checker's sums exact to 0.01
            df.round(4).to_csv(p, index=False)
            paths.append(p)
        p = out / "summary.json.tmp"
        p.write_text(dumps(self.summary, indent=2))
        paths.append(p)
        final = []
        for p in paths:  # move into place only once everything was written
            q = p.with_suffix("")
            p.replace(q)
            final.append(q)
        return final


def _demand(fc: Forecast, district: District, variant: str) -> dict[str, np.ndarray]:
    """Forecast pupils per level as arrays [unit, year_index]."""
    t = fc.table[fc.table["variant"] == variant]
    years = sorted(t["year"].unique())
    n = len(district.units)
    out: dict[str, np.ndarray] = {}
    for level in LEVELS:
        sub = t[t["level"] == level].groupby(["unit_pos", "year"])["pupils"].sum()
        arr = np.zeros((n, len(years)))
        ypos = {y: i for i, y in enumerate(years)}
        idx = sub.index.to_frame(index=False)
        arr[idx["unit_pos"].to_numpy(int), idx["year"].map(ypos).to_numpy(int)] = sub.to_numpy()
        out[level] = arr
    return out


@dataclass
class Blocks:
    """Units of one level grouped into planning blocks that always share a school.

    Units in a block have the same school today, so moves stay exact per block.
    """

    of_unit: np.ndarray  # block index per unit, -1 = no forecast pupils
    members: list[np.ndarray]
    demand: np.ndarray  # [block, year]
    current: np.ndarray  # today's school per block (-1 = none)
    xy: np.ndarray  # demand-weighted centroid
    unit_weight: np.ndarray  # pupils per unit over all years (for weighted block costs)


def make_blocks(
    district: District, d: np.ndarray, cur: np.ndarray, n_blocks: int, seed: int
) -> Blocks:
    """Group the units with forecast pupils into at most about ``n_blocks`` blocks.

    Each of today's catchments is split into blocks by k-means on the unit points, in
    proportion to its number of units; ``n_blocks`` ≤ 0, or fewer units than blocks, keeps one
    unit per block.
    """
    from scipy.cluster.vq import kmeans2

    active = np.flatnonzero(d.sum(axis=1) > 1e-9)
    xy = district.unit_xy()
    of_unit = np.full(len(d), -1, dtype=np.int64)
    members: list[np.ndarray] = []
    if n_blocks <= 0 or active.size <= n_blocks:
        members = [np.array([u]) for u in active]
    else:
        groups = {int(c): active[cur[active] == c] for c in np.unique(cur[active])}
        for c in sorted(groups):
            g = groups[c]
            k = max(1, int(round(n_blocks * g.size / active.size)))
            if k >= g.size:
                members += [np.array([u]) for u in g]
                continue
            rng_seed = (seed * 1_000_003 + c + 1) % (2**32)
            _, lab = kmeans2(xy[g], k, minit="++", seed=rng_seed)
            for b in range(k):
                sel = g[lab == b]
                if sel.size:
                    members.append(sel)
    for b, mem in enumerate(members):
        of_unit[mem] = b
    demand = (
        np.array([d[mem].sum(axis=0) for mem in members]) if members else np.zeros((0, d.shape[1]))
    )
    w = np.array([d[mem].sum(axis=1) + 1e-9 for mem in members], dtype=object)
    cxy = (
        np.array(
            [
                (xy[mem] * ww[:, None]).sum(axis=0) / ww.sum()
                for mem, ww in zip(members, w, strict=True)
            ]
        )
        if members
        else np.zeros((0, 2))
    )
    bcur = np.array([cur[mem[0]] for mem in members], dtype=np.int64)
    return Blocks(of_unit, members, demand, bcur, cxy, d.sum(axis=1) + 1e-9)


def solve_multiyear(
    district: District,
    settings: MultiYearSettings,
    forecast: Forecast | None = None,
    progress: ProgressFn | None = None,
    stop: threading.Event | None = None,
) -> MultiYearPlan:
    """Plan openings and extensions year by year against the forecast.

    With ``settings.robust`` the plan is made against the ``high`` variant, and the ``mid`` plan
    is solved too, so the summary reports the cost of robustness (extra build cost).

    Raises
    ------
    planner.errors.InfeasiblePlan
        When a unit has no allowed school, or the size deadline cannot be met by any plan
        (with the numbers).
    """
    fc = forecast or forecast_district(district, ForecastSettings(years=settings.years))
    variant = "high" if settings.robust else settings.variant
    plan = _solve_variant(district, settings, fc, variant, progress, stop)
    if settings.robust:
        mid = _solve_variant(district, settings, fc, "mid", None, stop)
        plan.summary["robustness"] = {
            "planned_variant": "high",
            "build_cost_high": plan.summary["build_cost"],
            "build_cost_mid": mid.summary["build_cost"],
            "cost_of_robustness": plan.summary["build_cost"] - mid.summary["build_cost"],
            "overflow_pupil_years_mid_plan": mid.summary["overflow_pupil_years"],
        }
    return plan


def _solve_variant(
    district: District,
    settings: MultiYearSettings,
    fc: Forecast,
    variant: str,
    progress: ProgressFn | None,
    stop: threading.Event | None,
) -> MultiYearPlan:
    t_start = time.perf_counter()
    demand = _demand(fc, district, variant)
    years = sorted(int(y) for y in fc.table["year"].unique())[: settings.years]
    T = len(years)
    sch = district.schools
    n_s = len(sch)
    status = sch["status"].astype(str).to_numpy()
    cand = status == "candidate"
    closed = status == "closed"
    usable = ~closed
    m = SparseMip()
    # school-level variables: y[s,t] for candidates
    cand_idx = np.flatnonzero(cand)
    y = {int(s): m.add_vars(T, lb=0, ub=1, integer=True) for s in cand_idx}
    lead = settings.lead_time_years
    for cols in y.values():
        # y[t] = 0 before the lead time; monotone
        early = [t for t in range(T) if t + 1 < lead]
        if early:
            m.add_rows(
                np.arange(len(early)), cols[early], np.ones(len(early)), lower=0.0, upper=0.0
            )
        if T > 1:
            r = np.repeat(np.arange(T - 1), 2)
            c = np.column_stack([cols[1:], cols[:-1]]).ravel()
            v = np.tile([1.0, -1.0], T - 1)
            m.add_rows(r, c, v, lower=0.0, upper=INF)
    max_extra = sch["max_extra_classrooms"].to_numpy(int)
    cpc = sch["cost_per_classroom"].to_numpy(float)
    open_cost = sch["open_cost"].to_numpy(float)
    rooms: dict[tuple[int, str], np.ndarray] = {}
    for level in LEVELS:
        serve = district.serves(level) & usable
        for s in map(int, np.flatnonzero(serve & (max_extra > 0))):
            cols = m.add_vars(T, lb=0, ub=float(max_extra[s]), integer=True)
            rooms[(s, level)] = cols
            early = [t for t in range(T) if t + 1 < settings.classroom_lead_years]
            if early:
                m.add_rows(
                    np.arange(len(early)), cols[early], np.ones(len(early)), lower=0.0, upper=0.0
                )
            if T > 1:
                r = np.repeat(np.arange(T - 1), 2)
                c = np.column_stack([cols[1:], cols[:-1]]).ravel()
                m.add_rows(r, c, np.tile([1.0, -1.0], T - 1), lower=0.0, upper=INF)
            if s in y:  # rooms only at an open school
                r = np.repeat(np.arange(T), 2)
                c = np.column_stack([cols, y[s]]).ravel()
                m.add_rows(r, c, np.tile([1.0, -float(max_extra[s])], T), lower=-INF, upper=0.0)
    # total extra rooms over levels ≤ max_extra
    for s in range(n_s):
        lv = [rooms[(s, level)] for level in LEVELS if (s, level) in rooms]
        if len(lv) > 1:
            r = np.tile(np.arange(T), len(lv))
            c = np.concatenate(lv)
            m.add_rows(r, c, np.ones(c.size), lower=-INF, upper=float(max_extra[s]))
    # assignment per level
    pair_info: dict[str, dict[str, np.ndarray]] = {}
    load_rows: dict[tuple[int, str], list[tuple[np.ndarray, np.ndarray]]] = {}
    moved_rows = []
    reasons: list[str] = []
    blocks: dict[str, Blocks] = {}
    for level in LEVELS:
        blk = make_blocks(
            district,
            demand[level][:, :T],
            district.current(level),
            settings.blocks_per_level,
            settings.seed,
        )
        blocks[level] = blk
        d = blk.demand
        active = np.arange(len(blk.members))
        cur = blk.current
        mask = district.serves(level) & usable
        pu, ps, pc = _block_pairs(district, level, blk, mask, settings.k_nearest)
        has = np.zeros(len(blk.members), bool)
        has[pu] = True
        for b in active[~has[active]]:
            for u in blk.members[b]:
                reasons.append(
                    f"unit {district.units['unit_id'].iloc[u]} has {demand[level][u, :T].max():.0f} "
                    f"{level} pupils forecast but no open or candidate school teaching {level} within reach"
                )
        n_p = pu.size
        pair_info[level] = {"unit": pu, "school": ps, "cost": pc}
        xs = [
            m.add_vars(n_p, lb=0, ub=1, integer=True, cost=settings.travel_weight * d[pu, t] * pc)
            for t in range(T)
        ]
        pair_info[level]["x"] = np.stack(xs, axis=1) if n_p else np.zeros((0, T), np.int64)
        # one school per unit and year
        uniq, local = np.unique(pu, return_inverse=True)
        for t in range(T):
            m.add_rows(local, xs[t], np.ones(n_p), lower=1.0, upper=1.0, n_rows=uniq.size)
            # candidates only once open
            cm = cand[ps]
            if cm.any():
                sel = np.flatnonzero(cm)
                ycols = np.array([y[int(s)][t] for s in ps[sel]])
                r = np.repeat(np.arange(sel.size), 2)
                c = np.column_stack([xs[t][sel], ycols]).ravel()
                m.add_rows(r, c, np.tile([1.0, -1.0], sel.size), lower=-INF, upper=0.0)
            for s in map(int, np.unique(ps)):
                sel = ps == s
                load_rows.setdefault((s, level), []).append((xs[t][sel], d[pu[sel], t]))
        # moves between years (year 1 against today's school)
        total = d.sum(axis=0)
        for t in range(T):
            if t == 0:
                at_cur = ps == cur[pu]
                forced = d[np.setdiff1d(uniq, pu[at_cur]), 0].sum()
                # moved = Σ_u d (1 − x[cur pair]) ≤ share·D + forced
                rhs = settings.max_moved_share * total[0] + forced - d[pu[at_cur], 0].sum()
                m.add_rows(
                    np.zeros(int(at_cur.sum()), int),
                    xs[0][at_cur],
                    -d[pu[at_cur], 0],
                    lower=-INF,
                    upper=rhs - 0.0,
                    n_rows=1,
                )
                continue
            vcols = m.add_vars(n_p, lb=0, ub=1)
            r = np.repeat(np.arange(n_p), 3)
            c = np.column_stack([vcols, xs[t - 1], xs[t]]).ravel()
            m.add_rows(r, c, np.tile([1.0, -1.0, 1.0], n_p), lower=0.0, upper=INF)
            m.add_rows(
                np.zeros(n_p, int),
                vcols,
                d[pu, t],
                lower=-INF,
                upper=settings.max_moved_share * total[t],
                n_rows=1,
            )
            moved_rows.append(vcols)
    if reasons:
        raise InfeasiblePlan(reasons)
    # capacity rows with overflow
    over: dict[tuple[int, str], np.ndarray] = {}
    for (s, lvl), terms in load_rows.items():
        level = cast(Level, lvl)
        base = float(district.seats(level)[s])
        cap = float(district.policy.class_size_cap[level])
        o = m.add_vars(T, lb=0, ub=INF, cost=settings.overflow_penalty)
        over[(s, level)] = o
        for t in range(T):
            cols, vals = terms[t] if len(terms) == T else (np.zeros(0, np.int64), np.zeros(0))
            rr = [cols, [o[t]]]
            vv = [vals, [-1.0]]
            lo_up = base
            if s in y:
                rr.append([y[s][t]])
                vv.append([-base])
                lo_up = 0.0
            if (s, level) in rooms:
                rr.append([rooms[(s, level)][t]])
                vv.append([-cap])
            cc = np.concatenate([np.asarray(a, np.int64) for a in rr])
            m.add_rows(
                np.zeros(cc.size, int),
                cc,
                np.concatenate([np.asarray(a, float) for a in vv]),
                lower=-INF,
                upper=lo_up,
                n_rows=1,
            )
    # school size
    size_over: dict[int, np.ndarray] = {}
    deadline = settings.size_deadline_years
    for s in range(n_s):
        parts = [(lvl, load_rows[(s, lvl)]) for lvl in LEVELS if load_rows.get((s, lvl))]
        if not parts:
            continue
        limit = float(district.policy.school_size_limit(str(sch["level"].iloc[s])))
        ub = np.full(T, INF)
        if deadline is not None:
            ub[deadline - 1 :] = 0.0
        e = m.add_vars(T, lb=0, ub=ub, cost=settings.size_penalty)
        size_over[s] = e
        for t in range(T):
            cols = np.concatenate([p[t][0] for _, p in parts] + [[e[t]]])
            vals = np.concatenate([p[t][1] for _, p in parts] + [[-1.0]])
            m.add_rows(np.zeros(cols.size, int), cols, vals, lower=-INF, upper=limit, n_rows=1)
    # build costs (paid once) and budget per year
    build_cols: list[int] = []
    build_vals: list[float] = []
    for s, cols in y.items():
        build_cols.append(int(cols[-1]))
        build_vals.append(float(open_cost[s]))
    for (s, _level), cols in rooms.items():
        build_cols.append(int(cols[-1]))
        build_vals.append(float(cpc[s]))
    if build_cols:
        m.set_cost(np.array(build_cols), np.array(build_vals))
    if settings.budget_per_year is not None:
        b = settings.budget_per_year
        budgets = [float(b)] * T if isinstance(b, int | float) else [float(v) for v in b]
        if len(budgets) < T:
            raise ValueError(f"budget_per_year lists {len(budgets)} years, the plan has {T}")
        for t in range(T):
            bcols: list[int] = []
            bvals: list[float] = []
            for s, yc in y.items():
                bcols.append(int(yc[t]))
                bvals.append(float(open_cost[s]))
                if t:
                    bcols.append(int(yc[t - 1]))
                    bvals.append(-float(open_cost[s]))
            for (s, _l), rc in rooms.items():
                bcols.append(int(rc[t]))
                bvals.append(float(cpc[s]))
                if t:
                    bcols.append(int(rc[t - 1]))
                    bvals.append(-float(cpc[s]))
            if bcols:
                m.add_rows(
                    np.zeros(len(bcols), int),
                    np.array(bcols),
                    np.array(bvals),
                    lower=-INF,
                    upper=budgets[t],
                    n_rows=1,
                )
    res = m.solve(
        time_limit=settings.time_limit,
        seed=settings.seed,
        gap=settings.gap_limit,
        progress=progress,
        stop=stop,
    )
    if res.x is None:
        if res.status == "infeasible":
            raise InfeasiblePlan(_explain_size(district, demand, years, settings))
        raise InfeasiblePlan(
            [f"no plan found within {settings.time_limit:.0f} s; raise --time-limit"]
        )
    x = res.x
    # -- read the plan back ---------------------------------------------------------------
    ids = sch["school_id"].astype(str).tolist()
    uid = district.units["unit_id"].astype(str).to_numpy()
    rows_a = []
    for level in LEVELS:
        info = pair_info[level]
        if info["unit"].size == 0:
            continue
        blk = blocks[level]
        for t in range(T):
            chosen = np.flatnonzero(x[info["x"][:, t]] > 0.5)
            units = [blk.members[info["unit"][p]] for p in chosen]
            if not units:
                continue
            school_of = np.concatenate(
                [np.full(len(mem), info["school"][p]) for mem, p in zip(units, chosen, strict=True)]
            )
            uu = np.concatenate(units)
            rows_a.append(
                pd.DataFrame(
                    {
                        "unit_id": uid[uu],
                        "level": level,
                        "year": years[t],
                        "school_id": np.array(ids)[school_of],
                        "pupils": demand[level][uu, t],
                    }
                )
            )
    assignment = pd.concat(rows_a, ignore_index=True).sort_values(
        ["year", "level", "unit_id"], ignore_index=True
    )
    dec_rows = []
    build_by_year = [0.0] * T
    for s in range(n_s):
        prev_open = 1 if not cand[s] else 0
        prev_rooms = {level: 0 for level in LEVELS}
        for t in range(T):
            is_open = int(round(x[y[s][t]])) if s in y else (0 if closed[s] else 1)
            added = {
                level: int(round(x[rooms[(s, level)][t]])) if (s, level) in rooms else 0
                for level in LEVELS
            }
            new_rooms = {level: added[level] - prev_rooms[level] for level in LEVELS}
            opened = is_open and not prev_open
            if opened or any(new_rooms.values()):
                cost = (open_cost[s] if opened else 0.0) + cpc[s] * sum(new_rooms.values())
                build_by_year[t] += cost
                dec_rows.append(
                    {
                        "school_id": ids[s],
                        "year": years[t],
                        "action": "open" if opened else "expand",
                        "open": is_open,
                        "classrooms_added_primary": new_rooms["primary"],
                        "classrooms_added_junior": new_rooms["junior"],
                        "classrooms_added": sum(new_rooms.values()),
                        "cost": round(float(cost), 2),
                    }
                )
            prev_open, prev_rooms = is_open, added
    dcols = [
        "school_id",
        "year",
        "action",
        "open",
        "classrooms_added_primary",
        "classrooms_added_junior",
        "classrooms_added",
        "cost",
    ]
    decisions = pd.DataFrame(dec_rows, columns=dcols)
    sch_rows = []
    agg = assignment.groupby(["school_id", "level", "year"])["pupils"].sum()
    for s in range(n_s):
        for level in LEVELS:
            if not (district.serves(level)[s] and usable[s]):
                continue
            for t in range(T):
                is_open = int(round(x[y[s][t]])) if s in y else 1
                n_added = int(round(x[rooms[(s, level)][t]])) if (s, level) in rooms else 0
                seats = (
                    district.seats(level)[s] if is_open else 0
                ) + n_added * district.policy.class_size_cap[level]
                pupils = float(agg.get((ids[s], level, years[t]), 0.0))
                sch_rows.append(
                    {
                        "school_id": ids[s],
                        "level": level,
                        "year": years[t],
                        "open": is_open,
                        "seats": int(seats),
                        "pupils": pupils,
                        "overflow": max(pupils - seats, 0.0),
                    }
                )
    schools_df = pd.DataFrame(sch_rows)
    size_tab = schools_df.groupby(["school_id", "year"])["pupils"].sum().reset_index()
    lim = {ids[s]: district.policy.school_size_limit(str(sch["level"].iloc[s])) for s in range(n_s)}
    size_tab["over_size"] = (size_tab["pupils"] - size_tab["school_id"].map(lim)).clip(lower=0)
    travel = 0.0
    for level in LEVELS:
        info = pair_info[level]
        for t in range(T):
            chosen = x[info["x"][:, t]] > 0.5
            travel += float(
                (blocks[level].demand[info["unit"][chosen], t] * info["cost"][chosen]).sum()
            )
    summary = {
        "status": res.status,
        "objective": res.objective,
        "bound": res.bound,
        "gap": res.gap if math.isfinite(res.gap) else None,
        "solve_seconds": round(time.perf_counter() - t_start, 3),
        "seed": settings.seed,
        "solver": "highs",
        "variant": variant,
        "years": years,
        "build_cost": round(sum(build_by_year), 2),
        "build_cost_by_year": {
            str(yy): round(c, 2) for yy, c in zip(years, build_by_year, strict=True)
        },
        "overflow_pupil_years": round(float(schools_df["overflow"].sum()), 2),
        "overflow_by_year": {
            str(yy): round(float(g["overflow"].sum()), 2) for yy, g in schools_df.groupby("year")
        },
        "over_size_schools_by_year": {
            str(yy): int((g["over_size"] > 1e-6).sum()) for yy, g in size_tab.groupby("year")
        },
        "travel_pupil_metres": round(travel, 1),
        "opened": decisions.loc[decisions["action"] == "open", "school_id"].tolist(),
        "blocks": {level: len(blocks[level].members) for level in LEVELS},
        "settings": settings.model_dump(),
    }
    return MultiYearPlan(district, settings, years, decisions, assignment, schools_df, summary)


def _block_pairs(
    district: District, level: Level, blk: Blocks, mask: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidate schools per block (k nearest to its centroid plus today's school).

    A block's cost to a school is the pupil-weighted mean of its units' costs (straight-line
    metres, or the travel table; a school missing from the table for any unit is not allowed).
    """
    from geo.distance import candidate_pairs, pair_cost

    n_b = len(blk.members)
    if n_b == 0:
        z = np.zeros(0, np.int64)
        return z, z.copy(), np.zeros(0)
    if district.travel is not None:
        # every school listed for the block's first unit is a candidate; costs checked below
        p = district_pairs(district, level, k=k, school_mask=mask)
        first = np.array([mem[0] for mem in blk.members])
        pos = {int(u): b for b, u in enumerate(first)}
        sel = np.array([int(u) in pos for u in p.unit])
        bu = np.array([pos[int(u)] for u in p.unit[sel]], dtype=np.int64)
        bs = p.school[sel]
    else:
        cp = candidate_pairs(
            blk.xy,
            district.school_xy(),
            k=k,
            school_mask=mask,
            must_include=(np.arange(n_b), blk.current),
        )
        keep = mask[cp.school]
        bu, bs = cp.unit[keep], cp.school[keep]
    # every (unit, school) of every block pair at once, then pupil-weighted means per pair
    sizes = np.array([blk.members[b].size for b in bu], dtype=np.int64)
    pair_of = np.repeat(np.arange(bu.size), sizes)
    units = np.concatenate([blk.members[b] for b in bu]) if bu.size else np.zeros(0, np.int64)
    c = pair_cost(district, units, np.repeat(bs, sizes))
    w = blk.unit_weight[units]
    num = np.bincount(pair_of, weights=np.nan_to_num(c) * w, minlength=bu.size)
    den = np.bincount(pair_of, weights=w, minlength=bu.size)
    missing = np.bincount(pair_of, weights=np.isnan(c).astype(float), minlength=bu.size) > 0
    costs = np.where(missing, np.nan, num / np.maximum(den, 1e-12))
    ok = np.isfinite(costs)
    order = np.lexsort((bs[ok], costs[ok], bu[ok]))
    return bu[ok][order], bs[ok][order], costs[ok][order]


def _explain_size(
    district: District, demand: dict[str, np.ndarray], years: list[int], settings: MultiYearSettings
) -> list[str]:
    """Why the hard size deadline or budget cannot be met, with numbers."""
    reasons = []
    total = sum(demand[level][:, : len(years)].sum(axis=0) for level in LEVELS)
    sch = district.schools
    usable = sch["status"].astype(str) != "closed"
    cap = sum(
        float(district.policy.school_size_limit(str(lv)))
        for lv, ok in zip(sch["level"], usable, strict=True)
        if ok
    )
    for t, yy in enumerate(years):
        if (
            settings.size_deadline_years is not None
            and t + 1 >= settings.size_deadline_years
            and total[t] > cap
        ):
            reasons.append(
                f"in {yy} the forecast is {total[t]:.0f} pupils but all open and candidate schools "
                f"together may hold {cap:.0f} under the size limits"
            )
    if not reasons:
        reasons.append(
            "no plan meets the school-size deadline "
            f"(year {settings.size_deadline_years}) within the budget and lead times; "
            "raise the budget, move the deadline, or allow more moved pupils"
        )
    return reasons


@dataclass
class MultiYearCheck:
    """Violations found by :func:`check_multiyear` (empty = the plan keeps every rule)."""

    violations: list[str]
    recomputed: dict[str, Any]

    @property
    def ok(self) -> bool:
        """True when no rule is broken."""
        return not self.violations


def check_multiyear(district: District, out: Path) -> MultiYearCheck:
    """Verify a written multi-year plan rule by rule, year by year, from its files alone.

    Re-runs the forecast with the plan's settings (it is deterministic) and checks: every unit
    with forecast pupils has exactly one school per level and year, which teaches the level and
    is open that year; no candidate opens before the lead time; classrooms are added only after
    their lead time and within ``max_extra_classrooms``; each year's build cost is within its
    budget; pupils moved between years stay within the cap (plus moves forced on units whose
    school cannot serve them); no school is over the size limit from the deadline year on; and the
    reported overflow and build cost equal the recomputed ones.
    """
    summary = json.loads((out / "summary.json").read_text())
    settings = MultiYearSettings.model_validate(summary["settings"])
    dec = pd.read_csv(out / "decisions.csv", dtype={"school_id": str})
    asg = pd.read_csv(out / "assignment.csv", dtype={"unit_id": str, "school_id": str})
    v: list[str] = []
    years = [int(y) for y in summary["years"]]
    fc = forecast_district(district, ForecastSettings(years=settings.years))
    demand = _demand(fc, district, summary.get("variant", "mid"))
    sch = district.schools
    sidx = district.school_index()
    uidx = district.unit_index()
    status = sch["status"].astype(str).to_numpy()
    opened_year: dict[str, int] = {}
    rooms_added: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for r in dec.itertuples(index=False):
        if str(r.action) == "open":
            if status[sidx[str(r.school_id)]] != "candidate":
                v.append(f"{r.school_id} opens in {r.year} but is not a candidate site")
            if int(r.year) - years[0] + 1 < settings.lead_time_years:
                v.append(
                    f"{r.school_id} opens in {r.year}, before the {settings.lead_time_years}-year lead time"
                )
            opened_year[str(r.school_id)] = int(r.year)
        for level in LEVELS:
            n = int(getattr(r, f"classrooms_added_{level}"))
            if n:
                if int(r.year) - years[0] + 1 < settings.classroom_lead_years:
                    v.append(
                        f"{r.school_id} adds classrooms in {r.year}, before the classroom lead time"
                    )
                rooms_added.setdefault((str(r.school_id), level), []).append((int(r.year), n))
    for s_id in {k[0] for k in rooms_added}:
        tot = sum(n for (sid, _), lst in rooms_added.items() if sid == s_id for _, n in lst)
        mx = int(sch["max_extra_classrooms"].iloc[sidx[s_id]])
        if tot > mx:
            v.append(f"{s_id} adds {tot} classrooms, more than its max_extra_classrooms {mx}")
    # budget
    cost_by_year = dec.groupby("year")["cost"].sum().to_dict()
    b = settings.budget_per_year
    if b is not None:
        budgets = [float(b)] * len(years) if isinstance(b, int | float) else [float(x) for x in b]
        for t, yy in enumerate(years):
            if cost_by_year.get(yy, 0.0) > budgets[t] + 1e-6:
                v.append(
                    f"{yy}: build cost {cost_by_year[yy]:.2f} exceeds the budget {budgets[t]:.2f}"
                )
    recomputed_cost = 0.0
    for r in dec.itertuples(index=False):
        s = sidx[str(r.school_id)]
        exp = (float(sch["open_cost"].iloc[s]) if str(r.action) == "open" else 0.0) + float(
            sch["cost_per_classroom"].iloc[s]
        ) * int(r.classrooms_added)
        recomputed_cost += exp
        if abs(exp - float(r.cost)) > 1e-6 * max(1.0, exp):
            v.append(f"{r.school_id} {r.year}: reported cost {r.cost} but the costs give {exp:.2f}")
    overflow_total = 0.0
    cap_of = district.policy.class_size_cap
    prev: dict[str, dict[str, str]] = {}
    for level in LEVELS:
        cur = district.current(level)
        ids = sch["school_id"].astype(str).to_numpy()
        prev[level] = {
            u: (ids[c] if c >= 0 else "")
            for u, c in zip(district.units["unit_id"].astype(str), cur, strict=True)
        }
    for t, yy in enumerate(years):
        load: dict[tuple[str, str], float] = {}
        for level in LEVELS:
            sub = asg[(asg["year"] == yy) & (asg["level"] == level)]
            dup = sub["unit_id"][sub["unit_id"].duplicated()]
            for u in dup.unique()[:10]:
                v.append(f"{yy} {level}: unit {u} has more than one school")
            need = {
                str(district.units["unit_id"].iloc[i])
                for i in np.flatnonzero(demand[level][:, t] > 1e-9)
            }
            missing = sorted(need - set(sub["unit_id"]))
            for u in missing[:10]:
                v.append(f"{yy} {level}: unit {u} has forecast pupils but no school")
            moved = 0.0
            forced = 0.0
            serve = district.serves(level)
            for r in sub.itertuples(index=False):
                s_opt = sidx.get(str(r.school_id))
                if s_opt is None or not serve[s_opt] or status[s_opt] == "closed":
                    v.append(
                        f"{yy} {level}: unit {r.unit_id} at {r.school_id}, which cannot teach {level}"
                    )
                    continue
                s = s_opt
                if status[s] == "candidate" and opened_year.get(str(r.school_id), 10**9) > yy:
                    v.append(f"{yy} {level}: unit {r.unit_id} at {r.school_id} before it opens")
                d_u = float(demand[level][uidx[str(r.unit_id)], t])
                if abs(d_u - float(r.pupils)) > 0.01 + 1e-6 * d_u:
                    v.append(
                        f"{yy} {level}: unit {r.unit_id} lists {r.pupils} pupils, the forecast gives {d_u:.2f}"
                    )
                load[(str(r.school_id), level)] = load.get((str(r.school_id), level), 0.0) + d_u
                before = prev[level].get(str(r.unit_id), "")
                if before and before != str(r.school_id):
                    moved += d_u
                    if t == 0:
                        b_s = sidx.get(before)
                        if b_s is None or not serve[b_s] or status[b_s] == "closed":
                            forced += d_u
                elif not before and t == 0:
                    forced += d_u
                prev[level][str(r.unit_id)] = str(r.school_id)
            total = float(demand[level][:, t].sum())
            if moved > settings.max_moved_share * total + forced + 1e-6:
                v.append(
                    f"{yy} {level}: {moved:.1f} pupils change school, over the cap "
                    f"{settings.max_moved_share:.0%} of {total:.1f}"
                )
        size: dict[str, float] = {}
        for (s_id, lvl_name), pupils in load.items():
            s = sidx[s_id]
            level = cast(Level, lvl_name)
            is_open_new = status[s] == "candidate"
            base = float(district.seats(cast(Level, level))[s])
            added = sum(n for y0, n in rooms_added.get((s_id, level), []) if y0 <= yy)
            seats = (
                base if (not is_open_new or opened_year.get(s_id, 10**9) <= yy) else 0.0
            ) + added * cap_of[cast(Level, level)]
            overflow_total += max(pupils - seats, 0.0)
            size[s_id] = size.get(s_id, 0.0) + pupils
        if settings.size_deadline_years is not None and t + 1 >= settings.size_deadline_years:
            for s_id, pupils in size.items():
                lim = district.policy.school_size_limit(str(sch["level"].iloc[sidx[s_id]]))
                if pupils > lim + 1e-6:
                    v.append(
                        f"{yy}: {s_id} has {pupils:.0f} pupils, over the size limit {lim} after the deadline"
                    )
    rep_over = float(summary["overflow_pupil_years"])
    if abs(rep_over - overflow_total) > 0.05 + 1e-6 * overflow_total:
        v.append(f"summary overflow_pupil_years {rep_over} but the plan gives {overflow_total:.2f}")
    if abs(float(summary["build_cost"]) - recomputed_cost) > 1e-6 * max(1.0, recomputed_cost):
        v.append(
            f"summary build_cost {summary['build_cost']} but the decisions give {recomputed_cost:.2f}"
        )
    return MultiYearCheck(
        v, {"overflow_pupil_years": overflow_total, "build_cost": recomputed_cost}
    )
