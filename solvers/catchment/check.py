"""The solver-independent validator of a catchment plan.

:func:`check_catchment` reads only the files of a result folder (``assignment.csv``,
``summary.json`` and, when present, ``decisions.csv``, ``schools.csv``, ``diff.csv``) and the
district, then checks every rule and recomputes every objective term itself, with code that
shares nothing with the solvers nor with :mod:`solvers.catchment.plan` (tables joined by id here,
arrays by position there), so the two cross-check each other.

Rules (one function each, named in :attr:`Violation.rule`):

* ``once``: each unit appears exactly once per solved level, no unknown unit;
* ``school``: the school exists, serves the level and is open (``decisions.csv`` may open a
  candidate or close a school, and add classrooms);
* ``pair``: the pair is allowed: listed in ``travel.csv`` when the district has one, within
  ``max_travel``, within (1+α) × the unit's travel to today's school (today's school itself is
  always allowed; without a ``travel.csv`` row its cost is the straight line when the travel unit
  is metres);
* ``locked``: locked units stay at today's school;
* ``max_moved_share``: moved pupils ≤ ⌊share × the level's pupils⌋;
* ``phase_in``: reported per-school pupils and moved pupils (``schools.csv``, ``diff.csv``)
  match the phase-in rule: only the entering grade follows the plan, the others stay;
* ``contiguity``: each catchment is connected on the unit adjacency graph within each connected
  part of the district; a piece holding a unit locked to the school is allowed besides (the
  planner fixed it), and so is one holding a unit the solver declared waived
  (``contiguity_waived_units`` in ``summary.json``: no allowed school is reachable contiguously;
  listed in :attr:`CheckReport.notes`);
* ``closer_neighbour`` (that variant only): a unit joins school j only when it is a root of j
  (the allowed unit nearest j by cost or by straight line, per connected part of the district,
  ties by unit order; or a unit locked to j) or a neighbour nearer to j (by (cost, unit order))
  also joins j;
* ``summary``: every figure in ``summary.json`` equals the recomputed one (1e-6 relative).

The objective terms are defined in :mod:`solvers.catchment.plan`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from planner.model import SERVES, District
from planner.policy import ENTRY_GRADE, GRADES, Level
from solvers.catchment.types import CatchmentSettings

#: Relative tolerance when comparing reported and recomputed figures.
REL_TOL = 1e-6
#: Terms compared between summary.json and the recomputation, per level and in total.
TERM_KEYS: tuple[str, ...] = (
    "objective",
    "travel_cost",
    "overflow_pupils",
    "moved_pupils",
    "balance_excess",
)


@dataclass(frozen=True)
class Violation:
    """One broken rule: which rule, which level, and a sentence with the numbers."""

    rule: str
    level: str
    message: str

    def __str__(self) -> str:
        return f"[{self.rule}] {self.level}: {self.message}"


@dataclass
class CheckReport:
    """The verdict on a result folder.

    Attributes
    ----------
    violations : list of Violation
        Every broken rule (empty when the plan is valid).
    terms : dict
        Recomputed figures: ``{"total": {...}, "primary": {...}, "junior": {...}}``.
    notes : list of str
        Things accepted but worth knowing (units the solver exempted from contiguity).
    """

    violations: list[Violation] = field(default_factory=list)
    terms: dict[str, dict[str, float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no rule is broken."""
        return not self.violations

    def add(self, rule: str, level: str, message: str) -> None:
        """Record a violation."""
        self.violations.append(Violation(rule, level, message))

    def rules(self) -> set[str]:
        """The names of the broken rules."""
        return {v.rule for v in self.violations}

    def __str__(self) -> str:
        lines = [str(v) for v in self.violations] or ["no violations"]
        lines += [f"note: {n}" for n in self.notes]
        for scope, t in self.terms.items():
            lines.append(scope + ": " + ", ".join(f"{k} {v:,.6f}" for k, v in t.items()))
        return "\n".join(lines)


