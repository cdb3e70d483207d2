"""A catchment plan: the solvers' per-level answers turned into outputs people can read.

:class:`CatchmentPlan` is what ``solve_catchment`` returns, what the CLI writes and what the API
stores. Every KPI in its :attr:`~CatchmentPlan.summary` is recomputed here from the assignment and
the district (the solver's own figures are kept only as ``solver_objective`` and ``bound``), so a
solver that mis-reports cannot hide it; :mod:`solvers.catchment.check` recomputes them a second
time, from the written files, with independent code.

The model the KPIs measure (one level; ``a_u`` the school of unit ``u``, ``c_u`` today's school):

* movable pupils ``E_u``: all the unit's pupils of the level, or with ``phase_in`` only the
  entering grade (g1, g7) of units whose school today is open and teaches the level; the rest
  ``S_u`` stay at ``c_u``;
* load of school ``j``: ``Σ_{a_u=j} E_u + Σ_{c_u=j} S_u``;
* ``overflow_pupils`` = Σ_j max(0, load_j − seats_j);
* ``travel_cost`` = Σ_u E_u·cost(u, a_u) + S_u·cost(u, c_u), cost from ``travel.csv`` or
  straight-line metres (today's school always counts; when ``travel.csv`` lacks it and the travel
  unit is metres, its straight line);
* ``moved_pupils`` = Σ over units with ``c_u ≥ 0`` and ``a_u ≠ c_u`` of E_u;
* ``balance_excess`` (only with ``balance_delta``): Σ_j max(0, |M_j − r·load_j| − δ·load_j) with
  M_j the migrant pupils at j (a unit's migrant share, clipped to [0, 1], times its pupils of the
  level) and r the county share;

These are the definitions of :func:`solvers.catchment.problem.evaluate`; the solvers optimise them.
* ``objective`` = Σ weight × term (:class:`~solvers.catchment.types.ObjectiveWeights`).
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from planner.jsonsafe import dumps
from planner.model import District
from planner.policy import ENTRY_GRADE, GRADES, Level
from solvers.catchment.types import CatchmentSettings, LevelSolution, SolveStatus

#: Status order, best first; a plan's status is the worst over its levels.
STATUS_ORDER: tuple[SolveStatus, ...] = ("optimal", "feasible", "infeasible")

#: Files :meth:`CatchmentPlan.write` produces, in order.
OUTPUT_FILES: tuple[str, ...] = (
    "assignment.csv",
    "schools.csv",
    "diff.csv",
    "summary.json",
    "catchments.geojson",
    "map.png",
)


# -- KPIs from an assignment ---------------------------------------------------------------------
@dataclass(frozen=True)
class LevelFlows:
    """Pupil flows of one level under an assignment (arrays over units / schools).

    Attributes
    ----------
    movable : ndarray
        Pupils per unit that follow the assignment (E_u).
    staying : ndarray
        Pupils per unit that stay at today's school under phase-in (S_u).
    grade_load : ndarray
        (n_schools, n_grades) pupils per school and grade.
    load : ndarray
        Pupils per school (sum of ``grade_load`` rows, exact integers).
    """

    movable: np.ndarray
    staying: np.ndarray
    grade_load: np.ndarray
    load: np.ndarray


def unit_grades(district: District, level: Level) -> tuple[np.ndarray, bool]:
    """(n_units, n_grades) pupils per grade, and whether the grade columns were usable.

    When a unit's grade columns do not add up to its ``pupils_<level>`` (grades not given), its
    pupils are spread evenly over the grades (largest-remainder, so rows still sum exactly).
    """
    grades = GRADES[level]
    pupils = district.pupils(level)
    cols = [f"g{g}" for g in grades]
    g = district.units[cols].to_numpy(dtype=np.int64) if set(cols) <= set(district.units) else None
    if g is not None and np.array_equal(g.sum(axis=1), pupils):
        return g, True
    n = len(grades)
    even = np.repeat((pupils // n)[:, None], n, axis=1)
    rem = pupils - even.sum(axis=1)
    even += (np.arange(n)[None, :] < rem[:, None]).astype(np.int64)
    return even, False


def usable_schools(district: District, level: Level) -> np.ndarray:
    """Schools that may take pupils of ``level``: open and teaching it."""
    return district.serves(level) & (district.schools["status"].astype(str).to_numpy() == "open")


def level_flows(district: District, level: Level, assign: np.ndarray, phase_in: bool) -> LevelFlows:
    """Pupil flows of ``level`` when unit ``u`` goes to school ``assign[u]`` (−1 = none).

    With phase-in, a unit whose school today is usable (open, teaching the level) moves only its
    entering-grade pupils (``g1``/``g7``, at most its pupils); the others stay at today's school.
    """
    n_s = len(district.schools)
    grades, _ = unit_grades(district, level)
    pupils = district.pupils(level)
    current = district.current(level)
    cur_ok = (current >= 0) & usable_schools(district, level)[np.maximum(current, 0)]
    entry = GRADES[level].index(ENTRY_GRADE[level])
    if phase_in:
        raw = district.units[f"g{ENTRY_GRADE[level]}"].to_numpy(dtype=np.int64)
        movable = np.where(cur_ok, np.minimum(raw, pupils), pupils)
    else:
        movable = pupils.copy()
    staying = pupils - movable
    # per grade (for class counts): the movable pupils are the entering grade under phase-in
    move_g = grades.copy()
    if phase_in:
        move_g[cur_ok] = 0
        move_g[cur_ok, entry] = movable[cur_ok]
    stay_g = np.maximum(grades - move_g, 0)
    grade_load = np.zeros((n_s, grades.shape[1]), dtype=np.int64)
    ok = assign >= 0
    np.add.at(grade_load, assign[ok], move_g[ok])
    stays = staying > 0
    np.add.at(grade_load, current[stays], stay_g[stays])
    load = np.bincount(assign[ok], weights=movable[ok], minlength=n_s) + np.bincount(
        current[stays], weights=staying[stays], minlength=n_s
    )
    return LevelFlows(
        movable=movable,
        staying=staying,
        grade_load=grade_load,
        load=np.rint(load).astype(np.int64),
    )


def pair_costs(district: District, units: np.ndarray, schools: np.ndarray) -> np.ndarray:
    """Travel cost of the pairs (units[k], schools[k]) (positions); NaN where not allowed.

    With a travel table only its pairs exist; otherwise the straight-line distance in metres.
    A school position of −1 gives NaN.
    """
    units = np.asarray(units, dtype=np.int64)
    schools = np.asarray(schools, dtype=np.int64)
    out = np.full(len(units), np.nan)
    ok = schools >= 0
    if district.travel is None:
        uxy = district.unit_xy()[units[ok]]
        sxy = district.school_xy()[schools[ok]]
        out[ok] = np.hypot(uxy[:, 0] - sxy[:, 0], uxy[:, 1] - sxy[:, 1])
        return out
    t = district.travel
    ui = t["unit_id"].map(district.unit_index())
    si = t["school_id"].map(district.school_index())
    known = ui.notna() & si.notna()
    n_s = len(district.schools)
    keys = ui[known].to_numpy(np.int64) * n_s + si[known].to_numpy(np.int64)
    table = pd.Series(t.loc[known, "cost"].to_numpy(dtype=float), index=keys)
    table = table[~table.index.duplicated(keep="first")]
    wanted = units[ok] * n_s + schools[ok]
    out[ok] = table.reindex(wanted).to_numpy(dtype=float)
    return out


def level_migrants(district: District, level: Level) -> np.ndarray:
    """Migrant pupils per unit of ``level`` (float): the unit's migrants split pro rata."""
    p = district.pupils(level).astype(float)
    total = (district.pupils("primary") + district.pupils("junior")).astype(float)
    mig = district.units["migrant_pupils"].to_numpy(dtype=float)
    return np.clip(mig / np.maximum(total, 1.0), 0.0, 1.0) * p


