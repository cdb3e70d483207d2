"""The scenario store: datasets, scenarios, runs, results, API keys and the audit log.

SQLite is the embedded default (one file under the data directory, WAL mode, nothing to
install); PostgreSQL is used when the URL says so (``postgresql://...``, driver psycopg 3).
The schema is created and upgraded by the alembic migrations in ``scenarios/migrations`` when
the store opens (:meth:`Store.migrate`).

Every method opens its own short transaction and returns detached objects
(``expire_on_commit=False``), so callers in worker threads never share a session.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, delete, event, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from scenarios.errors import Conflict, NotFound
from scenarios.models import (
    FINISHED,
    ApiKey,
    AuditEntry,
    Dataset,
    Run,
    RunAssignment,
    RunFile,
    Scenario,
    new_id,
    utcnow,
)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
DB_FILE = "schoolplan.db"


def sqlite_url(data_dir: Path) -> str:
    """The URL of the embedded SQLite database under ``data_dir``."""
    return f"sqlite:///{(Path(data_dir) / DB_FILE).resolve()}"


def normalise_url(url: str) -> str:
    """Use the psycopg 3 driver for plain ``postgresql://`` / ``postgres://`` URLs."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes in WAL mode
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


class Store:
    """Access to the database.

    Parameters
    ----------
    url : str
        SQLAlchemy URL: ``sqlite:////abs/path/schoolplan.db`` or ``postgresql://user@host/db``.
    """

    def __init__(self, url: str) -> None:
        self.url = normalise_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        if self.is_sqlite:
            path = self.url.split("///", 1)[-1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            # Pooled connections shared across threads; WAL lets readers run beside the one writer.
            memory = path in ("", ":memory:")
            self.engine: Engine = create_engine(
                self.url,
                connect_args={"check_same_thread": False},
                **({"poolclass": StaticPool} if memory else {"pool_size": 8, "max_overflow": 32}),
            )
            event.listen(self.engine, "connect", _sqlite_pragmas)
        else:
            self.engine = create_engine(self.url, pool_pre_ping=True, pool_size=10, max_overflow=10)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @classmethod
    def open(cls, url: str) -> Store:
        """Open the store and apply pending migrations."""
        store = cls(url)
        store.migrate()
        return store

    def migrate(self) -> None:
        """Upgrade the schema to the newest alembic revision (idempotent)."""
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def close(self) -> None:
        """Release every pooled connection."""
        self.engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: committed on success, rolled back on error."""
        with self._sessions() as s, s.begin():
            yield s

    # -- datasets -------------------------------------------------------------------------
    def add_dataset(
        self, *, sha256: str, name: str, content: bytes, info: dict[str, Any], created_by: str
    ) -> tuple[Dataset, bool]:
        """Store a dataset unless one with the same hash exists; returns (dataset, created)."""
        existing = self.find_dataset(sha256)
        if existing is not None:
            return existing, False
        ds = Dataset(
            id=new_id("ds"),
            sha256=sha256,
            name=name,
            size_bytes=len(content),
            info=info,
            content=content,
            created_by=created_by,
        )
        try:
            with self.session() as s:
                s.add(ds)
        except IntegrityError:  # the same content uploaded concurrently
            found = self.find_dataset(sha256)
            if found is None:
                raise
            return found, False
        return ds, True

    def find_dataset(self, sha256: str) -> Dataset | None:
        """The dataset with this content hash, if any."""
        with self.session() as s:
            return s.scalars(select(Dataset).where(Dataset.sha256 == sha256)).first()

    def get_dataset(self, dataset_id: str) -> Dataset:
        """A dataset's metadata (not its content).

        Raises
        ------
        NotFound
        """
        with self.session() as s:
            ds = s.get(Dataset, dataset_id)
        if ds is None:
            raise NotFound(f"dataset '{dataset_id}' not found")
        return ds

    def dataset_content(self, dataset_id: str) -> bytes:
        """The normalised zip of a dataset."""
        with self.session() as s:
            content = s.scalar(select(Dataset.content).where(Dataset.id == dataset_id))
        if content is None:
            raise NotFound(f"dataset '{dataset_id}' not found")
        return bytes(content)

    def list_datasets(self, limit: int = 100, offset: int = 0) -> tuple[list[Dataset], int]:
        """Datasets, newest first, and the total count."""
        with self.session() as s:
            rows = s.scalars(
                select(Dataset)
                .order_by(Dataset.created_at.desc(), Dataset.id)
                .limit(limit)
                .offset(offset)
            ).all()
            count = s.scalar(select(func.count()).select_from(Dataset)) or 0
        return list(rows), count

    # -- scenarios ------------------------------------------------------------------------
    def add_scenario(self, scenario: Scenario) -> Scenario:
        """Insert a scenario.

        Raises
        ------
        Conflict
            When the name is taken.
        """
        try:
            with self.session() as s:
                s.add(scenario)
        except IntegrityError as exc:
            if self.find_scenario(scenario.name) is not None:
                raise Conflict(f"a scenario named '{scenario.name}' already exists") from exc
            raise
        return scenario

    def find_scenario(self, name: str) -> Scenario | None:
        """The scenario with this name, if any."""
        with self.session() as s:
            return s.scalars(select(Scenario).where(Scenario.name == name)).first()

    def get_scenario(self, scenario_id: str) -> Scenario:
        """A scenario by id.

        Raises
        ------
        NotFound
        """
        with self.session() as s:
            sc = s.get(Scenario, scenario_id)
        if sc is None:
            raise NotFound(f"scenario '{scenario_id}' not found")
        return sc

    def list_scenarios(
        self, limit: int = 100, offset: int = 0, dataset_id: str | None = None
    ) -> tuple[list[Scenario], int]:
        """Scenarios, oldest first, and the total count."""
        q = select(Scenario)
        c = select(func.count()).select_from(Scenario)
        if dataset_id:
            q = q.where(Scenario.dataset_id == dataset_id)
            c = c.where(Scenario.dataset_id == dataset_id)
        with self.session() as s:
            rows = s.scalars(
                q.order_by(Scenario.created_at, Scenario.id).limit(limit).offset(offset)
            ).all()
            count = s.scalar(c) or 0
        return list(rows), count

    def update_scenario(
        self, scenario_id: str, changes: dict[str, Any], expected_version: int | None = None
    ) -> Scenario:
        """Apply ``changes`` (name, description, edits, settings) and bump the version.

        Raises
        ------
        NotFound
        Conflict
            When ``expected_version`` is given and differs, or the new name is taken.
        """
        try:
            with self.session() as s:
                sc = s.get(Scenario, scenario_id, with_for_update=not self.is_sqlite)
                if sc is None:
                    raise NotFound(f"scenario '{scenario_id}' not found")
                if expected_version is not None and expected_version != sc.version:
                    raise Conflict(
                        f"scenario '{scenario_id}' is at version {sc.version}, not "
                        f"{expected_version}: reload it and apply your change again"
                    )
                for key, value in changes.items():
                    setattr(sc, key, value)
                sc.version += 1
                sc.updated_at = utcnow()
        except IntegrityError as exc:
            raise Conflict(f"a scenario named '{changes.get('name')}' already exists") from exc
        return sc

    # -- runs -----------------------------------------------------------------------------
    def add_run(self, run: Run) -> Run:
        """Insert a queued run."""
        with self.session() as s:
            s.add(run)
        return run

    def get_run(self, run_id: str) -> Run:
        """A run by id.

        Raises
        ------
        NotFound
        """
        with self.session() as s:
            run = s.get(Run, run_id)
        if run is None:
            raise NotFound(f"run '{run_id}' not found")
        return run

    def get_runs(self, run_ids: Sequence[str]) -> list[Run]:
        """Several runs, in the order asked.

        Raises
        ------
        NotFound
            Naming the first id that does not exist.
        """
        with self.session() as s:
            found = {r.id: r for r in s.scalars(select(Run).where(Run.id.in_(list(run_ids))))}
        for rid in run_ids:
            if rid not in found:
                raise NotFound(f"run '{rid}' not found")
        return [found[rid] for rid in run_ids]

    def list_runs(
        self,
        *,
        scenario_id: str | None = None,
        kinds: Sequence[str] | None = None,
        statuses: Sequence[str] | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[list[Run], int]:
        """Runs, newest first, filtered, and the total count."""
        conds = []
        if scenario_id:
            conds.append(Run.scenario_id == scenario_id)
        if kinds is not None:
            conds.append(Run.kind.in_(list(kinds)))
        if statuses is not None:
            conds.append(Run.status.in_(list(statuses)))
        with self.session() as s:
            rows = s.scalars(
                select(Run)
                .where(*conds)
                .order_by(Run.created_at.desc(), Run.id)
                .limit(limit)
                .offset(offset)
            ).all()
            count = s.scalar(select(func.count()).select_from(Run).where(*conds)) or 0
        return list(rows), count

    def claim_run(self, run_id: str) -> bool:
        """Move a queued run to running; False if it is no longer queued (e.g. cancelled)."""
        with self.session() as s:
            res = s.execute(
                update(Run)
                .where(Run.id == run_id, Run.status == "queued")
                .values(status="running", started_at=utcnow())
            )
        return bool(res.rowcount)  # type: ignore[attr-defined]

    def set_progress(self, run_id: str, progress: dict[str, Any]) -> None:
        """Record a running run's progress (best objective, bound, gap, elapsed)."""
        with self.session() as s:
            s.execute(
                update(Run)
                .where(Run.id == run_id, Run.status == "running")
                .values(progress=progress)
            )

    def request_cancel(self, run_id: str) -> Run:
        """Cancel a queued run at once, or flag a running one to stop.

        Raises
        ------
        NotFound
        Conflict
            When the run has already finished.
        """
        with self.session() as s:
            run = s.get(Run, run_id, with_for_update=not self.is_sqlite)
            if run is None:
                raise NotFound(f"run '{run_id}' not found")
            if run.status in FINISHED:
                raise Conflict(
                    f"run '{run_id}' has already finished ({run.status}): nothing to cancel"
                )
            run.cancel_requested = True
            if run.status == "queued":
                run.status = "cancelled"
                run.error = "cancelled before it started"
                run.finished_at = utcnow()
        return run

    def finish_run(
        self,
        run_id: str,
        *,
        status: str,
        summary: dict[str, Any] | None = None,
        progress: dict[str, Any] | None = None,
        error: str | None = None,
        error_details: list[Any] | None = None,
        files: Sequence[tuple[str, str, bytes]] = (),
        assignments: Sequence[tuple[str, str, str]] = (),
    ) -> bool:
        """Store a running run's outcome and results in one transaction.

        ``files`` are (name, media type, content); ``assignments`` are (level, unit, school).
        Returns False, storing nothing, when the run is no longer running (e.g. it was failed
        as interrupted by a newer service process).
        """
        with self.session() as s:
            run = s.get(Run, run_id, with_for_update=not self.is_sqlite)
            if run is None:
                raise NotFound(f"run '{run_id}' not found")
            if run.status != "running":
                return False
            run.status = status
            run.summary = summary
            run.error = error
            run.error_details = list(error_details or [])
            run.finished_at = utcnow()
            if progress is not None:
                run.progress = progress
            s.execute(delete(RunFile).where(RunFile.run_id == run_id))
            s.execute(delete(RunAssignment).where(RunAssignment.run_id == run_id))
            s.flush()
            for name, media_type, content in files:
                s.add(
                    RunFile(
                        run_id=run_id,
                        name=name,
                        media_type=media_type,
                        size_bytes=len(content),
                        content=content,
                    )
                )
            if assignments:
                s.execute(
                    insert(RunAssignment),
                    [
                        {"run_id": run_id, "level": lv, "unit_id": u, "school_id": sc}
                        for lv, u, sc in assignments
                    ],
                )
        return True

    def fail_interrupted(self, reason: str) -> list[str]:
        """Mark every queued or running run failed with ``reason``; returns their ids."""
        with self.session() as s:
            ids = list(s.scalars(select(Run.id).where(Run.status.in_(["queued", "running"]))))
            if ids:
                s.execute(
                    update(Run)
                    .where(Run.id.in_(ids))
                    .values(status="failed", error=reason, finished_at=utcnow())
                )
        return ids

    def run_files(self, run_id: str) -> list[RunFile]:
        """A run's stored files (metadata only)."""
        with self.session() as s:
            return list(
                s.scalars(select(RunFile).where(RunFile.run_id == run_id).order_by(RunFile.name))
            )

    def run_file(self, run_id: str, name: str) -> tuple[str, bytes] | None:
        """(media type, content) of one stored file, or None."""
        with self.session() as s:
            row = s.execute(
                select(RunFile.media_type, RunFile.content).where(
                    RunFile.run_id == run_id, RunFile.name == name
                )
            ).first()
        return None if row is None else (row[0], bytes(row[1]))

    def assignments(self, run_id: str) -> list[tuple[str, str, str]]:
        """(level, unit id, school id) rows of a run, sorted."""
        with self.session() as s:
            rows = s.execute(
                select(RunAssignment.level, RunAssignment.unit_id, RunAssignment.school_id)
                .where(RunAssignment.run_id == run_id)
                .order_by(RunAssignment.level, RunAssignment.unit_id)
            ).all()
        return [(r[0], r[1], r[2]) for r in rows]

    # -- keys -----------------------------------------------------------------------------
    def add_key(self, key: ApiKey) -> ApiKey:
        """Insert an API key record (hash only)."""
        with self.session() as s:
            s.add(key)
        return key

    def key_by_hash(self, key_hash: str) -> ApiKey | None:
        """The active key with this hash, if any."""
        with self.session() as s:
            return s.scalars(
                select(ApiKey).where(ApiKey.key_hash == key_hash, ApiKey.revoked_at.is_(None))
            ).first()

    def list_keys(self) -> list[ApiKey]:
        """Every key record, oldest first."""
        with self.session() as s:
            return list(s.scalars(select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)))

    def revoke_key(self, key_id: str) -> ApiKey:
        """Revoke a key.

        Raises
        ------
        NotFound
        Conflict
            When already revoked.
        """
        with self.session() as s:
            key = s.get(ApiKey, key_id)
            if key is None:
                raise NotFound(f"API key '{key_id}' not found")
            if key.revoked_at is not None:
                raise Conflict(f"API key '{key_id}' is already revoked")
            key.revoked_at = utcnow()
        return key

    # -- audit ----------------------------------------------------------------------------
    def audit(
        self,
        *,
        actor: str,
        role: str,
        action: str,
        target_type: str,
        target_id: str,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Append one entry to the audit log."""
        with self.session() as s:
            s.add(
                AuditEntry(
                    actor=actor,
                    role=role,
                    action=action,
                    target_type=target_type,
                    target_id=target_id,
                    detail=detail or {},
                )
            )

    def audit_many(self, rows: Sequence[dict[str, Any]]) -> None:
        """Append entries (dicts of :class:`AuditEntry` columns, ``at`` included) in one
        transaction, in order."""
        if not rows:
            return
        with self.session() as s:
            s.execute(insert(AuditEntry), [dict(r) for r in rows])

    def list_audit(
        self,
        *,
        limit: int = 100,
        offset: int = 0,
        actor: str | None = None,
        action: str | None = None,
        since: datetime | None = None,
    ) -> tuple[list[AuditEntry], int]:
        """Audit entries, newest first, and the total count."""
        conds = []
        if actor:
            conds.append(AuditEntry.actor == actor)
        if action:
            conds.append(AuditEntry.action == action)
        if since:
            conds.append(AuditEntry.at >= since)
        with self.session() as s:
            rows = s.scalars(
                select(AuditEntry)
                .where(*conds)
                .order_by(AuditEntry.id.desc())
                .limit(limit)
                .offset(offset)
            ).all()
            count = s.scalar(select(func.count()).select_from(AuditEntry).where(*conds)) or 0
        return list(rows), count
