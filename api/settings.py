"""Service settings, from ``SCHOOLPLAN_*`` environment variables (pydantic-settings)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Settings of the API service.

    Every field can be set as an environment variable with the prefix ``SCHOOLPLAN_``
    (``SCHOOLPLAN_DATABASE_URL``, ``SCHOOLPLAN_ADMIN_KEY``...).
    """

    model_config = SettingsConfigDict(env_prefix="SCHOOLPLAN_", extra="ignore")

    data_dir: Path = Field(
        Path("data"), description="Folder of the SQLite database and unpacked datasets."
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL; unset = SQLite file data_dir/schoolplan.db. "
        "PostgreSQL: postgresql://user:password@host:5432/dbname (psycopg 3).",
    )
    admin_key: SecretStr | None = Field(
        None,
        description="The admin API key; unset = a key is generated at start-up and printed once.",
    )
    max_upload_bytes: int = Field(50 * 1024 * 1024, gt=0, description="Largest upload (413 above).")
    max_unpacked_bytes: int = Field(
        500 * 1024 * 1024, gt=0, description="Largest total size of an unpacked dataset zip."
    )
    workers: int = Field(
        1, ge=1, description="Solves run at the same time (each uses solver threads)."
    )
    hard_limit_factor: float = Field(
        2.0, gt=0, description="A run is stopped after time_limit × this + grace seconds."
    )
    hard_limit_grace: float = Field(30.0, ge=0, description="Grace seconds of the hard limit.")
    progress_interval: float = Field(
        0.5, ge=0, description="Least seconds between progress writes."
    )
    sse_poll_interval: float = Field(
        0.25, gt=0, description="How often the SSE stream polls the store."
    )
    key_cache_ttl: float = Field(
        10.0,
        ge=0,
        description="Seconds a verified API key is trusted from memory before the store is "
        "asked again (a key revoked through this service stops working at once; 0 = no cache).",
    )
    response_cache_bytes: int = Field(
        64 * 1024 * 1024,
        ge=0,
        description="Memory for serialised responses about finished runs (0 = no cache).",
    )
    audit_flush_interval: float = Field(
        0.2, gt=0, description="Seconds between batched writes of download audit entries."
    )
    audit_batch_rows: int = Field(
        500, ge=1, description="Queued audit entries that trigger a write at once."
    )
    shutdown_grace: float = Field(
        10.0,
        ge=0,
        description="Seconds to wait at shutdown for stopping runs to record their state.",
    )

    def url(self) -> str:
        """The database URL to use."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'schoolplan.db').resolve()}"