# -- inputs --------------------------------------------------------------------------------------
def _school_state(district: District, out_dir: Path, report: CheckReport) -> pd.DataFrame:
    """Schools indexed by id with ``level, open, extra_classrooms_<level>`` after decisions."""
    s = district.schools.set_index("school_id")
    state = pd.DataFrame(
        {
            "level": s["level"],
            "open": s["status"] == "open",
            "extra_primary": 0,
            "extra_junior": 0,
        }
    )
    path = out_dir / "decisions.csv"
    if not path.exists():
        return state
    dec = pd.read_csv(path, dtype={"school_id": str}, keep_default_na=False)
    for _, row in dec.iterrows():
        sid = str(row["school_id"])
        if sid not in state.index:
            report.add("school", "all", f"decisions.csv names unknown school {sid!r}")
            continue
        if "open" in dec.columns and str(row["open"]) != "":
            state.loc[sid, "open"] = int(float(row["open"])) == 1
        for lv in ("primary", "junior"):
            col = f"classrooms_added_{lv}"
            if col in dec.columns and str(row[col]) != "":
                state.loc[sid, f"extra_{lv}"] += int(float(row[col]))
            elif "classrooms_added" in dec.columns and str(row["classrooms_added"]) != "":
                lvl = str(row["level"]) if "level" in dec.columns else ""
                if (lvl in ("", lv)) and state.loc[sid, "level"] in SERVES[lv]:  # type: ignore[index]
                    state.loc[sid, f"extra_{lv}"] += int(float(row["classrooms_added"]))
    return state


def _seats(district: District, state: pd.DataFrame, level: Level) -> pd.Series:
    """Seats by school id for ``level``: capacity if given else classrooms × cap, + decisions."""
    cap = district.policy.class_size_cap[level]
    s = district.schools.set_index("school_id")
    rooms = s[f"classrooms_{level}"].astype(float)
    given = s[f"capacity_{level}"].astype(float)
    seats = given.where(given.notna(), rooms * cap) + state[f"extra_{level}"] * cap
    seats = seats.where(s["level"].isin(SERVES[level]), 0.0)
    return seats.round().astype(np.int64)


def _unit_table(
    district: District, level: Level, phase_in: bool, state: pd.DataFrame
) -> pd.DataFrame:
    """Per unit id: pupils, grades, movable pupils per grade, today's school, migrants."""
    u = district.units
    grades = GRADES[level]
    pupils = u[f"pupils_{level}"].astype(np.int64).to_numpy()
    cols = [f"g{g}" for g in grades]
    raw = u[cols].astype(np.int64).to_numpy()
    g = raw.copy()
    rows_ok = g.sum(axis=1) == pupils
    if not rows_ok.all():
        n = len(grades)
        for i in np.flatnonzero(~rows_ok):  # even split, largest remainder to the lower grades
            q, r = divmod(int(pupils[i]), n)
            g[i] = [q + (1 if k < r else 0) for k in range(n)]
    usable = state.index[state["open"] & state["level"].isin(SERVES[level])]
    ids = set(state.index)
    cur = u[f"current_{level}"].astype(str).where(u[f"current_{level}"].astype(str).isin(ids), "")
    t = pd.DataFrame({"unit_id": u["unit_id"].astype(str).to_numpy(), "current": cur.to_numpy()})
    t["pupils"] = pupils
    t["locked"] = u["locked"].astype(bool).to_numpy()
    t["x"] = u["x"].astype(float).to_numpy()
    t["y"] = u["y"].astype(float).to_numpy()
    t["order"] = np.arange(len(u))
    both = (
        u["pupils_primary"].astype(float).to_numpy() + u["pupils_junior"].astype(float).to_numpy()
    )
    share = np.clip(u["migrant_pupils"].astype(float).to_numpy() / np.maximum(both, 1.0), 0.0, 1.0)
    t["migrant_share"] = share
    t["migrants"] = share * pupils
    # phase-in: a unit whose school today is usable moves only its entering grade
    entry = grades.index(ENTRY_GRADE[level])
    phased = phase_in & t["current"].isin(usable).to_numpy()
    t["movable"] = np.where(phased, np.minimum(raw[:, entry], pupils), pupils)
    t["staying"] = t["pupils"] - t["movable"]
    for k, grade in enumerate(grades):
        t[f"g{grade}"] = g[:, k]
        if k == entry:
            t[f"m{grade}"] = np.where(phased, t["movable"], g[:, k])
        else:
            t[f"m{grade}"] = np.where(phased, 0, g[:, k])
    return t.set_index("unit_id")


