"""CLI commands of the district area: ``schoolplan validate DIR``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from planner.validate import validate_report


def validate(
    folder: Annotated[
        Path, typer.Argument(help="District folder (district.toml, schools.*, units.*...).")
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the problems as a JSON list instead of lines.")
    ] = False,
) -> None:
    """Check a district folder and list EVERY problem (file, row, column, value, expected).

    Exits with code 1 when there is any error; warnings alone exit with 0. Writes nothing.
    """
    report = validate_report(folder)
    if as_json:
        rows = [
            {
                "severity": p.severity,
                "file": p.file,
                "row": p.row,
                "column": p.column,
                "value": p.value,
                "expected": p.expected,
            }
            for p in report.problems
        ]
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=1))
    else:
        for p in report.problems:
            typer.echo(str(p))
        typer.echo(report.summary())
    if report.errors:
        raise typer.Exit(code=1)


def register(
    app: typer.Typer, solve_app: typer.Typer, check_app: typer.Typer, bench_app: typer.Typer
) -> None:
    """Add the district commands to the ``schoolplan`` app."""
    app.command("validate")(validate)
