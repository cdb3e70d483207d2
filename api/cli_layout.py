"""``schoolplan solve layout`` and ``schoolplan bench layout``: school layout adjustment."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(
    app: typer.Typer, solve_app: typer.Typer, check_app: typer.Typer, bench_app: typer.Typer
) -> None:
    """Add ``solve layout`` and ``bench layout`` to the CLI."""

    @solve_app.command("layout")
    def solve_layout_cmd(
        district_dir: Annotated[Path, typer.Argument(help="District folder.")],
        out: Annotated[Path, typer.Option("--out", help="Output folder.")],
        budget: Annotated[
            float | None, typer.Option(help="Build budget (opening + classrooms).")
        ] = None,
        open_exactly: Annotated[
            int | None, typer.Option(help="Open exactly P schools in total.")
        ] = None,
        max_open: Annotated[
            int | None, typer.Option(help="Open at most P schools in total.")
        ] = None,
        travel_weight: Annotated[float, typer.Option(help="Cost per pupil × travel unit.")] = 1.0,
        allow_closure: Annotated[
            bool, typer.Option(help="Open schools may close (merge).")
        ] = False,
        min_open_pupils: Annotated[
            float, typer.Option(help="Smallest school that may stay open.")
        ] = 0.0,
        time_limit: Annotated[float, typer.Option(help="Seconds.")] = 60.0,
        seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
        solver: Annotated[str, typer.Option(help="highs | cpsat.")] = "highs",
    ) -> None:
        """Open, expand, close or merge schools; write decisions.csv and the catchment outputs."""
        from planner.errors import InfeasiblePlan, ValidationFailed
        from planner.io import load_district
        from solvers.layout.district import LayoutSettings, solve_layout
        from solvers.progress import console_progress

        try:
            district = load_district(district_dir)
        except ValidationFailed as exc:
            for p in exc.problems:
                typer.echo(str(p), err=True)
            raise typer.Exit(1) from None
        try:
            settings = LayoutSettings(
                budget=budget,
                open_exactly=open_exactly,
                max_open=max_open,
                travel_weight=travel_weight,
                allow_closure=allow_closure,
                min_open_pupils=min_open_pupils,
                time_limit=time_limit,
                seed=seed,
                solver=solver,  # type: ignore[arg-type]
            )
        except ValueError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        try:
            result = solve_layout(district, settings, progress=console_progress("layout "))
        except InfeasiblePlan as exc:
            typer.echo("", err=True)
            for r in exc.reasons:
                typer.echo(f"infeasible: {r}", err=True)
            raise typer.Exit(3) from None
        typer.echo("", err=True)
        files = result.write(out)
        s = result.summary
        typer.echo(
            f"{s['status']}: objective {s['objective']:,.2f} (bound {s['bound']:,.2f}, gap "
            f"{100 * s['gap']:.3f} %), build cost {s['build_cost']:,.2f}, "
            f"overflow {s['overflow_seats']:,.0f} seats, {s['solve_seconds']:.1f} s"
        )
        typer.echo(
            f"opened: {', '.join(s['opened']) or '-'}; closed: {', '.join(s['closed']) or '-'}"
        )
        if s["expanded"]:
            typer.echo(
                "classrooms added: " + ", ".join(f"{k} +{v}" for k, v in s["expanded"].items())
            )
        typer.echo(f"{len(files)} files in {out}")

    @bench_app.command("layout")
    def bench_layout_cmd(
        set_name: Annotated[str, typer.Option("--set", help="Benchmark set folder name.")],
        time_limit: Annotated[float, typer.Option(help="Seconds per instance.")] = 60.0,
        instances: Annotated[str, typer.Option(help="Comma-separated instance names.")] = "",
        baseline: Annotated[str, typer.Option(help="pulp | none.")] = "pulp",
        seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    ) -> None:
        """Solve published instances; table against the published optimum and PuLP + CBC."""
        from benchmarks.layout_bench import main

        argv = ["--set", set_name, "--time-limit", str(time_limit), "--baseline", baseline]
        argv += ["--seed", str(seed)] + (["--instances", instances] if instances else [])
        header = "instance | size | published | published_status | ours | gap % | status | bound | time s | baseline | baseline status | baseline s | ratio"
        typer.echo(header)
        raise typer.Exit(main(argv))
