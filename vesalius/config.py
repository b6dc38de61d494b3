"""One Settings object, read from ``VESALIUS_*`` environment variables and ``.env``."""

import os
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob Vesalius has. ``docs/configuration.md`` documents each one (a test checks)."""

    model_config = SettingsConfigDict(
        env_prefix="VESALIUS_", env_file=".env", extra="ignore", frozen=False
    )

    env: Literal["development", "production"] = "development"
    data_dir: Path = Path("./var")
    database_url: str | None = None
    redis_url: str | None = None
    storage_url: str | None = None
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    public_url: str | None = None
    forwarded_allow_ips: str = "127.0.0.1"
    cors_origins: Annotated[list[str], NoDecode] = []
    max_body_bytes: int = Field(default=1_048_576, ge=1024)

    secret_key: SecretStr | None = None
    jwt_private_key_file: Path | None = None
    access_token_minutes: int = Field(default=15, ge=1, le=24 * 60)
    refresh_token_days: int = Field(default=7, ge=1, le=365)
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_kib: int = Field(default=65_536, ge=8)
    argon2_parallelism: int = Field(default=1, ge=1)
    login_free_attempts: int = Field(default=5, ge=1)
    login_ip_free_attempts: int = Field(default=30, ge=1)
    login_lockout_base_seconds: float = Field(default=2.0, gt=0)
    login_lockout_max_seconds: float = Field(default=900.0, gt=0)
    login_window_seconds: int = Field(default=900, ge=1)

    max_upload_bytes: int = Field(default=2 * 1024**3, ge=1024)
    max_upload_files: int = Field(default=100, ge=1)
    max_image_pixels: int = Field(default=16384 * 16384, ge=1)
    # Segmentation models: one folder per ONNX model (model.onnx + model.json).
    models_dir: Path | None = None

    # The same SOP Instance UID sent again replaces the stored instance (else it is kept once).
    dicom_overwrite: bool = False

    embedded_workers: bool = True
    # Embedded workers run in this many child processes of ``vesalius serve`` (0: threads in
    # the web process), so conversions never starve the web event loop of the GIL.
    worker_processes: int = Field(default_factory=lambda: min(4, os.cpu_count() or 1), ge=0)
    dicom_workers: int = Field(default=3, ge=1)
    thumbnail_workers: int = Field(default=5, ge=1)
    job_max_attempts: int = Field(default=4, ge=1)
    job_retry_base_seconds: float = Field(default=5.0, ge=0)
    job_heartbeat_seconds: float = Field(default=5.0, gt=0)
    job_stale_after_seconds: float = Field(default=60.0, gt=0)
    job_rescue_interval_seconds: float = Field(default=15.0, gt=0)

    analytics_enabled: bool = True
    analytics_timezone: str = "UTC"
    analytics_retention_days: int = Field(default=90, ge=1)
    analytics_flush_seconds: float = Field(default=1.0, gt=0)
    analytics_aggregate_after_minutes: int = Field(default=5, ge=0, le=23 * 60)

    pubsub_replay_size: int = Field(default=100, ge=0, le=100_000)
    pubsub_replay_seconds: float = Field(default=3600.0, gt=0)
    pubsub_subscriber_queue: int = Field(default=1000, ge=1)
    pubsub_max_message_bytes: int = Field(default=65_536, ge=1024, le=200_000)
    sse_heartbeat_seconds: float = Field(default=15.0, gt=0)
    ws_ping_seconds: float = Field(default=20.0, gt=0)
    ws_auth_timeout_seconds: float = Field(default=10.0, gt=0)
    ws_send_queue: int = Field(default=256, ge=1)

    events_max_event_bytes: int = Field(default=16_384, ge=256)
    events_max_batch: int = Field(default=500, ge=1, le=10_000)
    events_commit_interval_ms: float = Field(default=100.0, gt=0, le=1000)
    events_retention_days: int = Field(default=7, ge=1)
    events_ip_requests_per_minute: int = Field(default=100, ge=1)
    events_key_requests_per_minute: int = Field(default=6000, ge=1)
    events_user_requests_per_minute: int = Field(default=1200, ge=1)
    events_ws_messages_per_second: float = Field(default=50.0, gt=0)
    events_ws_burst: int = Field(default=100, ge=1)
    events_distinct_exact_limit: int = Field(default=4096, ge=16)
    events_self_feed: bool = True

    admin_email: str = "admin@example.com"
    log_level: str = "INFO"
    log_format: Literal["json", "text"] = "json"

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        # Accept the friendly "a,b" form as well as a JSON list.
        if isinstance(value, str):
            return [part.strip().rstrip("/") for part in value.split(",") if part.strip()]
        return value

    @field_validator("analytics_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r} (use an IANA name like Europe/Paris)"
            ) from None
        return value

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @cached_property
    def resolved_data_dir(self) -> Path:
        return self.data_dir.expanduser().resolve()

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL with the driver SQLAlchemy should use."""
        url = self.database_url or f"sqlite:///{self.resolved_data_dir / 'vesalius.db'}"
        # psycopg 3 (its binary build) is the PostgreSQL driver we ship; plain URLs mean it.
        for prefix in ("postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix) :]
        return url

    @property
    def resolved_storage_url(self) -> str:
        return self.storage_url or f"file://{self.resolved_data_dir / 'blobs'}"

    @property
    def queue_backend(self) -> str:
        """How idle workers are woken (the queue itself is always the ``jobs`` table)."""
        return "redis" if self.redis_url else "sqlite"

    @property
    def database_backend(self) -> str:
        return "postgresql" if self.sqlalchemy_url.startswith("postgresql") else "sqlite"


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment; keyword overrides win (used by tests and the CLI)."""
    return Settings(**overrides)  # type: ignore[arg-type]
