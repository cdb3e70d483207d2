"""``schoolplan serve``: run the API service (uvicorn), optionally with the sample county."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Annotated

import typer

from api.settings import Settings


def load_sample(settings: Settings, seed: int = 0) -> tuple[str, str]:
    """Store the generated sample county as a dataset with a "today" scenario, once.

    Returns the dataset and scenario ids (existing ones when already loaded).
    """
    import tempfile

    from planner.generate import make_district
    from planner.writer import write_district
    from scenarios.runs.runners import RunnerRegistry
    from scenarios.service import ScenarioService
    from scenarios.store import Store

    store = Store.open(settings.url())
    try:
        service = ScenarioService(store, RunnerRegistry.default(), settings.data_dir)
        existing = store.find_scenario("today")
        if existing is not None:
            return existing.dataset_id, existing.id
        with tempfile.TemporaryDirectory(prefix="schoolplan-sample-") as tmp:
            folder = Path(tmp) / "sample"
            write_district(make_district(seed=seed), folder)
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
                for path in sorted(p for p in folder.rglob("*") if p.is_file()):
                    zf.write(path, str(path.relative_to(folder)))
        ds, _ = service.create_dataset(buf.getvalue(), "Sample county", "sample")
        sc = service.create_scenario(
            name="today",
            dataset_id=ds.id,
            actor="sample",
            description="The generated sample county as it is today.",
        )
        return ds.id, sc.id
    finally:
        store.close()


def register(
    app: typer.Typer, solve_app: typer.Typer, check_app: typer.Typer, bench_app: typer.Typer
) -> None:
    """Add the ``serve`` command."""

    @app.command("serve")
    def serve(
        host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="Port.")] = 8000,
        data_dir: Annotated[
            Path | None,
            typer.Option(
                help="Data directory (SQLite file, unpacked datasets). Default: $SCHOOLPLAN_DATA_DIR or ./data."
            ),
        ] = None,
        load_sample_: Annotated[
            bool,
            typer.Option(
                "--load-sample", help="Store the sample county and a 'today' scenario if missing."
            ),
        ] = False,
        workers: Annotated[
            int | None, typer.Option(help="Solves at the same time (default 1).")
        ] = None,
    ) -> None:
        """Serve the HTTP API (docs at http://HOST:PORT/docs, spec at /openapi.json)."""
        import uvicorn

        from api.app import create_app

        overrides: dict[str, object] = {}
        if data_dir is not None:
            overrides["data_dir"] = data_dir
        if workers is not None:
            overrides["workers"] = workers
        settings = Settings(**overrides)  # type: ignore[arg-type]
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        if load_sample_:
            ds, sc = load_sample(settings)
            typer.echo(f"sample county: dataset {ds}, scenario 'today' {sc}")
        typer.echo(f"serving on http://{host}:{port} (data in {settings.data_dir.resolve()})")
        uvicorn.run(create_app(settings), host=host, port=port, log_level="info")
