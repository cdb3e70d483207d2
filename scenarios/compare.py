"""Compare runs: KPIs side by side and the planning units whose school differs.

KPIs are read from each run's ``summary`` (the CLI's summary.json) and, for plans with an
assignment, from ``planner.metrics.compute_metrics`` on the plan (stored with the run as
``metrics.json``). Every numeric value is flattened to a dotted key
(``levels.primary.mean_travel``, ``metrics.levels.primary.classes.large``) and shown for every
run that has it; :data:`HEADLINE` picks the figures planners ask for first (travel, overflow,
大班额, moved pupils, build cost, balance CVs, rotation quota).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from scenarios.models import Run
from scenarios.store import Store

#: The stored file with planner.metrics of a run's plan.
METRICS_FILE = "metrics.json"

#: Headline KPIs: name → flattened keys to try, first present wins. ``metrics.*`` keys come
#: from ``planner.metrics.compute_metrics`` on the run's plan (stored as metrics.json).
HEADLINE: dict[str, tuple[str, ...]] = {
    "travel_mean_primary": ("metrics.levels.primary.travel.mean", "levels.primary.mean_travel"),
    "travel_mean_junior": ("metrics.levels.junior.travel.mean", "levels.junior.mean_travel"),
    "travel_cost": ("travel_cost",),
    "overflow_pupils": ("overflow_pupils",),
    "large_classes_primary": ("metrics.levels.primary.classes.large",),
    "large_classes_junior": ("metrics.levels.junior.classes.large",),
    "super_large_classes_primary": ("metrics.levels.primary.classes.super_large",),
    "super_large_classes_junior": ("metrics.levels.junior.classes.super_large",),
    "moved_pupils": ("moved_pupils",),
    "build_cost": ("build_cost",),
    "rotated": ("rotated",),
    "quota": ("quota",),
    "backbone_rotated": ("backbone_rotated",),
    "backbone_share": ("backbone_share",),
}


def flatten_numbers(data: Any, prefix: str = "") -> dict[str, float]:
    """Every int/float/bool leaf of nested dicts, by dotted key (lists are skipped)."""
    out: dict[str, float] = {}
    if isinstance(data, dict):
        for key, value in data.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            out.update(flatten_numbers(value, path))
    elif isinstance(data, int | float):  # bool is an int
        out[prefix] = float(data)
    return out


def headline(flat: dict[str, float]) -> dict[str, float | None]:
    """Headline KPIs of one run (None where the run does not have it).

    Also ``cv_max_primary`` / ``cv_max_junior``: the largest enrolment-weighted CV over the
    seven balance indicators (``metrics.balance.<level>.<indicator>.cv``).
    """
    out: dict[str, float | None] = {
        name: next((flat[k] for k in keys if k in flat), None) for name, keys in HEADLINE.items()
    }
    for level in ("primary", "junior"):
        rx = re.compile(rf"^metrics\.balance\.{level}\.[a-z0-9_]+\.cv$")
        cvs = [v for k, v in flat.items() if rx.match(k)]
        out[f"cv_max_{level}"] = max(cvs) if cvs else None
    return out


def run_numbers(run: Run, metrics: dict[str, Any] | None) -> dict[str, float]:
    """A run's summary and metrics, flattened (metrics under ``metrics.``)."""
    flat = flatten_numbers(run.summary or {})
    if metrics:
        flat.update(flatten_numbers(metrics, "metrics"))
    return flat


def compare_runs(
    store: Store,
    runs: Sequence[Run],
    max_units: int = 10_000,
    summaries: Mapping[str, dict[str, Any] | None] | None = None,
) -> dict[str, Any]:
    """KPIs of several runs side by side, and units whose school differs from the first run.

    Parameters
    ----------
    store : Store
    runs : sequence of Run
        Two or more runs; the first is the baseline of the unit differences.
    max_units : int
        At most this many differing units listed per pair (counts are always complete).
    summaries : mapping, optional
        Run id → the summary to use instead of the stored one (the API passes the aggregate
        summary of runs holding teacher personal data). Such a run's KPIs come from that
        summary alone: no metrics.json, no assignment rows.
    """
    given = summaries or {}
    flats = {
        r.id: flatten_numbers(given[r.id] or {})
        if r.id in given
        else run_numbers(r, _metrics(store, r.id))
        for r in runs
    }

    def rows_of(run: Run) -> dict[tuple[str, str], str]:
        if run.id in given:
            return {}
        return {(lv, u): s for lv, u, s in store.assignments(run.id)}

    keys = sorted({k for f in flats.values() for k in f})
    kpis = [{"key": k, "values": {rid: flats[rid].get(k) for rid in flats}} for k in keys]
    base = runs[0]
    base_rows = rows_of(base)
    differences = []
    for other in runs[1:]:
        rows = rows_of(other)
        diff = [
            {
                "level": lv,
                "unit_id": u,
                "school_a": base_rows.get((lv, u)),
                "school_b": rows.get((lv, u)),
            }
            for lv, u in sorted(set(base_rows) | set(rows))
            if base_rows.get((lv, u)) != rows.get((lv, u))
        ]
        differences.append(
            {
                "a": base.id,
                "b": other.id,
                "count": len(diff),
                "units": diff[:max_units],
                "truncated": len(diff) > max_units,
                "comparable": bool(base_rows) and bool(rows),
            }
        )
    return {
        "headline_keys": list(HEADLINE) + ["cv_max_primary", "cv_max_junior"],
        "runs": [
            {
                "id": r.id,
                "scenario_id": r.scenario_id,
                "kind": r.kind,
                "status": r.status,
                "seed": r.seed,
                "headline": headline(flats[r.id]),
            }
            for r in runs
        ],
        "kpis": kpis,
        "unit_differences": differences,
    }


def _metrics(store: Store, run_id: str) -> dict[str, Any] | None:
    found = store.run_file(run_id, METRICS_FILE)  # small; compare is not on a hot path
    if found is None:
        return None
    data: dict[str, Any] = json.loads(found[1])
    return data
