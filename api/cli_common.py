"""Pieces every CLI area shares: loading a district folder or exiting with every problem."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import typer

from planner.model import District


def load_or_exit(district_dir: Path, unused: Collection[str] = ()) -> District:
    """Load a district folder; on errors print every problem (file, row, column) and exit 1.

    ``unused`` names tables the command does not read (``planner.io.HR_TABLES``,
    ``planner.io.FORECAST_TABLES``): their errors do not stop it; one line per such file says
    it was skipped and how many problems it has.
    """
    from planner.errors import ValidationFailed
    from planner.io import SKIPPED_NOTE, load_district_with_warnings

    try:
        district, warnings = load_district_with_warnings(district_dir, unused)
    except ValidationFailed as exc:
        for p in exc.problems:
            typer.echo(str(p), err=True)
        raise typer.Exit(1) from None
    skipped: dict[str, int] = {}
    for w in warnings:
        if SKIPPED_NOTE in w.expected:
            skipped[w.file] = skipped.get(w.file, 0) + 1
    for file, n in skipped.items():
        typer.echo(
            f"warning: {file} has {n} error(s) but this command does not read it, so it was "
            f"skipped (`schoolplan validate {district_dir}` lists them)",
            err=True,
        )
    return district
