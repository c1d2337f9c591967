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

    temperature: float = Field(
        1.0, ge=0.0, le=2.0, description="Sampling temperature; 0 is greedy."
    )
    top_p: float | None = Field(None, gt=0.0, le=1.0, description="Nucleus sampling cut-off.")
    top_k: int | None = Field(None, ge=0, description="Sample only from the k likeliest tokens.")


class ModelPricing(_Section):
    """USD per million tokens. Cache prices default to the API's multipliers of the
    input price: reads 0.1x, 5-minute writes 1.25x, 1-hour writes 2x."""

    input: float = Field(0.0, ge=0, description="Uncached input tokens, USD per million.")
    output: float = Field(0.0, ge=0, description="Output tokens, USD per million.")
    cache_read: float | None = Field(
        None, ge=0, description="Cache reads, USD per million (default: 0.1x input)."
    )
    cache_write_5m: float | None = Field(
        None, ge=0, description="5-minute cache writes, USD per million (default: 1.25x input)."
    )
    cache_write_1h: float | None = Field(
        None, ge=0, description="1-hour cache writes, USD per million (default: 2x input)."
    )


class LimitValues(_Section):
    """Per-minute limits; None is no limit."""

    requests_per_minute: int | None = Field(None, ge=1, description="Requests per minute.")
    input_tokens_per_minute: int | None = Field(
        None, ge=1, description="Uncached input tokens per minute (cache reads do not count)."
    )
    output_tokens_per_minute: int | None = Field(
        None, ge=1, description="Output tokens per minute (reserved from max_tokens)."
    )


class TierConfig(_Section):
    """A usage tier: limits for every model group, overrides for named groups."""

    default: LimitValues = Field(
        default_factory=LimitValues, description="Limits of every model group."
    )
    groups: dict[str, LimitValues] = Field(
        default_factory=dict, description="Limits of named model groups, instead of default."
    )
    count_tokens_requests_per_minute: int | None = Field(
        None, ge=1, description="count_tokens requests per minute (its own bucket)."
    )
    batch_queue_limit: int | None = Field(
        None, ge=1, description="Requests of unfinished batches one organization may queue."
    )
    monthly_spend_cap_usd: float | None = Field(
        None,
        ge=0,
        description="The tier's monthly spend cap in USD (the Admin API's `usage_tier` spend "
        "limit); reaching it gives 429 until the next month. None: no cap.",
    )
    advance_at_usd: float | None = Field(
        None,
        ge=0,
        description="Cumulative spend in USD at which an organization on the tier below it "
        "in `ladder` moves up to this tier. None: never reached automatically.",
    )
    advance_after_days: float = Field(
        0,
        ge=0,
        description="And at least this many days after the organization's first usage.",
    )


class RateLimitSettings(_Section):
    tier: str = Field(
        "unlimited",
        description="Usage tier the organization starts on: built in (unlimited, start, build, "
        "scale) or one under `tiers`. A tier in `ladder` advances by itself with spend.",
    )
    tiers: dict[str, TierConfig] = Field(
        default_factory=dict, description="Tiers of this deployment, by name."
    )
    ladder: list[str] = Field(
        ["start", "build", "scale"],
        description="Tiers an organization climbs automatically, lowest first, each when its "
        "`advance_at_usd` and `advance_after_days` are met. Empty: no advancement.",
    )
    store: Literal["memory", "redis"] = Field(
        "memory",
        description="Where bucket state lives: this process, or Redis (shared by processes).",
    )
    redis_url: str = Field("redis://127.0.0.1:6379/0", description='Redis for `store = "redis"`.')
    on_store_error: Literal["allow", "refuse"] = Field(
        "allow",
        description="When the bucket store (Redis) cannot be reached: let requests through "
        "unlimited (and log it), or refuse them with 529 and retry-after.",
    )
    override_cache_ttl: float = Field(
        5.0,
        ge=0,
        description="Seconds admin-set limits, the usage tier and Priority Tier commitments "
        "stay cached before they are read again (changes made through any process reach the "
        'others at once when `store = "redis"`).',
    )


