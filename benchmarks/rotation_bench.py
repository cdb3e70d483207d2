"""Rotation benchmark: the model against the HR greedy rule on the sample county and a city.

Run ``python -m benchmarks.rotation_bench [--quick] [--only NAME] [--twice] [--results DIR]``
(``make bench`` calls :func:`main`). Prints a table and writes ``rotation_bench.md`` and ``.csv``
(default in ``benchmarks/results``) with machine facts, date, seeds and time limits. With
``--twice`` the model runs twice per instance and ``same_bytes`` says whether both wrote the same
``rotation.csv`` (the determinism check).

| instance | size | target |
|---|---|---|
| sample county | 3,000 teachers, 60 schools | proven optimal in ≤ 10 s |
| city | 50,000 teachers, 1,000 schools | ≤ 1 % gap in ≤ 2 min, peak memory ≤ 4 GiB |
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

from planner.generate import make_district
from solvers.rotation import RotationSettings, build_problem, solve_rotation
from solvers.rotation.greedy import greedy_moves
from solvers.rotation.result import build_result

RESULTS = Path(__file__).resolve().parent / "results"
INSTANCES: dict[str, dict[str, Any]] = {
    "sample county": {
        "gen": {"units": 1500, "primary_schools": 40, "secondary_schools": 20, "teachers": 3000},
        "time_limit": 10.0,
    },
    "city": {
        "gen": {
            "units": 8000,
            "primary_schools": 660,
            "secondary_schools": 340,
            "teachers": 50000,
        },
        # a safety net only: deterministic budgets (RotationSettings.lp_iterations, cg_rounds,
        # mip_nodes) end the search; building the outputs takes a few seconds more
        "time_limit": 115.0,
    },
}


def _worst(cv: dict[str, float | None]) -> float:
    vals = [v for v in cv.values() if v is not None]
    return max(vals) if vals else float("nan")


def run(name: str, spec: dict[str, Any], seed: int, twice: bool = False) -> list[dict[str, Any]]:
    """Solve one instance with the model and the greedy rule; one row per method."""
    d = make_district(seed=seed, **spec["gen"])
    settings = RotationSettings(
        year=2025, time_limit=spec["time_limit"], seed=seed, solver=spec.get("solver", "highs")
    )
    t0 = time.perf_counter()
    r = solve_rotation(d, settings)
    wall = time.perf_counter() - t0
    same: bool | None = None
    if twice:
        with tempfile.TemporaryDirectory() as tmp:
            r.write(Path(tmp) / "a")
            solve_rotation(d, settings).write(Path(tmp) / "b")
            same = (Path(tmp) / "a" / "rotation.csv").read_bytes() == (
                Path(tmp) / "b" / "rotation.csv"
            ).read_bytes()
    g0 = time.perf_counter()
    p = build_problem(d, settings)
    gm = greedy_moves(p)
    gr = build_result(d, p, settings, gm, {"status": "greedy"})
    g_wall = time.perf_counter() - g0
    rows = []
    sum_cv2 = {
        m: sum(v * v for v in res.summary["cv_after"].values() if v is not None)
        for m, res in (("model", r), ("HR greedy", gr))
    }
    for method, res, secs in (("model", r, wall), ("HR greedy", gr, g_wall)):
        s = res.summary
        st = s.get("stages", {})
        rows.append(
            {
                "instance": name,
                "method": method,
                "solver": s.get("solver", "-"),
                "teachers": len(d.teachers) if d.teachers is not None else 0,
                "schools": int((d.schools["status"] != "candidate").sum()),
                "pool": s["pool"],
                "quota": s["quota"],
                "rotated": s["rotated"],
                "backbone_rotated": s["backbone_rotated"],
                "backbone_share": round(s["backbone_share"], 3),
                "shortfall_before": s["shortfall_before"],
                "shortfall_after": s["shortfall_after"],
                "worst_cv_before": round(_worst(s["cv_before"]), 4),
                "worst_cv_after": round(_worst(s["cv_after"]), 4),
                "mean_cv_after": round(
                    sum(v for v in s["cv_after"].values() if v is not None)
                    / max(1, sum(v is not None for v in s["cv_after"].values())),
                    4,
                ),
                "sum_cv2_after": round(sum_cv2[method], 5),
                # greedy Σ CV² / model Σ CV² (> 1: the model balances better)
                "cv2_gain": round(sum_cv2["HR greedy"] / max(sum_cv2[method], 1e-12), 3),
                "cv_after": ";".join(f"{k}={v}" for k, v in s["cv_after"].items()),
                "status": s["status"],
                "deterministic": s.get("deterministic", "-") if method == "model" else "-",
                "same_bytes": same if method == "model" and same is not None else "-",
                "gap": None if s.get("gap") is None else round(s["gap"], 5),
                "pass_status": ";".join(f"{k}={v.get('status')}" for k, v in st.items()),
                "gap_rest": (
                    None if "gap" not in st.get("rest", {}) else round(st["rest"]["gap"], 6)
                ),
                "seconds": round(secs, 1),
                "time_limit": spec["time_limit"],
                "seed": seed,
                "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            }
        )
    return rows


def _markdown(df: pd.DataFrame) -> str:
    head = "| " + " | ".join(map(str, df.columns)) + " |"
    sep = "|" + "---|" * len(df.columns)
    body = ["| " + " | ".join(map(str, r)) + " |" for r in df.itertuples(index=False)]
    return "\n".join([head, sep, *body])


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark, print the table, write the results files."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="Only the sample county.")
    ap.add_argument("--only", choices=list(INSTANCES), help="Only this instance.")
    ap.add_argument("--twice", action="store_true", help="Solve twice, compare the bytes.")
    ap.add_argument("--results", type=Path, default=RESULTS, help="Folder for the results.")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    names = ["sample county"] if args.quick else list(INSTANCES)
    if args.only:
        names = [args.only]
    rows: list[dict[str, Any]] = []
    for n in names:
        rows += run(n, INSTANCES[n], args.seed, args.twice)
    df = pd.DataFrame(rows)
    print(df.to_string(index=False))
    results: Path = args.results
    results.mkdir(parents=True, exist_ok=True)
    df.to_csv(results / "rotation_bench.csv", index=False)
    facts = (
        f"date {dt.datetime.now().isoformat(timespec='seconds')}, {platform.platform()}, "
        f"python {platform.python_version()}, {os.cpu_count()} cores, "
        f"seed {args.seed}; peak_rss_mib is the process peak so far (cumulative). "
        f"1-min load average at the end {os.getloadavg()[0]:.1f} (about 1 = this benchmark "
        "alone; more = other jobs shared the cores and seconds are pessimistic). "
        "gap is on the weighted objective (shortfall dominates); "
        "gap_rest is pass 2 (balance, commute, preferences, moves) alone."
    )
    (results / "rotation_bench.md").write_text(
        "# Rotation benchmark\n\n" + facts + "\n\n" + _markdown(df) + "\n",
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