def _pair_cost(district: District, units: pd.Series, schools: pd.Series) -> np.ndarray:
    """Cost of each (unit id, school id) pair; NaN when the pair is not in ``travel.csv``."""
    pairs = pd.DataFrame({"unit_id": units.astype(str).to_numpy(), "school_id": schools.to_numpy()})
    if district.travel is not None:
        t = district.travel[["unit_id", "school_id", "cost"]].astype(
            {"unit_id": str, "school_id": str}
        )
        t = t.drop_duplicates(["unit_id", "school_id"], keep="first")
        return pairs.merge(t, on=["unit_id", "school_id"], how="left")["cost"].to_numpy(float)
    return _straight(district, pairs["unit_id"], pairs["school_id"])


def _straight(district: District, units: pd.Series, schools: pd.Series) -> np.ndarray:
    """Straight-line metres of (unit id, school id) pairs."""
    ux = district.units.set_index(district.units["unit_id"].astype(str))
    sx = district.schools.set_index("school_id")
    dx = units.map(ux["x"]).to_numpy(float) - schools.map(sx["x"]).to_numpy(float)
    dy = units.map(ux["y"]).to_numpy(float) - schools.map(sx["y"]).to_numpy(float)
    return np.sqrt(dx**2 + dy**2)


def adjacency_edges(district: District) -> pd.DataFrame:
    """Unit adjacency as ``unit_a, unit_b`` ids (undirected, each edge once).

    :func:`geo.adjacency.unit_adjacency`: the district's ``adjacency.csv`` when given, else
    shared polygon boundaries, else Delaunay on points; isolated units joined to their nearest.
    """
    from geo.adjacency import unit_adjacency

    ids = district.units["unit_id"].astype(str).to_numpy()
    a, b = unit_adjacency(district)
    return pd.DataFrame(
        {"unit_a": ids[np.asarray(a, np.int64)], "unit_b": ids[np.asarray(b, np.int64)]}
    )


def _components(nodes: list[str], edges: pd.DataFrame) -> dict[str, str]:
    """Union-find: each node → the root of its connected component."""
    parent = {n: n for n in nodes}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in zip(edges["unit_a"], edges["unit_b"], strict=True):
        if a in parent and b in parent:
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    return {n: find(n) for n in nodes}


# -- the check -----------------------------------------------------------------------------------
def check_catchment(
    district: District, out_dir: Path, settings: CatchmentSettings | None = None
) -> CheckReport:
    """Check a catchment result folder rule by rule and recompute every objective term.

    Parameters
    ----------
    district : District
        The district the plan is for.
    out_dir : pathlib.Path
        Folder with ``assignment.csv`` and ``summary.json`` (and optionally ``decisions.csv``,
        ``schools.csv``, ``diff.csv``).
    settings : CatchmentSettings, optional
        Settings to check against; default: ``settings`` of ``summary.json``.

    Returns
    -------
    CheckReport
        Violations (empty when valid) and the recomputed terms.
    """
    out_dir = Path(out_dir)
    report = CheckReport()
    summary: dict[str, Any] | None = None
    if (out_dir / "summary.json").exists():
        summary = json.loads((out_dir / "summary.json").read_text(encoding="utf-8"))
    else:
        report.add("files", "all", f"{out_dir / 'summary.json'} is missing")
    if settings is None:
        settings = CatchmentSettings.model_validate((summary or {}).get("settings", {}))
    if not (out_dir / "assignment.csv").exists():
        report.add("files", "all", f"{out_dir / 'assignment.csv'} is missing")
        return report
    assignment = pd.read_csv(out_dir / "assignment.csv", dtype=str, keep_default_na=False)
    state = _school_state(district, out_dir, report)
    edges = adjacency_edges(district) if settings.contiguity != "none" else None

    total: dict[str, float] = dict.fromkeys(TERM_KEYS, 0.0)
    for level in settings.levels():
        rows = assignment[assignment["level"] == level]
        block = (summary or {}).get("levels", {}).get(level, {})
        waived = {str(u) for u in block.get("contiguity_waived_units", [])}
        terms = _check_level(district, settings, level, rows, state, edges, out_dir, report, waived)
        report.terms[level] = terms
        for k in TERM_KEYS:
            total[k] += terms[k]
    extra = set(assignment["level"]) - set(settings.levels())
    if extra:
        report.add("once", "all", f"assignment.csv has rows for unsolved level(s) {sorted(extra)}")
    report.terms["total"] = total
    if summary is not None:
        _check_summary(summary, report)
    return report


