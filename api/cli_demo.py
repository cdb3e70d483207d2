"""``schoolplan demo``: the main job on the bundled sample county, end to end.

Generates the sample county (deterministic for the seed), validates it, prints today's analysis
(capacity, 大班额, balance coefficients, travel), then runs the catchment optimiser, the teacher
rotation list and the five-year forecast through the same service layer as the API, with the
embedded SQLite store, and prints before/after figures. Everything lands under ``--out``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from planner.jsonsafe import write_json


def _line(title: str) -> None:
    typer.echo("\n" + title + "\n" + "─" * min(len(title), 100))


def _kpis(metrics: dict[str, Any]) -> dict[str, Any]:
    """A few headline figures from a metrics dict, per level."""
    out: dict[str, Any] = {}
    for level, block in metrics.get("levels", {}).items():
        classes = block.get("classes", {})
        travel = block.get("travel", {})
        out[level] = {
            "overflow_pupils": block.get("overflow_pupils"),
            "schools_over_capacity": block.get("schools_over_capacity"),
            "大班额 classes (56-65)": classes.get("large"),
            "超大班额 classes (66+)": classes.get("super_large"),
            "travel_mean_m": travel.get("mean"),
            "travel_p90_m": travel.get("p90"),
            "within_2km_share": travel.get("within_m", {}).get("2000"),
        }
    return out


def register(
    app: typer.Typer, solve_app: typer.Typer, check_app: typer.Typer, bench_app: typer.Typer
) -> None:
    """Add ``demo`` to the CLI."""

    @app.command("demo")
    def demo_cmd(
        out: Annotated[
            Path, typer.Option(help="Folder for the sample county and all results.")
        ] = Path("out/sample"),
        seed: Annotated[int, typer.Option(help="Seed of the sample county and the solvers.")] = 1,
        time_limit: Annotated[float, typer.Option(help="Seconds per solve.")] = 20.0,
    ) -> None:
        """Analyse and optimise the sample county (what `make demo` runs)."""
        from planner.generate import generator_metadata, make_district
        from planner.io import load_district_with_warnings
        from planner.metrics import compute_metrics, format_metrics
        from planner.writer import write_district

        t0 = time.perf_counter()
        folder = out / "district"
        if not (folder / "district.toml").exists():
            _line(f"1. Generating the sample county (seed {seed}) into {folder}")
            write_district(
                make_district(seed=seed), folder, generator=generator_metadata(seed=seed)
            )
        else:
            _line(f"1. Using the sample county in {folder}")
        district, warnings = load_district_with_warnings(folder)
        typer.echo(
            f"{district.name}: {len(district.units)} planning units, {len(district.schools)} schools, "
            f"{0 if district.teachers is None else len(district.teachers)} teachers; "
            f"validation: 0 errors, {len(warnings)} warnings"
        )

        _line("2. Today: capacity, class sizes (大班额), balance (2017 standard), travel")
        today = compute_metrics(district)
        typer.echo(format_metrics(today))
        write_json(out / "metrics_today.json", today)

        from scenarios.service import demo_runs

        _line(
            "3. Optimising catchments, the rotation list and the forecast (service layer, SQLite)"
        )
        runs = demo_runs(district, folder, out, seed=seed, time_limit=time_limit)
        for kind, info in runs.items():
            typer.echo(f"- {kind}: {info['headline']}  →  {info['folder']}")

        if runs.get("catchment", {}).get("status") == "done":
            from planner.metrics import assignment_from_table

            table = pd.read_csv(Path(runs["catchment"]["folder"]) / "assignment.csv", dtype=str)
            assignment = assignment_from_table(district, table)
            after = compute_metrics(district, assignment)
            _line("4. Before → after the catchment plan")
            before_k, after_k = _kpis(today), _kpis(after)
            for level in before_k:
                for key in before_k[level]:
                    typer.echo(
                        f"{level:8s} {key:22s} {before_k[level][key]!s:>12} → {after_k[level][key]!s:>12}"
                    )
            write_json(out / "metrics_after.json", after)
        _line("5. Five-year enrolment forecast and seat warnings (学位预警)")
        from planner.forecast import ForecastSettings, backtest, forecast_district, write_forecast

        fc = forecast_district(district, ForecastSettings(years=5))
        write_forecast(district, fc, out / "forecast", charts=False)
        warn = pd.read_csv(out / "forecast" / "warnings.csv")
        bt = backtest(district, holdout=2)
        typer.echo(
            f"{len(warn)} seat warnings at {warn['school_id'].nunique()} schools over "
            f"{fc.base_year + 1}–{fc.base_year + 5}; backtest MAPE (2 years held out): "
            + ", ".join(f"{k} {100 * v:.2f} %" for k, v in bt.mape_level.items())
        )
        typer.echo(
            f"\nDone in {time.perf_counter() - t0:.1f} s. Results in {out}: catchment/map.png, "
            "catchment/diff.csv, rotation/rotation.xlsx, forecast/warnings.csv."
        )
