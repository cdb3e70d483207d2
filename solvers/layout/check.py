"""Solver-independent check of a single-year layout result folder.

The catchment rules (every unit once per level, allowed pairs, locked units, contiguity, the
reported travel, overflow and moved figures) are checked by
:func:`solvers.catchment.check.check_catchment`, which applies ``decisions.csv`` first. This
module adds the layout's own rules, recomputed from ``decisions.csv`` and the district alone:
each decision is one a school of its status may take, classrooms stay within
``max_extra_classrooms``, each cost equals open cost + classrooms × cost per classroom, the build
cost is their sum and within the budget, and the number of open schools keeps ``--open-exactly``
or ``--max-open``. The layout objective (build cost + weighted travel + overflow) differs from the
catchment objective, so the catchment's own objective is compared with ``catchment_objective``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from planner.model import District
from solvers.catchment.check import REL_TOL, CheckReport, check_catchment

#: Actions a school may take, by its status in the district.
ALLOWED_ACTIONS: dict[str, set[str]] = {
    "open": {"keep", "expand", "close", "merge"},
    "candidate": {"open", "none"},
    "closed": {"none"},
}


def check_layout(district: District, out_dir: Path) -> CheckReport:
    """Check a ``solve layout`` result folder rule by rule; see the module docstring."""
    summary: dict[str, Any] = json.loads((out_dir / "summary.json").read_text(encoding="utf-8"))
    report = check_catchment(district, out_dir)
    # the top-level objective and gap are the layout's, not the catchment's: compared below
    report.violations = [
        v
        for v in report.violations
        if not (
            v.rule == "summary"
            and v.level == "total"
            and v.message.startswith(("objective ", "gap "))
        )
    ]
    mine = report.terms.get("total", {}).get("objective")
    rep = summary.get("catchment_objective")
    if (
        mine is not None
        and rep is not None
        and abs(float(rep) - mine) > REL_TOL * max(abs(mine), 1.0)
    ):
        report.add("summary", "total", f"catchment_objective reported {rep}, recomputed {mine:.6f}")
    settings = summary.get("layout_settings", {})
    dec_path = out_dir / "decisions.csv"
    if not dec_path.exists():
        report.add("files", "all", f"{dec_path} is missing")
        return report
    dec = pd.read_csv(dec_path, dtype={"school_id": str}, keep_default_na=False)
    sch = district.schools.set_index("school_id")
    seen: set[str] = set()
    build = 0.0
    n_open = 0
    for r in dec.itertuples(index=False):
        sid = str(r.school_id)
        if sid not in sch.index:
            report.add("decisions", "all", f"{sid} is not a school of the district")
            continue
        if sid in seen:
            report.add("decisions", "all", f"{sid} has more than one decision")
        seen.add(sid)
        status = str(sch.at[sid, "status"])
        action = str(r.action)
        if action not in ALLOWED_ACTIONS.get(status, set()):
            report.add("decisions", "all", f"{sid} ({status}) cannot '{action}'")
        if action in ("close", "merge") and not settings.get("allow_closure", False):
            report.add("decisions", "all", f"{sid} is closed but closure was not allowed")
        is_open = int(r.open)
        if is_open != int(action in ("keep", "expand", "open")):
            report.add("decisions", "all", f"{sid}: open={is_open} contradicts action '{action}'")
        n_open += is_open
        rooms = int(r.classrooms_added)
        mx = int(sch.at[sid, "max_extra_classrooms"])
        if rooms < 0 or rooms > mx:
            report.add("decisions", "all", f"{sid} adds {rooms} classrooms; allowed 0–{mx}")
        if rooms and not is_open:
            report.add("decisions", "all", f"{sid} adds classrooms but is not open")
        cost = (float(sch.at[sid, "open_cost"]) if action == "open" else 0.0) + rooms * float(
            sch.at[sid, "cost_per_classroom"]
        )
        build += cost
        if abs(cost - float(r.cost)) > REL_TOL * max(cost, 1.0):
            report.add("decisions", "all", f"{sid}: cost {r.cost} reported, {cost:.2f} recomputed")
    missing = sorted(set(sch.index) - seen)
    if missing:
        report.add(
            "decisions",
            "all",
            f"no decision for {len(missing)} school(s): {', '.join(missing[:10])}",
        )
    rep_build = float(summary.get("build_cost", float("nan")))
    if not abs(rep_build - build) <= REL_TOL * max(build, 1.0):
        report.add("summary", "total", f"build_cost reported {rep_build}, recomputed {build:.2f}")
    budget = settings.get("budget")
    if budget is not None and build > float(budget) * (1 + REL_TOL) + 1e-6:
        report.add(
            "budget", "all", f"build cost {build:,.2f} exceeds the budget {float(budget):,.2f}"
        )
    if settings.get("open_exactly") is not None and n_open != int(settings["open_exactly"]):
        report.add(
            "count", "all", f"{n_open} schools open, --open-exactly {settings['open_exactly']}"
        )
    if settings.get("max_open") is not None and n_open > int(settings["max_open"]):
        report.add("count", "all", f"{n_open} schools open, --max-open {settings['max_open']}")
    report.terms["layout"] = {"build_cost": build, "open_schools": float(n_open)}
    return report
