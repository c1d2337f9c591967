"""Settings: a TOML file plus ``PARLEY_*`` environment variables (pydantic-settings).

Precedence, highest first: keyword overrides, environment (``__`` nests, e.g.
``PARLEY_SERVER__PORT=9000``; lists and tables as JSON, e.g.
``PARLEY_ALIASES='{"claude-*": "smollm2-135m-instruct"}'``), the TOML file named by
``--config`` or ``PARLEY_CONFIG``, then the defaults below, which describe the embedded
default: the bundled SmolLM2-135M-Instruct GGUF on llama.cpp.

Settings are never built at import time; call :func:`load_settings`.
Backend options stay an untyped table here and are validated by the backend kind's own
options model when the registry builds the backend, so a typo fails at start-up.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

BUNDLED_MODEL_ID = "smollm2-135m-instruct"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SamplingDefaults(_Section):
    """Sampling used when a request sets none (always under ``2026-10-21``)."""

    temperature: float = Field(1.0, ge=0.0, le=2.0)
    top_p: float | None = Field(None, gt=0.0, le=1.0)
    top_k: int | None = Field(None, ge=0)


class ModelPricing(_Section):
    """USD per million tokens. Cache prices default to the API's multipliers of the
    input price: reads 0.1x, 5-minute writes 1.25x, 1-hour writes 2x."""

    input: float = Field(0.0, ge=0)
    output: float = Field(0.0, ge=0)
    cache_read: float | None = Field(None, ge=0)
    cache_write_5m: float | None = Field(None, ge=0)
    cache_write_1h: float | None = Field(None, ge=0)


class LimitValues(_Section):
    """Per-minute limits; None is no limit."""

    requests_per_minute: int | None = Field(None, ge=1)
    input_tokens_per_minute: int | None = Field(None, ge=1)
    output_tokens_per_minute: int | None = Field(None, ge=1)


class TierConfig(_Section):
    """A usage tier: limits for every model group, overrides for named groups."""

    default: LimitValues = Field(default_factory=LimitValues)
    groups: dict[str, LimitValues] = Field(default_factory=dict)
    count_tokens_requests_per_minute: int | None = Field(None, ge=1)
    # Requests of unfinished batches one organization may have queued.
    batch_queue_limit: int | None = Field(None, ge=1)


class RateLimitSettings(_Section):
    # A built-in tier (unlimited, start, build, scale) or one defined under `tiers`.
    tier: str = "unlimited"
    tiers: dict[str, TierConfig] = Field(default_factory=dict)
    # Where bucket state lives: this process, or Redis (shared by several processes).
    store: Literal["memory", "redis"] = "memory"
    redis_url: str = "redis://127.0.0.1:6379/0"
    # Seconds admin-set overrides stay cached before the database is asked again.
    override_cache_ttl: float = Field(5.0, ge=0)


class SpendLimitSettings(_Section):
    # Monthly spend limit of the whole organization in USD (None: no limit);
    # workspaces get theirs through the Admin API.
    organization_monthly_usd: float | None = Field(None, ge=0)
    # Seconds the month's spend stays cached before it is summed again.
    refresh_seconds: float = Field(5.0, ge=0)


class ModelConfig(_Section):
    """One served model: its public id, aliases, and the backend that answers it."""

    id: str = Field(min_length=1, max_length=256)
    # Models sharing a rate-limit group share buckets (as Claude's Opus 4.x do).
    rate_limit_group: str | None = None
    display_name: str | None = None
    backend: str = "llama_cpp"
    aliases: list[str] = Field(default_factory=list)
    created_at: datetime = EPOCH
    sampling: SamplingDefaults = Field(default_factory=SamplingDefaults)
    pricing: ModelPricing = Field(default_factory=ModelPricing)
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("created_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value if value.tzinfo else value.replace(tzinfo=UTC)


def _bundled_model() -> ModelConfig:
    # SmolLM2's model card recommends a low temperature; at the API default of 1.0
    # a 135M model mostly rambles.
    return ModelConfig(
        id=BUNDLED_MODEL_ID,
        display_name="SmolLM2 135M Instruct",
        backend="llama_cpp",
        created_at=datetime(2024, 10, 31, tzinfo=UTC),
        sampling=SamplingDefaults(temperature=0.2, top_p=0.9),
        options={"gguf": "bundled:smollm2"},
    )


class ServerSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    # Absolute base URL clients reach this server at; used for absolute links such
    # as a batch's results_url. Defaults to http://{host}:{port}.
    public_base_url: str | None = None
    max_body_bytes: int = Field(32 * 1024 * 1024, ge=1024)
    # Seconds between SSE ping events while a stream waits for the model.
    ping_interval: float = Field(5.0, gt=0)
    log_level: Literal["debug", "info", "warning", "error"] = "info"


class AuthSettings(_Section):
    # Registered on the first start only (stored hashed). Without bootstrap_admin_key
    # the first start generates an admin key and prints it once.
    bootstrap_admin_key: SecretStr | None = None
    bootstrap_api_key: SecretStr | None = None
    owner_email: str = "owner@localhost"
    # Accept data-plane requests without a key (attributed to the default workspace).
    open_access: bool = False
    # Seconds a verified key stays cached in-process before the store is asked again.
    key_cache_ttl: float = Field(10.0, ge=0)
    # Keys held in that cache at most, and as many lookups that found no key.
    key_cache_entries: int = Field(10_000, ge=1)


class DatabaseSettings(_Section):
    # SQLAlchemy async URL; default: SQLite at <data_dir>/parley.db.
    # PostgreSQL: postgresql+asyncpg://user@host:5432/parley
    url: str | None = None
    migrate_on_start: bool = True


class BatchSettings(_Section):
    # Requests not processed this many hours after creation end as `expired`.
    expiry_hours: float = Field(24.0, gt=0)
    # Results are kept this many days after creation, then deleted (archived_at).
    retention_days: float = Field(29.0, gt=0)
    # Run the batch worker inside `parley serve` (`parley worker` runs more of them).
    worker_in_server: bool = True
    # Requests one worker runs at once (default: the models' parallel slots).
    concurrency: int | None = Field(None, ge=1)
    # A worker that stops renewing its lease for this long loses its requests.
    lease_seconds: float = Field(30.0, gt=0)
    poll_interval: float = Field(0.5, gt=0)
    max_body_bytes: int = Field(256 * 1024 * 1024, ge=1024)


class FilesSettings(_Section):
    # Where file and skill contents live: default a directory in the data directory;
    # s3://bucket/prefix?endpoint_url=http://host:port for S3-compatible storage.
    blob_url: str | None = None
    max_file_bytes: int = Field(500 * 1024 * 1024, ge=1)
    # Total bytes of files one organization may store.
    storage_quota_bytes: int = Field(1024**4, ge=1)


class UsageSettings(_Section):
    # Seconds between writes of buffered usage to the database.
    flush_interval: float = Field(1.0, gt=0)


class Settings(BaseSettings):
    """Everything a Parley process is configured with."""

    model_config = SettingsConfigDict(
        env_prefix="PARLEY_",
        env_nested_delimiter="__",
        extra="forbid",
        toml_file=None,
    )

    data_dir: Path = Field(default_factory=lambda: Path(platformdirs.user_data_dir("parley")))
    server: ServerSettings = Field(default_factory=ServerSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    usage: UsageSettings = Field(default_factory=UsageSettings)
    batches: BatchSettings = Field(default_factory=BatchSettings)
    files: FilesSettings = Field(default_factory=FilesSettings)
    rate_limits: RateLimitSettings = Field(default_factory=RateLimitSettings)
    spend_limits: SpendLimitSettings = Field(default_factory=SpendLimitSettings)
    organization_name: str = "Parley"
    models: list[ModelConfig] = Field(default_factory=lambda: [_bundled_model()])
    # Extra names for served models: exact names or shell-style patterns
    # ("claude-*"), e.g. so Claude Code's model names reach a local model.
    aliases: dict[str, str] = Field(default_factory=dict)
    inference_geo: str = "global"

    @field_validator("data_dir")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    def database_url(self) -> str:
        return self.database.url or f"sqlite+aiosqlite:///{self.data_dir / 'parley.db'}"

    def base_url(self) -> str:
        if self.server.public_base_url:
            return self.server.public_base_url.rstrip("/")
        return f"http://{self.server.host}:{self.server.port}"


def load_settings(config_file: Path | str | None = None, **overrides: Any) -> Settings:
    """Build settings from ``config_file`` (or ``$PARLEY_CONFIG``), env and overrides."""
    path = config_file or os.environ.get("PARLEY_CONFIG")
    if path is not None and not Path(path).is_file():
        raise FileNotFoundError(f"config file not found: {path}")

    class _FromFile(Settings):
        model_config = SettingsConfigDict(toml_file=path)

    return _FromFile(**overrides)