class SpendLimitSettings(_Section):
    organization_monthly_usd: float | None = Field(
        None,
        ge=0,
        description="Monthly spend limit of the organization in USD (workspaces get theirs "
        "through the Admin API); none by default.",
    )
    refresh_seconds: float = Field(
        5.0,
        ge=0,
        description="Seconds the month's spend stays cached before it is summed again; the "
        "organization's usage tier is checked for a move up as often.",
    )


class ModelConfig(_Section):
    """One served model: its public id, aliases, and the backend that answers it."""

    id: str = Field(min_length=1, max_length=256, description="The model name clients send.")
    rate_limit_group: str | None = Field(
        None, description="Models in one group share rate-limit buckets (default: the id)."
    )
    display_name: str | None = Field(None, description="Shown by the Models API.")
    backend: str = Field("llama_cpp", description="Backend kind: llama_cpp, openai or anthropic.")
    aliases: list[str] = Field(
        default_factory=list, description="More names for it: exact, or patterns like claude-*."
    )
    created_at: datetime = Field(EPOCH, description="Its release date, for the Models API.")
    sampling: SamplingDefaults = Field(
        default_factory=SamplingDefaults, description="Sampling when a request sets none."
    )
    pricing: ModelPricing = Field(
        default_factory=ModelPricing, description="Prices for cost reports and spend limits."
    )
    options: dict[str, Any] = Field(
        default_factory=dict,
        description="The backend kind's options (see the backends' sections below).",
    )

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
    host: str = Field("127.0.0.1", description="Address to listen on.")
    port: int = Field(8080, ge=0, le=65535, description="Port to listen on.")
    public_base_url: str | None = Field(
        None,
        description="Absolute base URL clients reach this server at, for links such as a "
        "batch's results_url (default: http://{host}:{port}).",
    )
    max_body_bytes: int = Field(
        32 * 1024 * 1024, ge=1024, description="Largest request body; larger ones get 413."
    )
    ping_interval: float = Field(
        5.0, gt=0, description="Seconds between SSE ping events while a stream waits."
    )
    shutdown_drain_seconds: float = Field(
        20.0,
        ge=0,
        description="After SIGTERM, seconds streams in flight get to finish before they end "
        "with an error event; the process exits at most 5 seconds later.",
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="Log level."
    )
    browser_origins: list[str] = Field(
        ["*"],
        description="Web origins (scheme://host[:port]) whose pages may call the API "
        'directly, as the SDK\'s dangerouslyAllowBrowser does; "*" is any origin, as on '
        "the hosted API, and an empty list turns browser access off. Requests must carry "
        "anthropic-dangerous-direct-browser-access: true; no cookies are ever allowed.",
    )


class AuthSettings(_Section):
    bootstrap_admin_key: SecretStr | None = Field(
        None,
        description="Admin key registered on the first start (stored hashed); without it "
        "the first start generates one and prints it once.",
    )
    bootstrap_api_key: SecretStr | None = Field(
        None, description="API key registered in the default workspace on the first start."
    )
    owner_email: str = Field("owner@localhost", description="Email of the organization's owner.")
    open_access: bool = Field(
        False,
        description="Accept data-plane requests without a key (attributed to the default "
        "workspace).",
    )
    key_cache_ttl: float = Field(
        10.0, ge=0, description="Seconds a verified key stays cached in each process."
    )
    key_cache_entries: int = Field(
        10_000,
        ge=1,
        description="Keys held in that cache at most, and as many lookups that found no key.",
    )
    signing_secret: SecretStr | None = Field(
        None,
        description="Secret that signs thinking blocks; every process of a deployment needs "
        "the same (default: a random one per process, lost when it restarts).",
    )


class DatabaseSettings(_Section):
    url: str | None = Field(
        None,
        description="SQLAlchemy async URL, e.g. postgresql+asyncpg://user@host:5432/parley "
        "(default: SQLite at <data_dir>/parley.db).",
    )
    migrate_on_start: bool = Field(
        True, description="Apply migrations on start (or run `parley db upgrade` yourself)."
    )