def _check_level(
    district: District,
    settings: CatchmentSettings,
    level: Level,
    rows: pd.DataFrame,
    state: pd.DataFrame,
    edges: pd.DataFrame | None,
    out_dir: Path,
    report: CheckReport,
    waived: set[str],
) -> dict[str, float]:
    units = _unit_table(district, level, settings.phase_in, state)
    # -- once: every unit exactly once ------------------------------------------------------------
    counts = rows["unit_id"].value_counts()
    for uid, n in counts[counts > 1].items():
        report.add("once", level, f"unit {uid} is assigned {n} times")
    unknown = sorted(set(counts.index) - set(units.index))
    for uid in unknown[:20]:
        report.add("once", level, f"assignment.csv names unknown unit {uid!r}")
    missing = [u for u in units.index if u not in counts.index]
    if missing:
        report.add("once", level, f"{len(missing)} unit(s) not assigned, e.g. {missing[:5]}")
    a = rows.drop_duplicates("unit_id", keep="first").set_index("unit_id")["school_id"]
    a = a.reindex(units.index).fillna("")
    units["school"] = a

    # -- school: exists, serves the level, open -----------------------------------------------------
    known = units["school"].isin(state.index)
    # a unit without pupils of the level and without any allowed school may stay unassigned
    for uid in units.index[
        (units["school"] == "") & ~units.index.isin(missing) & (units["movable"] > 0)
    ]:
        report.add(
            "school", level, f"unit {uid} has {units.at[uid, 'movable']} pupils but no school"
        )
    for uid, sid in units.loc[~known & (units["school"] != ""), "school"].items():
        report.add("school", level, f"unit {uid} is assigned to unknown school {sid!r}")
    assigned = units[known]
    bad_level = ~assigned["school"].map(state["level"]).isin(SERVES[level])
    for sid in sorted(set(assigned.loc[bad_level, "school"])):
        report.add("school", level, f"school {sid} does not teach {level} but has units")
    closed = ~assigned["school"].map(state["open"]).astype(bool)
    for sid in sorted(set(assigned.loc[closed, "school"])):
        report.add("school", level, f"school {sid} is not open (closed or candidate) but has units")

    # -- pair: allowed travel -----------------------------------------------------------------------
    cost = pd.Series(
        _pair_cost(district, assigned.index.to_series(), assigned["school"]), assigned.index
    )
    cur_has = assigned["current"] != ""
    cur_cost = pd.Series(np.nan, index=assigned.index)
    cur_cost[cur_has] = _pair_cost(
        district, assigned.index[cur_has].to_series(), assigned.loc[cur_has, "current"]
    )
    at_today = assigned["school"] == assigned["current"]
    if district.travel_unit == "m":  # today's pair missing from travel.csv: straight line
        miss = cost.isna() & at_today
        cost[miss] = _straight(
            district, assigned.index[miss].to_series(), assigned.loc[miss, "school"]
        )
        miss = cur_cost.isna() & cur_has
        cur_cost[miss] = _straight(
            district, assigned.index[miss].to_series(), assigned.loc[miss, "current"]
        )
    for uid in cost.index[cost.isna() & ~at_today]:
        report.add("pair", level, f"unit {uid} → {assigned.at[uid, 'school']} is not in travel.csv")
    if settings.max_travel is not None:
        far = (cost > settings.max_travel * (1 + 1e-9)) & ~at_today
        for uid in cost.index[far]:
            report.add(
                "pair", level,
                f"unit {uid} → {assigned.at[uid, 'school']} costs {cost[uid]:,.3f} > "
                f"max_travel {settings.max_travel:,.3f}",
            )  # fmt: skip
    if settings.alpha is not None:
        lim = (1 + settings.alpha) * cur_cost
        far = cur_has & cur_cost.notna() & (cost > lim * (1 + 1e-9) + 1e-9) & ~at_today
        for uid in cost.index[far]:
            report.add(
                "pair", level,
                f"unit {uid} → {assigned.at[uid, 'school']} costs {cost[uid]:,.3f} > "
                f"(1+{settings.alpha}) × today's {cur_cost[uid]:,.3f}",
            )  # fmt: skip

    # -- locked units stay ------------------------------------------------------------------------
    lk = units["locked"] & (units["current"] != "") & (units["school"] != units["current"])
    for uid in units.index[lk]:
        report.add(
            "locked", level,
            f"locked unit {uid} moved from {units.at[uid, 'current']} to {units.at[uid, 'school'] or 'none'}",
        )  # fmt: skip

    # -- terms ----------------------------------------------------------------------------------
    seats = _seats(district, state, level)
    stay = units["staying"][units["staying"] > 0]
    load = (
        pd.Series(0, index=state.index, dtype=np.int64)
        .add(assigned.groupby("school")["movable"].sum(), fill_value=0)
        .add(stay.groupby(units.loc[stay.index, "current"]).sum(), fill_value=0)
        .astype(np.int64)
    )
    overflow = (load - seats).clip(lower=0)
    cur_all = pd.Series(np.nan, index=units.index)
    ch = units["current"] != ""
    cur_all[ch] = _pair_cost(district, units.index[ch].to_series(), units.loc[ch, "current"])
    if district.travel_unit == "m":
        miss = cur_all.isna() & ch
        cur_all[miss] = _straight(
            district, units.index[miss].to_series(), units.loc[miss, "current"]
        )
    travel = math.fsum(
        (assigned["movable"] * cost).dropna().tolist()
        + (units["staying"] * cur_all).dropna().tolist()
    )
    moved_mask = (units["current"] != "") & (units["school"] != units["current"])
    moved = float(units.loc[moved_mask, "movable"].sum())
    balance = 0.0
    if settings.balance_delta is not None:
        share = math.fsum(units["migrants"]) / max(float(units["pupils"].sum()), 1e-12)
        m_in = (assigned["migrant_share"] * assigned["movable"]).groupby(assigned["school"]).sum()
        m_st = (
            (units["migrant_share"] * units["staying"])[ch].groupby(units.loc[ch, "current"]).sum()
        )
        mig = pd.Series(0.0, index=state.index).add(m_in, fill_value=0).add(m_st, fill_value=0)
        dev = (mig - share * load).abs() - settings.balance_delta * load
        balance = math.fsum(dev.clip(lower=0).tolist())
    w = settings.weights
    terms = {
        "objective": math.fsum(
            [
                w.overflow * float(overflow.sum()),
                w.travel * travel,
                w.moved * moved,
                w.balance * balance,
            ]
        ),
        "travel_cost": travel,
        "overflow_pupils": float(overflow.sum()),
        "moved_pupils": moved,
        "balance_excess": balance,
    }

    # -- max moved share --------------------------------------------------------------------------
    if settings.max_moved_share is not None:
        base = float(units["pupils"].sum())
        if moved > math.floor(settings.max_moved_share * base + 1e-9):
            report.add(
                "max_moved_share", level,
                f"{moved:,.0f} pupils moved > {settings.max_moved_share:.4g} × {base:,.0f} pupils",
            )  # fmt: skip

    # -- phase-in (and the per-school table) -----------------------------------------------------------
    _check_school_table(out_dir, level, load, seats, report)
    _check_diff(out_dir, level, units, report)

    # -- contiguity ---------------------------------------------------------------------------------
    if edges is not None:
        _check_contiguity(district, settings, level, units, edges, report, waived)
    return terms


