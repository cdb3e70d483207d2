"""``schoolplan solve layout``, ``check layout`` and ``bench layout``.

Exit codes: 0 done; 1 invalid input (every problem printed) or, for ``check``, a broken rule;
2 infeasible (the reasons printed, nothing written) or bad settings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli_common import load_or_exit
from planner.io import FORECAST_TABLES, HR_TABLES


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
        years: Annotated[
            int | None,
            typer.Option(help="Plan this many years ahead against the forecast (multi-year)."),
        ] = None,
        budget_per_year: Annotated[
            str | None,
            typer.Option(help="Multi-year: build budget per year, one number or a comma list."),
        ] = None,
        lead_time: Annotated[
            int, typer.Option(help="Multi-year: years from decision to a new school opening.")
        ] = 2,
        max_moved_share: Annotated[
            float,
            typer.Option(help="Multi-year: share of pupils whose school may change per year."),
        ] = 0.10,
        size_deadline: Annotated[
            int,
            typer.Option(
                help="Multi-year: from this plan year on no school is over the size limit."
            ),
        ] = 3,
        robust: Annotated[
            bool, typer.Option(help="Multi-year: plan against the high forecast; report the cost.")
        ] = False,
    ) -> None:
        """Open, expand, close or merge schools; write decisions.csv and the catchment outputs.

        With ``--years N`` it decides in which year to open each candidate and add classrooms,
        against the enrolment forecast (see docs/forecast.md).
        """
        from planner.errors import InfeasiblePlan, NoPlanFound
        from solvers.layout.district import LayoutSettings, solve_layout
        from solvers.progress import console_progress

        district = load_or_exit(
            district_dir, HR_TABLES if years is not None else HR_TABLES + FORECAST_TABLES
        )
        if years is not None:
            _multiyear(
                district,
                out,
                years,
                budget_per_year,
                lead_time,
                max_moved_share,
                size_deadline,
                robust,
                travel_weight,
                time_limit,
                seed,
            )
            return
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
            raise typer.Exit(2) from None
        except NoPlanFound as exc:
            typer.echo("", err=True)
            for r in exc.reasons:
                typer.echo(f"no plan: {r}", err=True)
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

    @check_app.command("layout")
    def check_layout_cmd(
        district_dir: Annotated[Path, typer.Argument(help="District folder.")],
        out: Annotated[Path, typer.Argument(help="Result folder of `solve layout`.")],
    ) -> None:
        """Verify a layout result rule by rule (multi-year plans year by year)."""
        import json

        district = load_or_exit(district_dir, HR_TABLES)
        summary = json.loads((out / "summary.json").read_text())
        if isinstance(summary.get("years"), list):
            from solvers.layout.multiyear import check_multiyear

            rep = check_multiyear(district, out)
            for v in rep.violations:
                typer.echo(f"violation: {v}")
            typer.echo(
                f"{len(rep.violations)} violations; recomputed overflow "
                f"{rep.recomputed['overflow_pupil_years']:.1f} pupil-years, build cost "
                f"{rep.recomputed['build_cost']:,.2f}"
            )
            raise typer.Exit(1 if rep.violations else 0)
        from solvers.layout.check import check_layout

        report = check_layout(district, out)
        for viol in report.violations:
            typer.echo(f"violation: {viol}")
        typer.echo(f"{len(report.violations)} violations")
        raise typer.Exit(0 if report.ok else 1)

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


def _multiyear(
    district: object,
    out: Path,
    years: int,
    budget_per_year: str | None,
    lead_time: int,
    max_moved_share: float,
    size_deadline: int,
    robust: bool,
    travel_weight: float,
    time_limit: float,
    seed: int,
) -> None:
    """Solve and write a multi-year layout plan (``solve layout --years``)."""
    from planner.errors import InfeasiblePlan
    from planner.model import District
    from solvers.layout.multiyear import MultiYearSettings, solve_multiyear
    from solvers.progress import console_progress

    assert isinstance(district, District)
    budget: float | list[float] | None = None
    if budget_per_year:
        parts = [float(v) for v in budget_per_year.split(",")]
        budget = parts[0] if len(parts) == 1 else parts
    try:
        settings = MultiYearSettings(
            years=years,
            budget_per_year=budget,
            lead_time_years=lead_time,
            max_moved_share=max_moved_share,
            size_deadline_years=size_deadline,
            robust=robust,
            time_limit=time_limit,
            seed=seed,
        )
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    try:
        plan = solve_multiyear(district, settings, progress=console_progress("multi-year "))
    except (InfeasiblePlan, ValueError) as exc:
        typer.echo("", err=True)
        for r in getattr(exc, "reasons", [str(exc)]):
            typer.echo(f"infeasible: {r}", err=True)
        raise typer.Exit(2) from None
    typer.echo("", err=True)
    files = plan.write(out)
    s = plan.summary
    gap = "-" if s["gap"] is None else f"{100 * s['gap']:.3f} %"
    typer.echo(
        f"{s['status']} (gap {gap}), build cost {s['build_cost']:,.0f}, {s['solve_seconds']:.1f} s"
    )
    for yy in s["years"]:
        typer.echo(
            f"  {yy}: build {s['build_cost_by_year'][str(yy)]:>14,.0f}   overflow "
            f"{s['overflow_by_year'][str(yy)]:>8,.1f} pupils   over-size schools "
            f"{s['over_size_schools_by_year'][str(yy)]}"
        )
    if not plan.decisions.empty:
        typer.echo(plan.decisions.to_string(index=False))
    if "robustness" in s:
        typer.echo(
            f"cost of robustness (high vs mid forecast): {s['robustness']['cost_of_robustness']:,.0f}"
        )
    typer.echo(f"{len(files)} files in {out}")
