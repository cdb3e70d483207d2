"""``schoolplan solve rotation``, ``schoolplan check rotation`` and ``schoolplan bench rotation``.

Exit codes: 0 done; 1 invalid input (every problem printed) or, for ``check``, a broken rule;
2 infeasible (the reasons printed, nothing written); 3 cancelled before any list.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Annotated, Any

import typer

from api.cli_common import load_or_exit
from planner.io import FORECAST_TABLES


def print_summary(s: dict[str, Any]) -> None:
    """Quota figures, CV before → after and shortfall, in a few lines."""
    gap = s.get("gap")
    typer.echo(
        f"status {s['status']}  gap {'-' if gap is None else f'{100 * gap:.3f}%'}  "
        f"seed {s['seed']}  {s['solve_seconds']:.1f}s"
    )
    typer.echo(
        f"  pool {s['pool']} eligible at sending schools, quota {s['quota']}, rotated "
        f"{s['rotated']} ({100 * s['rotated_share']:.1f} %), backbone {s['backbone_rotated']} "
        f"({100 * s['backbone_share']:.1f} % of {s['backbone_denominator']}); exempt {s['exempt']}"
    )
    typer.echo(f"  subject shortfall {s['shortfall_before']} → {s['shortfall_after']} teachers")
    tiers = [
        f"{name} {st.get('status')}"
        + (f" (gap {100 * st['gap']:.2f} %)" if isinstance(st.get("gap"), float) else "")
        for name, st in s.get("stages", {}).items()
        if name in ("shortfall", "rest", "tie_break")
    ]
    if tiers:
        typer.echo("  tiers: " + "; ".join(tiers))
    if s.get("deterministic") is not None:
        typer.echo(
            f"  reproducible (deterministic limits): {'yes' if s['deterministic'] else 'no'}"
        )
    for w in s.get("warnings", []):
        typer.echo(f"  warning: {w}")
    for k, before in s["cv_before"].items():
        after = s["cv_after"].get(k)
        if before is not None and after is not None:
            typer.echo(f"  CV {k}: {before:.3f} → {after:.3f}")


def register(
    app: typer.Typer, solve_app: typer.Typer, check_app: typer.Typer, bench_app: typer.Typer
) -> None:
    """Add the rotation commands to ``solve``, ``check`` and ``bench``."""

    @solve_app.command("rotation")
    def solve_rotation_cmd(
        district_dir: Annotated[Path, typer.Argument(help="District folder.")],
        out: Annotated[Path, typer.Option("--out", help="Output folder.")],
        year: Annotated[
            int | None, typer.Option(help="Planning year (cooldown rule); default this year.")
        ] = None,
        time_limit: Annotated[
            float,
            typer.Option(
                help="Safety net in seconds: the solve is budgeted by work (same list every "
                "run) and ends long before it; if it fires, the list may differ between runs."
            ),
        ] = 100.0,
        seed: Annotated[int, typer.Option(help="Random seed (same seed, same list).")] = 0,
        workers: Annotated[int, typer.Option(help="Solver threads (fixed for determinism).")] = 2,
    ) -> None:
        """Make this year's teacher rotation list (交流轮岗名单) with a reason per line."""
        from planner.errors import InfeasiblePlan
        from solvers.progress import Cancelled, console_progress
        from solvers.rotation import RotationSettings, solve_rotation

        district = load_or_exit(district_dir, FORECAST_TABLES)
        settings = RotationSettings(
            year=year, time_limit=time_limit, seed=seed, num_workers=workers
        )
        stop = threading.Event()
        try:
            result = solve_rotation(district, settings, console_progress("rotation "), stop)
        except InfeasiblePlan as exc:
            sys.stderr.write("\n")
            typer.echo("infeasible:", err=True)
            for r in exc.reasons:
                typer.echo(f"  - {r}", err=True)
            raise typer.Exit(2) from None
        except Cancelled:
            raise typer.Exit(3) from None
        except KeyboardInterrupt:
            stop.set()
            raise typer.Exit(3) from None
        sys.stderr.write("\n")
        for p in result.write(out):
            typer.echo(f"wrote {p}")
        print_summary(result.summary)

    @check_app.command("rotation")
    def check_rotation_cmd(
        district_dir: Annotated[Path, typer.Argument(help="District folder.")],
        out: Annotated[Path, typer.Argument(help="Result folder of `solve rotation`.")],
    ) -> None:
        """Check a rotation list rule by rule (exit 1 on any violation)."""
        from solvers.rotation.check import check_rotation

        rep = check_rotation(load_or_exit(district_dir, FORECAST_TABLES), out)
        typer.echo(str(rep))
        if not rep.ok:
            raise typer.Exit(1)

    @bench_app.command("rotation")
    def bench_rotation_cmd(
        quick: Annotated[bool, typer.Option(help="Only the sample county.")] = False,
    ) -> None:
        """Sample county and city: model vs the HR greedy rule; writes benchmarks/results."""
        from benchmarks.rotation_bench import main

        main(["--quick"] if quick else [])
