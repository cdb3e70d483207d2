"""The ``schoolplan`` command line.

Each area registers its commands from its own module (``api/cli_<area>.py``) through
``register(app, solve_app, check_app, bench_app)``, so that the areas stay independent.
"""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    help="School planning: districts, catchments, layout, teacher rotation.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
solve_app = typer.Typer(
    help="Solve an optimisation problem on a district folder.", no_args_is_help=True
)
check_app = typer.Typer(
    help="Check a result folder rule by rule, solver-independently.", no_args_is_help=True
)
bench_app = typer.Typer(help="Run benchmarks and print tables.", no_args_is_help=True)
app.add_typer(solve_app, name="solve")
app.add_typer(check_app, name="check")
app.add_typer(bench_app, name="bench")

#: Modules that add commands, in help order.
AREAS: tuple[str, ...] = (
    "api.cli_district",
    "api.cli_generate",
    "api.cli_metrics",
    "api.cli_catchment",
    "api.cli_layout",
    "api.cli_rotation",
    "api.cli_forecast",
    "api.cli_serve",
    "api.cli_demo",
)

for _name in AREAS:
    try:
        _mod = importlib.import_module(_name)
    except ModuleNotFoundError as exc:  # an area not yet built; others still work
        if exc.name != _name:
            raise
        continue
    _mod.register(app, solve_app, check_app, bench_app)


def main() -> None:
    """Entry point of the ``schoolplan`` console script."""
    app()


if __name__ == "__main__":
    main()