def _check_school_table(
    out_dir: Path, level: Level, load: pd.Series, seats: pd.Series, report: CheckReport
) -> None:
    path = out_dir / "schools.csv"
    if not path.exists():
        return
    t = pd.read_csv(path, dtype={"school_id": str})
    t = t[t["level"] == level].set_index("school_id")
    for sid, r in t.iterrows():
        if sid not in load.index:
            report.add("phase_in", level, f"schools.csv names unknown school {sid!r}")
            continue
        if int(r["pupils"]) != int(load[sid]) or int(r["seats"]) != int(seats[sid]):
            report.add(
                "phase_in", level,
                f"schools.csv says {sid} has {int(r['pupils'])} pupils / {int(r['seats'])} seats; "
                f"recomputed {int(load[sid])} / {int(seats[sid])}",
            )  # fmt: skip
    for sid in load.index[(load > 0) & ~load.index.isin(t.index)]:
        report.add("phase_in", level, f"schools.csv lacks {sid}, which has {int(load[sid])} pupils")


def _check_diff(out_dir: Path, level: Level, units: pd.DataFrame, report: CheckReport) -> None:
    path = out_dir / "diff.csv"
    if not path.exists():
        return
    d = pd.read_csv(path, dtype=str, keep_default_na=False)
    d = d[d["level"] == level].set_index("unit_id")
    changed = units.index[units["school"] != units["current"]]
    if set(changed) != set(d.index):
        report.add(
            "phase_in", level,
            f"diff.csv lists {len(d)} changed unit(s), recomputed {len(changed)}",
        )  # fmt: skip
        return
    for uid in changed:
        if int(d.at[uid, "pupils"]) != int(units.at[uid, "movable"]):
            report.add(
                "phase_in", level,
                f"diff.csv moves {d.at[uid, 'pupils']} pupils of {uid}; "
                f"{int(units.at[uid, 'movable'])} may move",
            )  # fmt: skip