def level_kpis(
    district: District, settings: CatchmentSettings, level: Level, assign: np.ndarray
) -> dict[str, Any]:
    """Terms and KPIs of one level, recomputed from ``assign`` (see the module docstring)."""
    assign = np.asarray(assign, dtype=np.int64)
    flows = level_flows(district, level, assign, settings.phase_in)
    seats = district.seats(level)
    serves = district.serves(level)
    current = district.current(level)
    n_u = len(assign)
    idx = np.arange(n_u)
    warnings: list[str] = []

    cost_a = pair_costs(district, idx, assign)
    cost_c = pair_costs(district, idx, current)
    if district.travel is not None and district.travel_unit == "m":
        # today's school is always allowed; without a travel row its straight line is used
        gap_c = np.isnan(cost_c) & (current >= 0)
        cost_c[gap_c] = np.hypot(
            *(district.unit_xy()[gap_c] - district.school_xy()[current[gap_c]]).T
        )
        gap_a = np.isnan(cost_a) & (assign == current) & (assign >= 0)
        cost_a[gap_a] = cost_c[gap_a]
    travel_parts = flows.movable * cost_a
    bad = (flows.movable > 0) & np.isnan(cost_a)
    if bad.any():
        warnings.append(f"{level}: {int(bad.sum())} unit(s) assigned to a pair with no travel cost")
    stay_parts = flows.staying * cost_c
    bad_s = (flows.staying > 0) & np.isnan(cost_c)
    if bad_s.any():
        warnings.append(
            f"{level}: {int(bad_s.sum())} unit(s) keep pupils at today's school with no travel cost"
        )
    travel = math.fsum(travel_parts[~np.isnan(travel_parts)]) + math.fsum(
        stay_parts[~np.isnan(stay_parts)]
    )

    over = np.maximum(flows.load - seats, 0)
    moved_mask = (current >= 0) & (assign != current)
    moved = int(flows.movable[moved_mask].sum())

    balance = 0.0
    if settings.balance_delta is not None:
        mig = level_migrants(district, level)
        p = district.pupils(level).astype(float)
        share = math.fsum(mig) / max(math.fsum(p), 1e-12)
        with np.errstate(invalid="ignore", divide="ignore"):
            frac_move = np.where(p > 0, flows.movable / np.where(p > 0, p, 1.0), 0.0)
        m_load = np.zeros(len(seats))
        ok = assign >= 0
        np.add.at(m_load, assign[ok], mig[ok] * frac_move[ok])
        cur_ok = current >= 0
        np.add.at(m_load, current[cur_ok], mig[cur_ok] * (1.0 - frac_move[cur_ok]))
        dev = np.abs(m_load - share * flows.load) - settings.balance_delta * flows.load
        balance = math.fsum(np.maximum(dev, 0.0))

    w = settings.weights
    terms = {
        "overflow_pupils": float(over.sum()),
        "travel_cost": travel,
        "moved_pupils": float(moved),
        "balance_excess": balance,
    }
    weighted = {
        "overflow": w.overflow * terms["overflow_pupils"],
        "travel": w.travel * terms["travel_cost"],
        "moved": w.moved * terms["moved_pupils"],
        "balance": w.balance * terms["balance_excess"],
    }
    pupils_total = int(district.pupils(level).sum())
    return {
        "objective": math.fsum(weighted.values()),
        **terms,
        "weighted_terms": weighted,
        "pupils": pupils_total,
        "movable_pupils": int(flows.movable.sum()),
        "moved_share": moved / max(pupils_total, 1),
        "mean_travel": travel / pupils_total if pupils_total else 0.0,
        "schools_over_capacity": int(((over > 0) & serves).sum()),
        "unassigned_units": int((assign < 0).sum()),
        "warnings": warnings,
    }


