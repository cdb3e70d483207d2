"""CLI command of the metrics area: ``schoolplan metrics DIR [--json OUT] [--assignment CSV]``.

Exit codes: 0 done; 1 invalid district folder or assignment file (every problem printed).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer


def metrics(
    folder: Annotated[Path, typer.Argument(help="District folder.")],
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write every metric as JSON to this file.")
    ] = None,
    assignment: Annotated[
        Path | None,
        typer.Option(
            "--assignment",
            exists=True,
            dir_okay=False,
            help="Evaluate this plan (CSV unit_id,level,school_id, e.g. a catchment solver's "
            "assignment.csv) instead of today's schools; a level without rows keeps today's.",
        ),
    ] = None,
    year: Annotated[
        int | None, typer.Option(help="Planning year for the rotation pool; default this year.")
    ] = None,
) -> None:
    """Print capacity, class sizes, balance coefficients, travel and teacher figures."""
    import pandas as pd

    from planner.errors import ValidationFailed
    from planner.io import load_district
    from planner.metrics import assignment_from_table, compute_metrics, format_metrics

    try:
        district = load_district(folder)
        plan = None
        if assignment is not None:
            table = pd.read_csv(assignment, dtype=str, keep_default_na=False)
            plan = assignment_from_table(district, table, file=assignment.name)
    except ValidationFailed as exc:
        for p in exc.problems:
            typer.echo(str(p), err=True)
        raise typer.Exit(1) from None
    result = compute_metrics(district, plan, year=year)
    typer.echo(format_metrics(result), nl=False)
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(
            json.dumps(result, ensure_ascii=False, indent=1, allow_nan=False) + "\n",
            encoding="utf-8",
        )
        typer.echo(f"wrote {json_out}")


def register(
    app: typer.Typer, solve_app: typer.Typer, check_app: typer.Typer, bench_app: typer.Typer
) -> None:
    """Add ``schoolplan metrics`` to the app."""
    app.command("metrics")(metrics)
