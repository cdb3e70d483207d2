"""``schoolplan solve catchment``, ``schoolplan check catchment`` and ``schoolplan bench catchment``.

Exit codes: 0 done; 1 invalid input (every problem printed) or, for ``check``, a broken rule;
2 infeasible (the reasons printed, nothing written) or bad settings; 3 cancelled before any plan.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from api.cli_common import load_or_exit
from planner.io import FORECAST_TABLES, HR_TABLES


def _run_in_thread(fn: Any, stop: threading.Event) -> Any:
    """Run ``fn()`` in a worker thread; Ctrl-C sets ``stop`` so the solver returns its best plan."""
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    t = threading.Thread(target=work, name="catchment-solve", daemon=True)
    t.start()
    while t.is_alive():
        try:
            t.join(0.2)
        except KeyboardInterrupt:
            typer.echo("\nstopping: finishing with the best plan found so far…", err=True)
            stop.set()
    if "error" in box:
        raise box["error"]
    return box["value"]


def print_summary(plan: Any) -> None:
    """Status, gap, travel, overflow by school and moved pupils, in a few lines."""
    s = plan.summary
    unit = plan.district.travel_unit
    typer.echo(
        f"status {s['status']}  gap {100 * s['gap']:.3f}%  objective {s['objective']:,.1f}  "
        f"bound {s['bound']:,.1f}  solver {s['solver']}  seed {s['seed']}  "
        f"{s['solve_seconds']:.1f}s"
        + ("" if s.get("deterministic", True) else "  (not reproducible)")
    )
    for level, b in s["levels"].items():
        typer.echo(
            f"  {level}: {b['status']}, gap {100 * b['gap']:.3f}%, travel {b['travel_cost']:,.0f} "
            f"pupil·{unit} (mean {b['mean_travel']:,.0f} {unit}), overflow {b['overflow_pupils']:,.0f}, "
            f"moved {b['moved_pupils']:,.0f} of {b['pupils']:,} pupils"
        )
    over = plan.school_table()
    over = over[over["overflow"] > 0]
    if len(over):
        typer.echo("  over capacity:")
        for _, r in over.sort_values(["level", "overflow"], ascending=[True, False]).iterrows():
            typer.echo(
                f"    {r['level']} {r['school_id']}: {r['pupils']} pupils / {r['seats']} seats "
                f"(+{r['overflow']})"
            )
    else:
        typer.echo("  no school over capacity")
    for w in s["warnings"]:
        typer.echo(f"  warning: {w}")
    settings = s.get("settings", {})
    moved_share = s["moved_pupils"] / max(s["pupils"], 1)
    if (
        not settings.get("phase_in")
        and settings.get("max_moved_share") is None
        and moved_share > 0.05
    ):
        # DOMAIN.md: boundary changes usually apply to entering grades only
        typer.echo(
            f"  note: {100 * moved_share:.1f} % of all enrolled pupils change school in this plan; "
            "bureaus usually move only entering grades (--phase-in) or cap the share moved "
            "(--max-moved-share)"
        )


def register(
    app: typer.Typer, solve_app: typer.Typer, check_app: typer.Typer, bench_app: typer.Typer
) -> None:
    """Add the catchment commands to ``solve``, ``check`` and ``bench``."""

    @solve_app.command("catchment")
    def solve_catchment_cmd(
        district_dir: Annotated[Path, typer.Argument(help="District folder.")],
        out: Annotated[Path, typer.Option("--out", help="Output folder.")],
        level: Annotated[
            Literal["primary", "junior", "all"], typer.Option(help="Level(s) to plan.")
        ] = "all",
        time_limit: Annotated[float, typer.Option(help="Seconds per level.")] = 30.0,
        seed: Annotated[int, typer.Option(help="Random seed (same seed, same plan).")] = 0,
        solver: Annotated[Literal["cpsat", "highs"], typer.Option(help="Main solver.")] = "cpsat",
        contiguity: Annotated[
            Literal["closer_neighbour", "exact", "none"],
            typer.Option(help="Connected catchments: closer-neighbour rule, exact, or off."),
        ] = "closer_neighbour",
        phase_in: Annotated[
            bool, typer.Option("--phase-in", help="Only entering grades (g1, g7) move.")
        ] = False,
        max_moved_share: Annotated[
            float | None, typer.Option(help="Most pupils moved, as a share of the level's pupils.")
        ] = None,
        alpha: Annotated[
            float | None, typer.Option(help="Allow schools within (1+α) × today's travel.")
        ] = None,
        max_travel: Annotated[
            float | None, typer.Option(help="Longest allowed travel (travel units).")
        ] = None,
        balance_delta: Annotated[
            float | None, typer.Option(help="Migrant share per school within ±δ of the county.")
        ] = None,
        gap_limit: Annotated[float, typer.Option(help="Stop at this relative gap.")] = 0.0,
        workers: Annotated[int, typer.Option(help="Solver threads (fixed for determinism).")] = 2,
        k_nearest: Annotated[int, typer.Option(help="Candidate schools per unit.")] = 8,
        deterministic: Annotated[
            bool,
            typer.Option(
                "--deterministic/--no-deterministic",
                help="Budget the solve by work, not wall clock: same seed, same plan even when "
                "the time limit cuts it (wall clock capped at 2.5 × the limit).",
            ),
        ] = True,
        maps: Annotated[bool, typer.Option(help="Write catchments.geojson and map.png.")] = True,
    ) -> None:
        """Optimise catchments (施教区): who goes to which school, with KPIs, diff and map."""
        from pydantic import ValidationError

        from planner.errors import InfeasiblePlan
        from solvers.catchment.solve import solve_catchment
        from solvers.catchment.types import CatchmentSettings
        from solvers.progress import Cancelled, console_progress

        district = load_or_exit(district_dir, HR_TABLES + FORECAST_TABLES)
        try:
            settings = CatchmentSettings(
                level=level,
                time_limit=time_limit,
                seed=seed,
                solver=solver,
                contiguity=contiguity,
                phase_in=phase_in,
                max_moved_share=max_moved_share,
                alpha=alpha,
                max_travel=max_travel,
                balance_delta=balance_delta,
                gap_limit=gap_limit,
                num_workers=workers,
                k_nearest=k_nearest,
                deterministic=deterministic,
            )
        except ValidationError as exc:
            for e in exc.errors():
                typer.echo(f"error: --{str(e['loc'][0]).replace('_', '-')}: {e['msg']}", err=True)
            raise typer.Exit(2) from None
        stop = threading.Event()
        progress = console_progress("catchment: ")
        try:
            plan = _run_in_thread(
                lambda: solve_catchment(district, settings, progress=progress, stop=stop), stop
            )
        except InfeasiblePlan as exc:
            sys.stderr.write("\n")
            typer.echo("infeasible: no plan meets the hard rules:", err=True)
            for r in exc.reasons:
                typer.echo(f"  - {r}", err=True)
            raise typer.Exit(2) from None
        except Cancelled:
            sys.stderr.write("\n")
            typer.echo("cancelled before any plan was found; nothing written", err=True)
            raise typer.Exit(3) from None
        sys.stderr.write("\n")
        files = plan.write(out, geometry=maps)
        print_summary(plan)
        typer.echo(f"wrote {len(files)} files to {out}: " + ", ".join(p.name for p in files))

    @check_app.command("catchment")
    def check_catchment_cmd(
        district_dir: Annotated[Path, typer.Argument(help="District folder.")],
        out: Annotated[Path, typer.Argument(help="Result folder of `solve catchment`.")],
    ) -> None:
        """Check a catchment plan rule by rule and recompute its terms (exit 1 on a violation)."""
        from solvers.catchment.check import check_catchment

        district = load_or_exit(district_dir, HR_TABLES + FORECAST_TABLES)
        report = check_catchment(district, out)
        for v in report.violations:
            typer.echo(f"violation {v}")
        for n in report.notes:
            typer.echo(f"note: {n}")
        for scope, terms in report.terms.items():
            typer.echo(f"{scope}: " + ", ".join(f"{k} {v:,.6f}" for k, v in terms.items()))
        if not report.ok:
            typer.echo(f"{len(report.violations)} violation(s)")
            raise typer.Exit(1)
        typer.echo("ok: every rule holds and the summary matches the recomputed terms")

    @bench_app.command("catchment")
    def bench_catchment_cmd(
        quick: Annotated[bool, typer.Option("--quick", help="Only the first two rows.")] = False,
        rows: Annotated[
            str | None, typer.Option(help="Comma-separated row names to run (see --list).")
        ] = None,
        no_baseline: Annotated[
            bool, typer.Option("--no-baseline", help="Skip the PuLP+CBC comparison.")
        ] = False,
    ) -> None:
        """The catchment benchmark ladder (prints a table, writes benchmarks/results/)."""
        from benchmarks.catchment_ladder import main

        argv = ["--quick"] if quick else []
        if rows:
            argv += ["--rows", rows]
        if no_baseline:
            argv.append("--no-baseline")
        raise typer.Exit(main(argv))