def school_table(
    district: District, settings: CatchmentSettings, level: Level, assign: np.ndarray
) -> pd.DataFrame:
    """Per school serving ``level`` (or receiving pupils): pupils, seats, overflow, classes."""
    flows = level_flows(district, level, np.asarray(assign, dtype=np.int64), settings.phase_in)
    cap = district.policy.class_size_cap[level]
    seats = district.seats(level)
    keep = district.serves(level) | (flows.load > 0)
    classes = (-(-flows.grade_load // cap)).sum(axis=1)  # ceil per grade, summed
    with np.errstate(invalid="ignore", divide="ignore"):
        util = np.where(seats > 0, flows.load / np.where(seats > 0, seats, 1), np.nan)
    df = pd.DataFrame(
        {
            "school_id": district.schools["school_id"].to_numpy(),
            "level": level,
            "status": district.schools["status"].to_numpy(),
            "pupils": flows.load,
            "seats": seats,
            "overflow": np.maximum(flows.load - seats, 0),
            "classes": classes,
            "utilisation": np.round(util, 6),
        }
    )
    return df[keep].reset_index(drop=True)


# -- the plan ------------------------------------------------------------------------------------
@dataclass
class CatchmentPlan:
    """A solved catchment plan: the solutions per level, the assignment and a JSON summary.

    Attributes
    ----------
    district : District
        The district it plans.
    settings : CatchmentSettings
        The settings it was solved with.
    solutions : dict
        Level → :class:`~solvers.catchment.types.LevelSolution`, as the solver returned them.
    assignment : dict
        Level → int64 array, school position per unit (−1 = unassigned).
    summary : dict
        JSON-ready summary (the content of ``summary.json``).
    """

    district: District
    settings: CatchmentSettings
    solutions: dict[Level, LevelSolution]
    assignment: dict[Level, np.ndarray]
    summary: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_solutions(
        cls,
        district: District,
        settings: CatchmentSettings,
        solutions: dict[Level, LevelSolution],
    ) -> CatchmentPlan:
        """Build the plan and its summary; every KPI is recomputed from the assignment.

        Raises
        ------
        ValueError
            When a solution's ``assign`` does not have one entry per unit.
        """
        n_u = len(district.units)
        assignment: dict[Level, np.ndarray] = {}
        for level, sol in solutions.items():
            a = np.asarray(sol.assign, dtype=np.int64)
            if a.shape != (n_u,):
                raise ValueError(f"{level}: assign has shape {a.shape}, expected ({n_u},)")
            assignment[level] = a
        plan = cls(district, settings, dict(solutions), assignment)
        plan.summary = plan._summarise()
        return plan

    # -- summary -------------------------------------------------------------------------------
    def _summarise(self) -> dict[str, Any]:
        levels: dict[str, Any] = {}
        warnings: list[str] = []
        for level, sol in self.solutions.items():
            k = level_kpis(self.district, self.settings, level, self.assignment[level])
            warnings += k.pop("warnings")
            warnings += [str(x) for x in sol.info.get("warnings", [])]
            obj = k["objective"]
            if not _close(obj, sol.objective, 1e-6) and sol.status != "infeasible":
                warnings.append(
                    f"{level}: solver reported objective {sol.objective:.6f}, "
                    f"recomputed {obj:.6f} (the summary uses the recomputed one)"
                )
            if sol.status == "optimal" and _gap(obj, float(sol.bound)) > 1e-6:
                warnings.append(
                    f"{level}: reported optimal, but the recomputed objective is "
                    f"{100 * _gap(obj, float(sol.bound)):.4f} % above the bound (within gap_limit?)"
                )
            levels[level] = {
                "status": sol.status,
                **k,
                "solver_objective": float(sol.objective),
                "bound": float(sol.bound),
                "gap": _gap(obj, float(sol.bound)),
                # which plans the bound covers: all allowed pairs (pricing) or the sparse set
                "bound_scope": str(sol.info.get("bound_scope", "")),
                "priced_pairs": int(sol.info.get("pricing_added_pairs", 0) or 0),
                "solve_seconds": float(sol.solve_seconds),
                "first_feasible_seconds": sol.first_feasible_seconds,
                "solver": sol.solver,
                "contiguity_waived_units": self._waived(sol),
                # travel + moved (+ balance) part alone vs every plan with no more overflow
                "gap_travel_moved": _opt_float(sol.info.get("gap_travel_moved")),
                "overflow_lower_bound": _opt_float(sol.info.get("overflow_lower_bound")),
                "overflow_proven_minimal": bool(sol.info.get("overflow_proven_minimal", False)),
                # the lexicographic overflow pass (solve.py), when it ran: cap K, MIP status
                # and bound under Σ overflow ≤ K, LP bound under Σ overflow ≥ K + 1
                "overflow_pass": {
                    k.removeprefix("overflow_pass_"): sol.info[k]
                    for k in (
                        "overflow_pass_cap",
                        "overflow_pass_status",
                        "overflow_pass_mip_bound",
                        "overflow_pass_lp_bound",
                    )  # fmt: skip
                    if k in sol.info
                }
                or None,
                # false when the wall clock (safety cap, or deterministic=False) or a stop
                # ended a stage: a rerun may then give another plan
                "deterministic": bool(sol.info.get("deterministic", False)),
                "deterministic_reason": str(sol.info.get("deterministic_reason", "")),
            }
        school_size = self._class_sizes(levels, warnings)
        blocks = list(levels.values())
        status = max((b["status"] for b in blocks), key=STATUS_ORDER.index, default="infeasible")
        objective = math.fsum(b["objective"] for b in blocks)
        bound = math.fsum(b["bound"] for b in blocks)
        ff = [b["first_feasible_seconds"] for b in blocks]
        terms = {
            t: math.fsum(b[t] for b in blocks)
            for t in ("overflow_pupils", "travel_cost", "moved_pupils", "balance_excess")
        }
        weighted = {
            t: math.fsum(b["weighted_terms"][t] for b in blocks)
            for t in ("overflow", "travel", "moved", "balance")
        }
        solvers = sorted({b["solver"] for b in blocks})
        return {
            "problem": "catchment",
            "district": self.district.name,
            "status": status,
            "objective": objective,
            "solver_objective": math.fsum(b["solver_objective"] for b in blocks),
            "bound": bound,
            "gap": _gap(objective, bound),
            "solve_seconds": math.fsum(b["solve_seconds"] for b in blocks),
            # the slowest level's time to its first plan (levels are solved independently)
            "first_feasible_seconds": None if any(x is None for x in ff) else max(ff, default=None),
            "seed": self.settings.seed,
            "deterministic": all(b["deterministic"] for b in blocks),
            "solver": "+".join(solvers),
            **terms,
            "terms": terms,
            "weighted_terms": weighted,
            "pupils": sum(b["pupils"] for b in blocks),
            "units": len(self.district.units),
            "schools": len(self.district.schools),
            "levels": levels,
            "school_size": school_size,
            "settings": self.settings.model_dump(mode="json"),
            "warnings": warnings,
        }

    def _class_sizes(self, levels: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
        """Class-size bands and school-size limits of the plan (``planner.metrics``).

        Seats are a per-school total (classrooms × cap), so a plan at 100 % of seats can still
        pack some grades over the cap. The figures assume every pupil at the planned school (the
        state once any phase-in is complete). Adds ``classes`` to each level block and a warning
        per level with classes over the cap; returns the school-size block.
        """
        from planner.metrics import class_sizes

        by_level, over = class_sizes(self.district, self.assignment)
        for level, block in levels.items():
            c = by_level.get(level)
            if not c:
                continue
            block["classes"] = {
                k: c[k]
                for k in (
                    "cap",
                    "packed",
                    "over_cap",
                    "over_rooms",
                    "large",
                    "super_large",
                    "large_share",
                    "super_large_share",
                    "largest",
                    "large_band",
                    "super_large_min",
                )  # fmt: skip
                if k in c
            }
            if c.get("over_cap", 0) > 0:
                lo, hi = c["large_band"]
                warnings.append(
                    f"{level}: packing each school's grades into its classrooms leaves "
                    f"{c['over_cap']} of {c['packed']} classes over the cap of {c['cap']} "
                    f"({c['large']} 大班额 {lo}–{hi}, {c['super_large']} 超大班额 ≥"
                    f"{c['super_large_min']}; largest {c['largest']}); seats are a per-school "
                    "total, so see `schoolplan metrics --assignment` per school"
                )
        n_over = len(over)
        if n_over:
            warnings.append(
                f"{n_over} school(s) over the school-size limit: "
                + ", ".join(over[:10])
                + (" …" if n_over > 10 else "")
            )
        out: dict[str, Any] = {"violations": n_over, "schools": over}
        return out

    def _waived(self, sol: LevelSolution) -> list[str]:
        """Unit ids the solver exempted from contiguity (``info["contiguity_waived"]``).

        A solver waives the rule for units that cannot join any allowed school contiguously; it
        names them (positions or ids) so that the validator can tell a waiver from a violation.
        """
        raw = sol.info.get("contiguity_waived")
        if raw is None or len(raw) == 0:
            return []
        ids = self.district.units["unit_id"].astype(str).to_numpy()
        arr = np.asarray(raw)
        return sorted(
            ids[arr.astype(np.int64)].tolist() if arr.dtype.kind in "iu" else map(str, arr)
        )

    # -- tables --------------------------------------------------------------------------------
    def assignment_table(self) -> pd.DataFrame:
        """``unit_id, level, school_id`` for every unit and solved level (empty id = none)."""
        ids = self.district.schools["school_id"].to_numpy(dtype=object)
        unit_ids = self.district.units["unit_id"].to_numpy(dtype=object)
        frames = []
        for level, a in self.assignment.items():
            sid = np.where(a >= 0, ids[np.maximum(a, 0)], "")
            frames.append(pd.DataFrame({"unit_id": unit_ids, "level": level, "school_id": sid}))
        return pd.concat(frames, ignore_index=True)

    def school_table(self) -> pd.DataFrame:
        """Per school and level: pupils, seats, overflow, classes, utilisation."""
        frames = [
            school_table(self.district, self.settings, level, a)
            for level, a in self.assignment.items()
        ]
        return pd.concat(frames, ignore_index=True)

    def diff_table(self) -> pd.DataFrame:
        """Units whose school changed from today: ``unit_id, level, from_school, to_school, pupils``.

        ``pupils`` are the pupils that move (entering grade only under phase-in); units without a
        school today appear with an empty ``from_school``.
        """
        ids = self.district.schools["school_id"].to_numpy(dtype=object)
        unit_ids = self.district.units["unit_id"].to_numpy(dtype=object)
        frames = []
        for level, a in self.assignment.items():
            cur = self.district.current(level)
            flows = level_flows(self.district, level, a, self.settings.phase_in)
            ch = a != cur
            frames.append(
                pd.DataFrame(
                    {
                        "unit_id": unit_ids[ch],
                        "level": level,
                        "from_school": np.where(cur[ch] >= 0, ids[np.maximum(cur[ch], 0)], ""),
                        "to_school": np.where(a[ch] >= 0, ids[np.maximum(a[ch], 0)], ""),
                        "pupils": flows.movable[ch],
                    }
                )
            )
        cols = ["unit_id", "level", "from_school", "to_school", "pupils"]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)

    # -- files ---------------------------------------------------------------------------------
    def write(self, out_dir: Path, *, geometry: bool = True) -> list[Path]:
        """Write every output file into ``out_dir`` atomically; return the paths written.

        Files are first written to a temporary folder beside ``out_dir`` and then moved in one by
        one (``os.replace``), so a failure while writing leaves no half-written file in ``OUT``.
        ``geometry=False`` skips ``catchments.geojson`` and ``map.png`` (fast runs, benchmarks).
        """
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".catchment-", dir=out_dir))
        try:
            names = []
            self.assignment_table().to_csv(tmp / "assignment.csv", index=False, lineterminator="\n")
            self.school_table().to_csv(tmp / "schools.csv", index=False, lineterminator="\n")
            self.diff_table().to_csv(tmp / "diff.csv", index=False, lineterminator="\n")
            names += ["assignment.csv", "schools.csv", "diff.csv"]
            (tmp / "summary.json").write_text(
                dumps(self.summary, indent=2) + "\n",
                encoding="utf-8",
            )
            names.append("summary.json")
            if geometry:
                names += self._write_geometry(tmp)
            paths = []
            for name in names:
                os.replace(tmp / name, out_dir / name)
                paths.append(out_dir / name)
            return paths
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def _write_geometry(self, tmp: Path) -> list[str]:
        from geo.dissolve import dissolve_catchments, to_wgs84
        from geo.maps import MapPanel, catchment_map

        ids = self.district.schools["school_id"].to_numpy(dtype=object)
        frames, panels = [], []
        for level, a in self.assignment.items():
            sid = np.where(a >= 0, ids[np.maximum(a, 0)], "")
            frames.append(dissolve_catchments(self.district.units, sid, level))
            b = self.summary["levels"][level]
            panels.append(
                MapPanel(
                    level=level,
                    school_ids=sid,
                    moved=(self.district.current(level) >= 0) & (a != self.district.current(level)),
                    schools=school_table(self.district, self.settings, level, a),
                    subtitle=(
                        f"{b['status']}, gap {100 * b['gap']:.2f}%, "
                        f"mean travel {b['mean_travel']:,.0f} {self.district.travel_unit}, "
                        f"overflow {b['overflow_pupils']:,.0f}, moved {b['moved_pupils']:,.0f}"
                    ),
                )
            )
        gdf = pd.concat(frames, ignore_index=True)
        to_wgs84(gdf).to_file(tmp / "catchments.geojson", driver="GeoJSON")
        s = self.summary
        title = (
            f"{self.district.name}: catchment plan ({s['status']}, gap {100 * s['gap']:.2f}%, "
            f"{s['solver']}, seed {s['seed']})\n"
            f"travel {s['travel_cost']:,.0f} pupil·{self.district.travel_unit}, "
            f"overflow {s['overflow_pupils']:,.0f} pupils, moved {s['moved_pupils']:,.0f} pupils"
        )
        schools = self.district.schools[["school_id", "x", "y"]]
        catchment_map(self.district.units, schools, panels, tmp / "map.png", title=title)
        return ["catchments.geojson", "map.png"]


def _gap(objective: float, bound: float) -> float:
    """Relative gap |obj − bound| / max(|obj|, 1e-9), the same definition as ProgressEvent."""
    return abs(objective - bound) / max(abs(objective), 1e-9)


def _close(a: float, b: float, rel: float) -> bool:
    return abs(a - b) <= rel * max(abs(a), abs(b), 1.0)


__all__ = [
    "OUTPUT_FILES",
    "STATUS_ORDER",
    "CatchmentPlan",
    "LevelFlows",
    "level_flows",
    "level_kpis",
    "level_migrants",
    "usable_schools",
    "pair_costs",
    "school_table",
    "unit_grades",
]


def _opt_float(v: Any) -> float | None:
    """``float(v)``, or None when ``v`` is None or not finite (JSON-ready)."""
    if v is None:
        return None
    f = float(v)
    return f if math.isfinite(f) else None
