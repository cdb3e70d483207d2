"""CLI command of the sample generator: ``schoolplan generate OUT``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from planner.generate import generator_metadata, make_district
from planner.model import District
from planner.policy import LEVELS
from planner.writer import UNITS_FORMATS, write_district


def split_schools(total: int) -> tuple[int, int]:
    """Split a total school count into (primary, junior-or-nine-year): about 2/3 and 1/3.

    >>> split_schools(60)
    (40, 20)
    """
    primary = max(1, round(total * 2 / 3))
    return primary, max(1, total - primary)


def summary_lines(district: District) -> list[str]:
    """A short plain-text summary: units, pupils and seats per level, schools, teachers."""
    s = district.schools
    is_open = (s["status"] == "open").to_numpy()
    lines = [f"{district.name}: {len(district.units):,} units"]
    for level in LEVELS:
        pupils = int(district.pupils(level).sum())
        seats = int(district.seats(level)[is_open].sum())
        lines.append(f"  {level:<8} pupils {pupils:>9,}   seats {seats:>9,} (open schools)")
    kinds = s[is_open].groupby("level").size()
    by_kind = ", ".join(f"{kinds.get(k, 0)} {k}" for k in ("primary", "junior", "nine_year"))
    n_cand = int((s["status"] == "candidate").sum())
    lines.append(f"  schools  {by_kind}; {n_cand} candidate sites")
    n_teachers = 0 if district.teachers is None else len(district.teachers)
    lines.append(f"  teachers {n_teachers:,}")
    return lines


def generate(
    out: Annotated[Path, typer.Argument(help="District folder to create (must be new or empty).")],
    units: Annotated[int, typer.Option(help="Planning units (Voronoi cells).", min=50)] = 1500,
    schools: Annotated[
        int,
        typer.Option(help="Open schools in total: ~2/3 primary, ~1/3 junior or nine-year.", min=2),
    ] = 60,
    teachers: Annotated[int, typer.Option(help="Teachers.", min=0)] = 3000,
    seed: Annotated[int, typer.Option(help="Seed; the same options give the same folder.")] = 0,
    history_years: Annotated[
        int, typer.Option(help="Years of enrolment history ending at 2025.", min=1, max=12)
    ] = 6,
    name: Annotated[str, typer.Option(help="District name.")] = "Sample County",
    units_format: Annotated[
        str, typer.Option(help=f"Units file: {', '.join(UNITS_FORMATS)}.")
    ] = "geojson",
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace a non-empty OUT folder.")
    ] = False,
) -> None:
    """Generate a realistic sample county and write it as a district folder (format v1).

    A dense old centre with full schools, new estates short of seats, villages with half-empty
    schools and teaching points, teachers, and the forecasting history. See docs/generator.md.
    """
    primary, secondary = split_schools(schools)
    args = dict(
        units=units,
        primary_schools=primary,
        secondary_schools=secondary,
        teachers=teachers,
        seed=seed,
        history_years=history_years,
        name=name,
    )
    t0 = time.perf_counter()
    try:
        district = make_district(**args)  # type: ignore[arg-type]
        t1 = time.perf_counter()
        files = write_district(
            district,
            out,
            units_format=units_format,
            overwrite=overwrite,
            generator=generator_metadata(**args),  # type: ignore[arg-type]
        )
    except FileExistsError as exc:
        hint = "use --overwrite to replace it" if out.is_dir() else "choose another path"
        typer.echo(f"error: {out} exists and is not an empty folder; {hint}", err=True)
        raise typer.Exit(code=2) from exc
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    t2 = time.perf_counter()
    for line in summary_lines(district):
        typer.echo(line)
    typer.echo(
        f"wrote {len(files)} files to {out} in {t2 - t0:.1f} s "
        f"(generate {t1 - t0:.1f} s, write {t2 - t1:.1f} s)"
    )


def register(
    app: typer.Typer, solve_app: typer.Typer, check_app: typer.Typer, bench_app: typer.Typer
) -> None:
    """Add ``generate`` to the ``schoolplan`` app."""
    app.command("generate")(generate)