def _check_contiguity(
    district: District,
    settings: CatchmentSettings,
    level: Level,
    units: pd.DataFrame,
    edges: pd.DataFrame,
    report: CheckReport,
    waived: set[str],
) -> None:
    nodes = list(units.index)
    if waived:
        report.notes.append(
            f"{level}: the solver waived contiguity for {len(waived)} unit(s) that cannot join "
            f"any allowed school contiguously, e.g. {sorted(waived)[:5]}"
        )
    part = _components(nodes, edges)  # connected parts of the whole district
    school = units["school"]
    same = edges[
        edges["unit_a"].map(school).eq(edges["unit_b"].map(school))
        & edges["unit_a"].map(school).ne("")
    ]
    comp = _components(nodes, same)
    cat = pd.DataFrame({"school": school, "part": pd.Series(part), "comp": pd.Series(comp)})
    cat = cat[cat["school"] != ""]
    # a piece holding a unit locked to the school is anchored by the planner's decision
    anchored = (units["locked"] & (units["current"] == school)) | units.index.isin(list(waived))
    cat["anchored"] = anchored[cat.index]
    pieces = cat.groupby(["school", "part", "comp"])["anchored"].any().reset_index()
    free = pieces[~pieces["anchored"]].groupby(["school", "part"]).size()
    total = pieces.groupby(["school", "part"]).size()
    for (sid, prt), _n in free[free > 1].items():
        report.add(
            "contiguity", level,
            f"catchment of {sid} falls into {total[(sid, prt)]} disconnected pieces",
        )  # fmt: skip
    if settings.contiguity != "closer_neighbour":
        return
    # closer-neighbour rule, keyed by (cost to the school, unit order)
    nb = pd.concat(
        [edges, edges.rename(columns={"unit_a": "unit_b", "unit_b": "unit_a"})], ignore_index=True
    ).drop_duplicates()
    nb = nb[nb["unit_a"] != nb["unit_b"]]
    cat = cat.assign(order=units["order"])
    cat["cost"] = _pair_cost(district, cat.index.to_series(), cat["school"])
    for sid, grp in cat.groupby("school"):
        allowed = _allowed_units(district, settings, level, units, str(sid))
        ac = pd.DataFrame({"cost": allowed, "order": units.loc[allowed.index, "order"]})
        ac["part"] = ac.index.map(part)
        # the root: nearest allowed unit by cost, or by straight line to the school's point
        seeds = set(ac.sort_values(["cost", "order"]).groupby("part").head(1).index)
        sx, sy = district.schools.set_index("school_id").loc[str(sid), ["x", "y"]]
        ac["dist"] = np.hypot(units.loc[ac.index, "x"] - sx, units.loc[ac.index, "y"] - sy)
        seeds |= set(ac.sort_values(["dist", "order"]).groupby("part").head(1).index)
        seeds |= set(units.index[units["locked"] & (units["current"] == str(sid))])
        seeds |= waived
        key = {u: (grp.at[u, "cost"], grp.at[u, "order"]) for u in grp.index}
        members = set(grp.index)
        nbs = nb[nb["unit_a"].isin(members) & nb["unit_b"].isin(members)]
        ok = {u for u in members if u in seeds}
        for ua, ub in zip(nbs["unit_a"], nbs["unit_b"], strict=True):
            if key[ub] < key[ua]:
                ok.add(ua)
        bad = sorted(members - ok, key=lambda u: units.at[u, "order"])
        if bad:
            report.add(
                "closer_neighbour", level,
                f"{len(bad)} unit(s) of {sid} have no neighbour nearer to it in its catchment, "
                f"e.g. {bad[:5]}",
            )  # fmt: skip


