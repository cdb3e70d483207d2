"""``schoolplan forecast``: enrolment forecast, seat warnings (学位预警) and a backtest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from api.cli_common import load_or_exit
from planner.io import HR_TABLES
from planner.jsonsafe import write_json


def register(
    app: typer.Typer, solve_app: typer.Typer, check_app: typer.Typer, bench_app: typer.Typer
) -> None:
    """Add ``forecast`` to the CLI."""

    @app.command("forecast")
    def forecast_cmd(
        district_dir: Annotated[Path, typer.Argument(help="District folder.")],
        out: Annotated[Path, typer.Option("--out", help="Output folder.")],
        years: Annotated[int, typer.Option(help="Years to forecast after the base year.")] = 5,
        window: Annotated[int, typer.Option(help="Past transitions averaged per ratio (3–6).")] = 5,
        min_cohort: Annotated[
            int, typer.Option(help="Pupils a unit needs to use its own ratios.")
        ] = 30,
        holdout: Annotated[
            int, typer.Option(help="Years held out by the backtest (0 = none).")
        ] = 2,
        charts: Annotated[bool, typer.Option(help="Write a PNG chart per school.")] = True,
    ) -> None:
        """Forecast pupils per unit, level, grade and year; warn where seats run short."""
        from planner.forecast import ForecastSettings, backtest, forecast_district, write_forecast

        district = load_or_exit(district_dir, HR_TABLES)
        try:
            settings = ForecastSettings(years=years, window=window, min_cohort=min_cohort)
        except ValueError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        fc = forecast_district(district, settings)
        files = write_forecast(district, fc, out, charts=charts)
        for note in fc.notes:
            typer.echo(f"note: {note}")
        warn = __import__("pandas").read_csv(out / "warnings.csv")
        typer.echo(f"base year {fc.base_year}; forecast {years} years; {len(files)} files in {out}")
        if len(warn):
            typer.echo(f"{len(warn)} seat warnings at {warn['school_id'].nunique()} schools:")
            typer.echo(warn.head(20).to_string(index=False))
            if len(warn) > 20:
                typer.echo(f"… and {len(warn) - 20} more rows in {out / 'warnings.csv'}")
        else:
            typer.echo("no seat warnings under today's catchments")
        if holdout:
            try:
                bt = backtest(district, holdout=holdout, settings=settings)
            except ValueError as exc:
                typer.echo(f"backtest skipped: {exc}")
            else:
                mape = {k: round(100 * v, 2) for k, v in bt.mape_level.items()}
                med = bt.mape_school.groupby("level")["mape"].median().mul(100).round(2).to_dict()
                typer.echo(
                    f"backtest ({holdout} years held out): MAPE "
                    + ", ".join(f"{k} {v:.2f} %" for k, v in mape.items())
                    + "; median school MAPE "
                    + ", ".join(f"{k} {v:.2f} %" for k, v in sorted(med.items()))
                )
                summary_path = out / "summary.json"
                summary = json.loads(summary_path.read_text())
                summary["backtest"] = {
                    "holdout": holdout,
                    "mape_level_pct": mape,
                    "median_school_mape_pct": med,
                }
                write_json(summary_path, summary)
