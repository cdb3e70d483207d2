"""District layout adjustment (布局调整): open, expand, close or merge schools, both levels at once.

The district compiles to one :class:`~solvers.layout.problem.FacilityProblem`:

- customers = (unit, level) with pupils > 0; demand = pupils of that level;
- facilities = schools; a nine-year school is one facility with a seat pool per level, so its
  open decision is shared by both levels; seats per level = ``district.seats(level)``
  (classrooms × ``policy.class_size_cap[level]`` or the capacity column);
- modules = added classrooms, ``module_seats[level] = policy.class_size_cap[level]``, at most
  ``max_extra_classrooms`` per school over both levels, ``cost_per_classroom`` each;
- status: ``open`` schools stay open (unless ``allow_closure``), ``candidate`` schools may open at
  ``open_cost``, ``closed`` schools never open;
- school size: total pupils of an open school ≤ ``policy.school_size_limit(level)`` (soft, at the
  overflow penalty, like seats; hard when ``overflow_penalty`` is None);
- allowed pairs: the travel table if given, else the ``k_nearest`` serving schools by straight
  line (``geo.distance.district_pairs``), always with today's school;
- locked units keep today's school (which then stays open);
- pair cost = ``travel_weight`` × pupils × travel (+ ``moved_weight`` × pupils if not today's
  school); objective = build cost (+ ``operating_cost`` per open school) + travel + overflow.

A school that was open and is closed is reported as ``merge`` into X when at least
``merge_share`` of its pupils today go to X, else ``close``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from geo.distance import district_pairs
from planner.errors import InfeasiblePlan, NoPlanFound
from planner.jsonsafe import dumps
from planner.model import District
from planner.policy import LEVELS, Level
from solvers.catchment.types import CatchmentSettings, LevelSolution
from solvers.layout.problem import FacilityProblem, FacilitySolution, unserved_customers
from solvers.layout.solve import FacilitySettings, solve_facility
from solvers.progress import ProgressFn


class LayoutSettings(BaseModel):
    """Settings of a district layout solve (CLI flags, API run settings, TOML).

    Money (``open_cost``, ``cost_per_classroom``, ``budget``, ``operating_cost``) and travel
    meet in one objective through ``travel_weight``: the cost of one pupil travelling one travel
    unit (metre, or minute with a travel table). The default 1.0 treats one pupil-metre as one
    cost unit; set it to your annualised cost per pupil-metre when costs are in yuan.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    budget: float | None = Field(None, ge=0, description="Build budget: opening + classrooms.")
    open_exactly: int | None = Field(None, ge=0, description="Open exactly this many schools.")
    max_open: int | None = Field(None, ge=0, description="Open at most this many schools.")
    travel_weight: float = Field(1.0, ge=0, description="Cost per pupil × travel unit.")
    moved_weight: float = Field(
        0.0, ge=0, description="Cost per pupil assigned away from today's school (0 = ignore)."
    )
    overflow_penalty: float | None = Field(
        1_000_000.0,
        ge=0,
        description="Cost per pupil over seats or over the school-size limit; None = hard limits.",
    )
    operating_cost: float = Field(
        0.0, ge=0, description="Cost of keeping any school open (lets closure save money)."
    )
    allow_closure: bool = Field(False, description="Open schools may be closed (merged).")
    min_open_pupils: float = Field(
        0.0, ge=0, description="Smallest total pupils of an open school that may close or open."
    )
    enforce_school_size: bool = Field(True, description="Apply policy.school_size_limit.")
    merge_share: float = Field(
        0.8, gt=0, le=1, description="A closed school merged into X when ≥ this share goes to X."
    )
    level: Literal["primary", "junior", "all"] = Field("all", description="Levels to plan.")
    time_limit: float = Field(60.0, gt=0, description="Wall-clock seconds.")
    seed: int = Field(0, description="Random seed; same inputs and seed give the same plan.")
    solver: Literal["highs", "cpsat"] = Field("highs", description="MIP solver.")
    num_workers: int = Field(2, ge=1, description="CP-SAT workers (fixed for determinism).")
    k_nearest: int = Field(10, ge=1, description="Candidate schools per unit without travel.csv.")
    max_travel: float | None = Field(None, gt=0, description="Longest allowed travel.")
    gap_limit: float = Field(0.0, ge=0, description="Stop at this relative gap (0 = prove).")

    def levels(self) -> tuple[Level, ...]:
        """Levels planned."""
        return LEVELS if self.level == "all" else (self.level,)

    def catchment_settings(self) -> CatchmentSettings:
        """The catchment settings used to report the resulting assignment."""
        return CatchmentSettings(
            level=self.level,
            time_limit=self.time_limit,
            seed=self.seed,
            solver="highs" if self.solver == "highs" else "cpsat",
            num_workers=self.num_workers,
            k_nearest=self.k_nearest,
            max_travel=self.max_travel,
            contiguity="none",
            gap_limit=self.gap_limit,
        )


