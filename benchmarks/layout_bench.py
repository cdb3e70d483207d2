"""Layout benchmark: published facility-location instances, ours against PuLP + CBC.

Run ``python -m benchmarks.layout_bench --set orlib_pmed [--time-limit 60] [--instances a,b]
[--baseline pulp|none]`` or ``schoolplan bench layout``. Data are read in place from
``../shared/benchmarks`` (``SCHOOLPLAN_SHARED`` overrides); results go to
``benchmarks/results/layout_<set>.{md,csv}`` with the machine facts.
"""

from __future__ import annotations

import argparse
import math
import os
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.common import write_results
from solvers.benchdata import instance_paths, load_instance, read_optima
from solvers.layout import FacilityProblem, FacilitySettings, solve_facility

REPO = Path(__file__).resolve().parents[1]
#: Sets run by ``make bench`` (stefanello only on its smallest group, see docs/layout.md).
DEFAULT_SETS: tuple[str, ...] = ("orlib_pmed", "cpmp_osman_christofides", "sscflp_holmberg")
#: Baseline skipped above this many x_ij (PuLP needs minutes just to build such a model).
BASELINE_MAX_PAIRS = 200_000


def shared_dir() -> Path:
    """``../shared/benchmarks`` or ``$SCHOOLPLAN_SHARED/benchmarks``."""
    env = os.environ.get("SCHOOLPLAN_SHARED")
    return (Path(env) if env else REPO.parent / "shared") / "benchmarks"


def run_set(
    set_name: str,
    *,
    time_limit: float = 60.0,
    instances: list[str] | None = None,
    baseline: str = "pulp",
    seed: int = 0,
    baseline_time_limit: float | None = None,
    echo: Callable[[str], None] = print,
) -> list[dict[str, object]]:
    """Solve the instances of one set; return one row per instance (also echoed as they finish)."""
    root = shared_dir() / set_name
    optima = read_optima(root)
    names = instances or instance_paths(root)
    rows: list[dict[str, object]] = []
    for name in names:
        inst = load_instance(root, name)
        problem = FacilityProblem.from_instance(inst)
        t = time.perf_counter()
        sol = solve_facility(problem, FacilitySettings(time_limit=time_limit, seed=seed))
        ours_t = time.perf_counter() - t
        pub = optima[name].optimal_value if name in optima else math.nan
        gap = (sol.objective - pub) / abs(pub) * 100 if math.isfinite(pub) else math.nan
        b_obj, b_st, b_t = math.nan, "not run", math.nan
        if baseline == "pulp":
            if inst.n_customers * inst.n_facilities > BASELINE_MAX_PAIRS:
                b_st = "skipped (size)"
            else:
                from solvers.layout.baseline import solve_pulp

                b = solve_pulp(inst, time_limit=baseline_time_limit or time_limit, seed=seed)
                b_obj, b_st, b_t = b.objective, b.status, b.seconds
        row: dict[str, object] = {
            "instance": name,
            "size": inst.size,
            "published": _fmt(pub),
            "published_status": optima[name].status if name in optima else "-",
            "ours": _fmt(sol.objective),
            "gap_to_published_%": f"{gap:.4f}",
            "status": sol.status,
            "bound": _fmt(sol.bound),
            "time_s": f"{ours_t:.2f}",
            "baseline": _fmt(b_obj),
            "baseline_status": b_st,
            "baseline_time_s": "-" if math.isnan(b_t) else f"{b_t:.2f}",
            "time_ratio": "-" if math.isnan(b_t) else f"{b_t / max(ours_t, 1e-3):.1f}",
        }
        rows.append(row)
        echo(" | ".join(str(v) for v in row.values()))
    return rows


def _fmt(v: float) -> str:
    if not math.isfinite(v):
        return "-"
    return f"{v:.0f}" if abs(v - round(v)) < 1e-6 else f"{v:.3f}"


def summary_notes(
    rows: list[dict[str, object]],
    time_limit: float,
    seed: int,
    baseline_time_limit: float | None = None,
) -> list[str]:
    """Counts and timing quantiles for the notes under the table."""
    times = sorted(float(str(r["time_s"])) for r in rows)
    at_opt = sum(1 for r in rows if abs(float(str(r["gap_to_published_%"]))) < 1e-6)
    proven = sum(1 for r in rows if r["status"] == "optimal")
    med = times[len(times) // 2] if times else math.nan
    return [
        f"{len(rows)} instances; {at_opt} at the published value; {proven} proven optimal by us.",
        f"our time: median {med:.2f} s, max {max(times, default=math.nan):.2f} s; "
        f"time limit {time_limit:g} s per instance for ours, "
        f"{baseline_time_limit or time_limit:g} s for the baseline; seed {seed}.",
        f"1-min load average when the set finished: {os.getloadavg()[0]:.2f} on 2 cores "
        "(about 1 = this benchmark alone; more = other jobs shared the cores and times are "
        "upper bounds).",
        "ours = solvers.layout.solve_facility (default settings): the radius formulation + "
        "its own LP branch-and-bound for uncapacitated problems; Lagrangian + HiGHS MIP on the "
        "classical formulation for capacitated ones, with the work-limited start + LNS "
        "(solvers/layout/cap_start.py, capacitated.py) first for capacitated p-median above "
        "40,000 pairs (with a set-partitioning column generation, cluster_cg.py, where a "
        "median serves at most 6 customers on average), and the open-set search with exact "
        "assignments (open_search.py) on a second thread beside "
        "the MIP for smaller single-source capacitated ones; baseline = dense PuLP + CBC, "
        "1 thread; "
        "time_ratio = baseline time / our time.",
    ]


def _merge_previous(set_name: str, rows: list[dict[str, object]]) -> list[dict[str, object]]:
    """With ``--instances``, update those rows of an earlier full run instead of dropping it."""
    import csv

    from benchmarks.common import RESULTS

    path = RESULTS / f"layout_{set_name}.csv"
    if not path.exists():
        return rows
    with path.open(newline="") as fh:
        old: dict[str, dict[str, object]] = {
            str(r["instance"]): dict(r) for r in csv.DictReader(fh)
        }
    if old and set(next(iter(old.values()))) != set(rows[0]):
        return rows
    old.update({str(r["instance"]): r for r in rows})
    order = instance_paths(shared_dir() / set_name)
    return [old[n] for n in order if n in old]


def main(argv: list[str] | None = None) -> int:
    """CLI entry (``make bench`` calls it with no arguments: the default sets)."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--set", dest="sets", action="append", default=None)
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--baseline-time-limit", type=float, default=None)
    ap.add_argument("--instances", default="")
    ap.add_argument("--baseline", choices=("pulp", "none"), default="pulp")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    if not shared_dir().is_dir():
        print(f"{shared_dir()} is absent: no benchmark data")
        return 0
    for s in a.sets or list(DEFAULT_SETS):
        inst = [x for x in a.instances.split(",") if x] or None
        rows = run_set(
            s,
            time_limit=a.time_limit,
            instances=inst,
            baseline=a.baseline,
            seed=a.seed,
            baseline_time_limit=a.baseline_time_limit,
        )
        if inst:
            rows = _merge_previous(s, rows)
        notes = summary_notes(rows, a.time_limit, a.seed, a.baseline_time_limit)
        path = write_results(f"layout_{s}", f"Layout benchmark: {s}", rows, notes)
        print("\n".join(notes))
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