class BatchSettings(_Section):
    expiry_hours: float = Field(
        24.0, gt=0, description="Requests not processed this long after creation expire."
    )
    retention_days: float = Field(
        29.0, gt=0, description="Results are deleted this many days after creation."
    )
    worker_in_server: bool = Field(True, description="Run the batch worker inside `parley serve`.")
    concurrency: int | None = Field(
        None,
        ge=1,
        description="Requests one worker runs at once (default: the models' batch "
        "sequences and a quarter more).",
    )
    lease_seconds: float = Field(
        30.0, gt=0, description="A worker that stops renewing its lease this long loses it."
    )
    poll_interval: float = Field(
        0.5, gt=0, description="Seconds between a worker's looks for new requests."
    )
    max_body_bytes: int = Field(
        256 * 1024 * 1024, ge=1024, description="Largest batch-creation body."
    )


class FilesSettings(_Section):
    blob_url: str | None = Field(
        None,
        description="Where file and skill contents live: a directory in the data directory "
        "by default, or s3://bucket/prefix?endpoint_url=http://host:port.",
    )
    max_file_bytes: int = Field(500 * 1024 * 1024, ge=1, description="Largest file upload.")
    storage_quota_bytes: int = Field(
        1024**4, ge=1, description="Total bytes of files one organization may store."
    )


class MetricsSettings(_Section):
    access: Literal["admin", "open", "off"] = Field(
        "admin",
        description="Who may read GET /metrics (Prometheus): admin keys (as x-api-key or "
        "a bearer token), anyone, or no one (404).",
    )


class UsageSettings(_Section):
    flush_interval: float = Field(
        1.0, gt=0, description="Seconds between writes of buffered usage to the database."
    )


class ConsoleSettings(_Section):
    enabled: bool = Field(
        True, description="Serve the web Console and Workbench under /console on the API's port."
    )
    session_idle_minutes: float = Field(
        60.0, gt=0, description="A Console session unused this long ends (sign in again)."
    )
    session_max_hours: float = Field(
        12.0, gt=0, description="A Console session ends this long after sign-in, used or not."
    )
    assets_dir: Path | None = Field(
        None,
        description="Where the Console's front-end libraries were installed from the npm "
        "registry (`npm ci` of src/parley/console/vendor, which `make serve` runs); default: "
        "that folder's node_modules.",
    )


class Settings(BaseSettings):
    """Everything a Parley process is configured with."""

    model_config = SettingsConfigDict(
        env_prefix="PARLEY_",
        env_nested_delimiter="__",
        extra="forbid",
        toml_file=None,
    )

    data_dir: Path = Field(
        default_factory=lambda: Path(platformdirs.user_data_dir("parley")),
        description="Where SQLite, blobs and caches live (default: ~/.local/share/parley).",
    )
    server: ServerSettings = Field(default_factory=ServerSettings, description="HTTP server.")
    auth: AuthSettings = Field(default_factory=AuthSettings, description="Keys.")
    database: DatabaseSettings = Field(default_factory=DatabaseSettings, description="Database.")
    usage: UsageSettings = Field(default_factory=UsageSettings, description="Usage metering.")
    metrics: MetricsSettings = Field(
        default_factory=MetricsSettings, description="Prometheus metrics."
    )
    batches: BatchSettings = Field(default_factory=BatchSettings, description="Message Batches.")
    files: FilesSettings = Field(default_factory=FilesSettings, description="Files and Skills.")
    rate_limits: RateLimitSettings = Field(
        default_factory=RateLimitSettings, description="Rate limits."
    )
    spend_limits: SpendLimitSettings = Field(
        default_factory=SpendLimitSettings, description="Spend limits."
    )
    console: ConsoleSettings = Field(
        default_factory=ConsoleSettings, description="The web Console."
    )
    organization_name: str = Field("Parley", description="The organization's name.")
    models: list[ModelConfig] = Field(
        default_factory=lambda: [_bundled_model()],
        description="The served models (default: the bundled SmolLM2-135M-Instruct).",
    )
    aliases: dict[str, str] = Field(
        default_factory=dict,
        description="More names for served models: exact names or shell-style patterns "
        '("claude-*"), e.g. so Claude Code\'s model names reach a local model.',
    )
    inference_geo: str = Field("global", description="The inference geography reported in usage.")

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