@dataclass(frozen=True)
class DistrictLayoutProblem:
    """The compiled problem plus the maps back to the district."""

    problem: FacilityProblem
    levels: tuple[Level, ...]
    customer_unit: np.ndarray
    pair_travel: np.ndarray
    pairs_by_level: dict[Level, tuple[np.ndarray, np.ndarray, np.ndarray]]
    max_travel: float | None = None


def build_layout_problem(district: District, settings: LayoutSettings) -> DistrictLayoutProblem:
    """Compile a district into the facility problem (see the module docstring).

    Raises
    ------
    ValueError
        When both ``open_exactly`` and ``max_open`` are given.
    """
    if settings.open_exactly is not None and settings.max_open is not None:
        raise ValueError("give at most one of open_exactly and max_open")
    sch = district.schools
    n_f = len(sch)
    levels = settings.levels()
    status = sch["status"].to_numpy(dtype=object)
    closed = status == "closed"
    existing = status == "open"
    locked = district.units["locked"].to_numpy(dtype=bool)
    cust_unit: list[int] = []
    cust_level: list[int] = []
    demand: list[float] = []
    pc: list[np.ndarray] = []
    pf: list[np.ndarray] = []
    ptravel: list[np.ndarray] = []
    pcost: list[np.ndarray] = []
    must_open = np.zeros(n_f, dtype=bool)
    pairs_by_level: dict[Level, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for li, level in enumerate(levels):
        cur = district.current(level)
        has = np.flatnonzero(cur >= 0)
        pr = district_pairs(
            district,
            level,
            k=settings.k_nearest,
            max_dist=settings.max_travel,
            school_mask=~closed,
            must_include=(has, cur[has]),
        )
        u, s, c = pr.unit, pr.school, pr.cost
        # locked units keep today's school (which must then stay open)
        lock_u = locked[u] & (cur[u] >= 0)
        keep = ~lock_u | (s == cur[u])
        u, s, c = u[keep], s[keep], c[keep]
        lk = locked & (cur >= 0) & (district.pupils(level) > 0)
        must_open[cur[lk]] = True
        pairs_by_level[level] = (u, s, c)
        pupils = district.pupils(level)
        units = np.flatnonzero(pupils > 0)
        cid = -np.ones(len(district.units), dtype=np.int64)
        cid[units] = len(cust_unit) + np.arange(units.size)
        cust_unit += units.tolist()
        cust_level += [li] * units.size
        demand += pupils[units].astype(float).tolist()
        sel = cid[u] >= 0
        d = pupils[u[sel]].astype(float)
        moved = (s[sel] != cur[u[sel]]).astype(float)
        pc.append(cid[u[sel]])
        pf.append(s[sel])
        ptravel.append(c[sel])
        pcost.append(settings.travel_weight * d * c[sel] + settings.moved_weight * d * moved)
    pc_a = np.concatenate(pc) if pc else np.zeros(0, np.int64)
    order = np.lexsort((np.concatenate(pf), pc_a))
    pc_a = pc_a[order]
    pf_a = np.concatenate(pf)[order]
    pt_a = np.concatenate(ptravel)[order]
    cost_a = np.concatenate(pcost)[order]
    dem = np.array(demand, dtype=float)
    cl = np.array(cust_level, dtype=np.int64)
    cap = np.stack([district.seats(lv).astype(float) for lv in levels], axis=1)
    serves = np.stack([district.serves(lv) for lv in levels], axis=1)
    extra = sch["max_extra_classrooms"].to_numpy(dtype=np.int64)
    max_mod = np.where(serves, extra[:, None], 0)
    cpc = sch["cost_per_classroom"].to_numpy(dtype=float)
    open_cost = np.where(existing, 0.0, sch["open_cost"].to_numpy(dtype=float))
    open_cost = open_cost + settings.operating_cost
    fixed_open = (existing & (not settings.allow_closure)) | must_open
    size = (
        np.array([district.policy.school_size_limit(str(lv)) for lv in sch["level"]], dtype=float)
        if settings.enforce_school_size
        else np.full(n_f, np.inf)
    )
    p = settings.open_exactly if settings.open_exactly is not None else settings.max_open
    problem = FacilityProblem(
        name=district.name,
        demand=dem,
        customer_level=cl,
        pair_customer=pc_a,
        pair_facility=pf_a,
        pair_cost=cost_a,
        pair_load=dem[pc_a],
        open_cost=open_cost,
        fixed_open=fixed_open & ~closed,
        forbidden=closed,
        counts_in_budget=~existing,
        capacity=cap,
        max_modules=max_mod,
        module_seats=np.array([district.policy.class_size_cap[lv] for lv in levels], dtype=float),
        module_cost=np.repeat(cpc[:, None], len(levels), axis=1),
        size_limit=size,
        min_load=np.where(fixed_open, 0.0, settings.min_open_pupils),
        module_limit=extra.astype(float),
        p=p,
        p_limit="exactly" if settings.open_exactly is not None else "at_most",
        budget=settings.budget,
        overflow_penalty=settings.overflow_penalty,
        level_names=tuple(levels),
    )
    return DistrictLayoutProblem(
        problem,
        levels,
        np.array(cust_unit, dtype=np.int64),
        pt_a,
        pairs_by_level,
        settings.max_travel,
    )


@dataclass
class LayoutResult:
    """A solved layout: decisions per school, the resulting catchments, a JSON summary."""

    district: District
    settings: LayoutSettings
    solution: FacilitySolution
    decisions: pd.DataFrame
    assignment: dict[Level, np.ndarray]
    after: District
    plan: Any = None
    summary: dict[str, Any] = field(default_factory=dict)

    def assignment_table(self) -> pd.DataFrame:
        """``unit_id, level, school_id`` (empty id = no school)."""
        ids = self.district.schools["school_id"].to_numpy(dtype=object)
        uid = self.district.units["unit_id"].to_numpy(dtype=object)
        return pd.concat(
            [
                pd.DataFrame(
                    {
                        "unit_id": uid,
                        "level": lv,
                        "school_id": np.where(a >= 0, ids[np.maximum(a, 0)], ""),
                    }
                )
                for lv, a in self.assignment.items()
            ],
            ignore_index=True,
        )

    def write(self, out_dir: Path | str, *, geometry: bool = True) -> list[Path]:
        """Write ``decisions.csv`` plus every catchment output (or a minimal set without plan.py).

        Returns the paths written; ``summary.json`` is the layout summary.
        """
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        written: list[Path] = []
        if self.plan is not None:
            written += list(self.plan.write(out, geometry=geometry))
        else:
            p = out / "assignment.csv"
            self.assignment_table().to_csv(p, index=False)
            written.append(p)
        p = out / "decisions.csv"
        self.decisions.to_csv(p, index=False)
        written.append(p)
        p = out / "summary.json"
        p.write_text(dumps(self.summary, indent=2))
        if p not in written:
            written.append(p)
        return written


def _decisions(
    district: District,
    settings: LayoutSettings,
    sol: FacilitySolution,
    assignment: dict[Level, np.ndarray],
) -> pd.DataFrame:
    sch = district.schools
    ids = sch["school_id"].to_numpy(dtype=object)
    status = sch["status"].to_numpy(dtype=object)
    added = sol.modules.sum(axis=1)
    cpc = sch["cost_per_classroom"].to_numpy(dtype=float)
    oc = sch["open_cost"].to_numpy(dtype=float)
    # pupils today per school, and where they go now
    flows: dict[int, dict[int, float]] = {}
    for level, a in assignment.items():
        cur = district.current(level)
        pupils = district.pupils(level)
        for u in np.flatnonzero((cur >= 0) & (pupils > 0)):
            flows.setdefault(int(cur[u]), {}).setdefault(int(a[u]), 0.0)
            flows[int(cur[u])][int(a[u])] += float(pupils[u])
    rows = []
    for i in range(len(sch)):
        is_open = bool(sol.open[i])
        into = ""
        if status[i] == "open" and not is_open:
            f = flows.get(i, {})
            tot = sum(f.values())
            best = max(f.items(), key=lambda kv: (kv[1], -kv[0]), default=(-1, 0.0))
            if tot > 0 and best[0] >= 0 and best[1] >= settings.merge_share * tot:
                action, into = "merge", str(ids[best[0]])
            else:
                action = "close"
        elif status[i] == "candidate" and is_open:
            action = "open"
        elif status[i] == "open" and is_open:
            action = "expand" if added[i] > 0 else "keep"
        else:
            action = "none"
        cost = (oc[i] if action == "open" else 0.0) + added[i] * cpc[i]
        # the modules' columns follow the solved levels, in the order of ``assignment``
        per_level = {lv: int(sol.modules[i, li]) for li, lv in enumerate(assignment)}
        rows.append(
            (
                ids[i],
                action,
                int(is_open),
                int(added[i]),
                float(cost),
                into,
                per_level.get("primary", 0),
                per_level.get("junior", 0),
            )
        )
    return pd.DataFrame(
        rows,
        columns=[
            "school_id",
            "action",
            "open",
            "classrooms_added",
            "cost",
            "merged_into",
            "classrooms_added_primary",
            "classrooms_added_junior",
        ],
    )


def _after(district: District, sol: FacilitySolution, levels: tuple[Level, ...]) -> District:
    """The district once the decisions are carried out (opened schools open, classrooms added)."""
    sch = district.schools.copy()
    sch["status"] = np.where(
        sol.open, "open", np.where(sch["status"] == "candidate", "candidate", "closed")
    )
    for li, lv in enumerate(levels):
        add = sol.modules[:, li]
        given = sch[f"capacity_{lv}"].to_numpy(dtype=float)
        cap = district.policy.class_size_cap[lv]
        sch[f"classrooms_{lv}"] = sch[f"classrooms_{lv}"].to_numpy(dtype=np.int64) + np.where(
            np.isnan(given), add, 0
        )
        sch[f"capacity_{lv}"] = np.where(np.isnan(given), given, given + add * cap)
    return district.with_tables(schools=sch)


def explain_district(district: District, built: DistrictLayoutProblem) -> list[str]:
    """Reasons, in the district's own ids, why some pupils cannot be placed at all.

    A (unit, level) with pupils but no allowed pair to a school that may open makes every
    layout infeasible. The facility-level check only knows customer indices, so this names the
    unit, level, pupils and the cause (locked to a closed school, only closed schools in reach,
    or no school teaching the level within reach). Empty when there is none.
    """
    pb = built.problem
    lonely = unserved_customers(pb)
    if lonely.size == 0:
        return []
    units = district.units
    sid = district.schools["school_id"].astype(str).to_numpy()
    locked = units["locked"].to_numpy(dtype=bool)
    reasons: list[str] = []
    for c in lonely[:20]:
        level = built.levels[int(pb.customer_level[c])]
        u = int(built.customer_unit[c])
        uid = str(units["unit_id"].iloc[u])
        head = f"{level}: unit {uid} ({pb.demand[c]:,.0f} pupils)"
        cur = int(district.current(level)[u])
        mine = pb.pair_facility[pb.pair_customer == c]
        if locked[u] and cur >= 0 and pb.forbidden[cur]:
            reasons.append(f"{head} is locked to {sid[cur]}, which is closed")
        elif mine.size:
            names = ", ".join(sid[mine[:5]]) + (" …" if mine.size > 5 else "")
            reasons.append(f"{head} can only reach closed schools ({names})")
        else:
            reach = (
                f"within max_travel {built.max_travel:g}"
                if built.max_travel is not None
                else "in its allowed pairs"
            )
            reasons.append(f"{head} has no school teaching {level} {reach}")
    if lonely.size > 20:
        reasons.append(f"… and {lonely.size - 20} more unit-levels with no school that may open")
    return reasons


def solve_layout(
    district: District,
    settings: LayoutSettings | None = None,
    progress: ProgressFn | None = None,
    stop: threading.Event | None = None,
) -> LayoutResult:
    """Plan the school layout of a district (both levels at once).

    Raises
    ------
    planner.errors.InfeasiblePlan
        When no plan can satisfy the hard rules (reasons with numbers, before solving).
    planner.errors.NoPlanFound
        When the time limit ended the search before any plan was found.
    """
    settings = settings or LayoutSettings()
    built = build_layout_problem(district, settings)
    reasons = explain_district(district, built)
    if reasons:
        raise InfeasiblePlan(reasons)
    pb = built.problem
    sol = solve_facility(
        pb,
        FacilitySettings(
            time_limit=settings.time_limit,
            seed=settings.seed,
            solver=settings.solver,
            num_workers=settings.num_workers,
            gap_limit=settings.gap_limit,
            sparsify_above=10**12,  # district pairs are already sparse by construction
        ),
        progress,
        stop,
    )
    if not np.isfinite(sol.objective):
        note = str(sol.info.get("note", "no plan"))
        if note == "the solver proved that no plan exists":
            raise InfeasiblePlan(["the solver proved that no plan meets the hard rules"])
        raise NoPlanFound(
            [
                f"{note} ({sol.solve_seconds:.1f} s of {settings.time_limit:g} s, "
                f"{pb.n_customers} pupil groups, {pb.n_facilities} schools); no rule was "
                "proved impossible: raise the time limit"
            ]
        )
    n_u = len(district.units)
    assignment: dict[Level, np.ndarray] = {}
    for li, level in enumerate(built.levels):
        a = -np.ones(n_u, dtype=np.int64)
        mine = np.flatnonzero(pb.customer_level == li)
        a[built.customer_unit[mine]] = sol.assign[mine]
        # units without pupils of this level still belong to a catchment: nearest open school
        u, s, c = built.pairs_by_level[level]
        ok = sol.open[s]
        order = np.lexsort((s[ok], c[ok], u[ok]))
        uu, ss = u[ok][order], s[ok][order]
        first = np.ones(uu.size, dtype=bool)
        first[1:] = uu[1:] != uu[:-1]
        empty = a[uu[first]] < 0
        a[uu[first][empty]] = ss[first][empty]
        assignment[level] = a
    decisions = _decisions(district, settings, sol, assignment)
    after = _after(district, sol, built.levels)
    result = LayoutResult(district, settings, sol, decisions, assignment, after)
    plan = None
    catch: dict[str, Any] = {}
    try:
        from solvers.catchment.plan import CatchmentPlan

        sols = {
            lv: LevelSolution(
                level=lv,
                assign=assignment[lv],
                status=sol.status if sol.status != "infeasible" else "infeasible",  # type: ignore[arg-type]
                objective=0.0,
                bound=0.0,
                solve_seconds=sol.solve_seconds,
                first_feasible_seconds=None,
                solver=f"layout-{sol.solver}",
            )
            for lv in built.levels
        }
        plan = CatchmentPlan.from_solutions(after, settings.catchment_settings(), sols)
        catch = dict(plan.summary)
        catch["warnings"] = [
            w for w in catch.get("warnings", []) if "solver reported objective" not in w
        ]
    except ImportError:  # plan.py not there: write the minimal outputs ourselves
        plan = None
    result.plan = plan
    dec = decisions
    overflow_by_level = {lv: float(sol.overflow[:, li].sum()) for li, lv in enumerate(built.levels)}
    result.summary = {
        **catch,
        "problem": "layout",
        "district": district.name,
        "status": sol.status,
        "objective": sol.objective,
        "bound": sol.bound,
        "gap": sol.gap,
        "solve_seconds": sol.solve_seconds,
        "seed": settings.seed,
        "solver": sol.solver,
        "build_cost": float(dec["cost"].sum()),
        "travel_cost": float(sol.terms.get("assignment", 0.0)),
        "overflow_seats": float(sol.terms.get("overflow_seats", 0.0)),
        "overflow_by_level": overflow_by_level,
        "opened": dec.loc[dec["action"] == "open", "school_id"].tolist(),
        "closed": dec.loc[dec["action"].isin(["close", "merge"]), "school_id"].tolist(),
        "merged": {
            str(r.school_id): str(r.merged_into) for r in dec.itertuples() if r.action == "merge"
        },
        "expanded": {
            str(r.school_id): int(r.classrooms_added)
            for r in dec.itertuples()
            if r.classrooms_added > 0
        },
        "catchment_objective": catch.get("objective"),
        "layout_terms": sol.terms,
        "layout_info": {k: v for k, v in sol.info.items() if isinstance(v, (int, float, str))},
        "layout_settings": settings.model_dump(mode="json"),
    }
    return result
