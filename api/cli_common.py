"""Pieces every CLI area shares: loading a district folder or exiting with every problem."""

from __future__ import annotations

from pathlib import Path

import typer

from planner.model import District


def load_or_exit(district_dir: Path) -> District:
    """Load a district folder; on errors print every problem (file, row, column) and exit 1."""
    from planner.errors import ValidationFailed
    from planner.io import load_district

    try:
        return load_district(district_dir)
    except ValidationFailed as exc:
        for p in exc.problems:
            typer.echo(str(p), err=True)
        raise typer.Exit(1) from None