def _allowed_units(
    district: District, settings: CatchmentSettings, level: Level, units: pd.DataFrame, sid: str
) -> pd.Series:
    """Cost to ``sid`` of every unit for which the pair is allowed (travel, max_travel, α)."""
    c = pd.Series(
        _pair_cost(district, units.index.to_series(), pd.Series(sid, index=units.index)),
        units.index,
    )
    ok = c.notna()
    if settings.max_travel is not None:
        ok &= c <= settings.max_travel * (1 + 1e-9)
    if settings.alpha is not None:
        has = units["current"] != ""
        cc = pd.Series(np.nan, index=units.index)
        cc[has] = _pair_cost(district, units.index[has].to_series(), units.loc[has, "current"])
        ok &= ~(has & cc.notna() & (c > (1 + settings.alpha) * cc * (1 + 1e-9) + 1e-9))
    return c[ok]


def _check_summary(summary: dict[str, Any], report: CheckReport) -> None:
    """Reported figures must equal the recomputed ones (relative tolerance REL_TOL)."""

    def cmp(scope: str, reported: dict[str, Any], mine: dict[str, float]) -> None:
        for k in TERM_KEYS:
            if k not in reported:
                report.add("summary", scope, f"summary.json lacks {k}")
                continue
            r = reported[k]
            if r is None or abs(float(r) - mine[k]) > REL_TOL * max(abs(mine[k]), 1.0):
                report.add("summary", scope, f"{k} reported {r}, recomputed {mine[k]:.6f}")

    cmp("total", summary, report.terms["total"])
    levels = summary.get("levels", {})
    for lv, mine in report.terms.items():
        if lv == "total":
            continue
        if lv not in levels:
            report.add("summary", lv, "summary.json has no block for this level")
        else:
            cmp(lv, levels[lv], mine)
    bound, obj = summary.get("bound"), summary.get("objective")
    if isinstance(bound, int | float) and isinstance(obj, int | float):
        gap = abs(obj - bound) / max(abs(obj), 1e-9)
        if abs(gap - float(summary.get("gap", gap))) > REL_TOL:
            report.add(
                "summary", "total", f"gap reported {summary.get('gap')}, recomputed {gap:.6g}"
            )


__all__ = ["REL_TOL", "CheckReport", "Violation", "adjacency_edges", "check_catchment"]
