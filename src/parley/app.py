"""``create_app``: the ASGI application. Its lifespan owns the services.

Start-up order: database migrations (unless ``database.migrate_on_start`` is off),
the organization bootstrap, the model backends, then the usage flusher. Shutdown
reverses it, so buffered usage is written after the last request finished. Backends
are built from the settings' model list, except those passed in ``backends`` (tests
and embedding pass a scripted or pre-built backend by model id).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fastapi import FastAPI

from parley import __version__
from parley.backends.base import Backend, Capabilities
from parley.batches.service import BatchService
from parley.batches.worker import BatchWorker
from parley.blobs import open_blob_store
from parley.catalog import Catalog
from parley.config import ModelPricing, Settings
from parley.console import install as install_console
from parley.files import FileService
from parley.http.cors import BrowserAccess
from parley.http.deps import Services
from parley.http.drain import Drain
from parley.http.errors import install_error_handlers
from parley.http.middleware import PathPrefix, RequestContextMiddleware
from parley.http.routes import (
    admin,
    analytics,
    batches,
    bedrock,
    files,
    limits,
    members,
    messages,
    models,
    plans,
    reports,
    root,
    skills,
    spend_limits,
    vertex,
)
from parley.http.routes import metrics as metrics_route
from parley.http.routes import openai as openai_route
from parley.messages.documents import DocumentLoader
from parley.messages.service import MessagesService
from parley.messages.signatures import BlockSigner
from parley.metering.analytics import Analytics
from parley.metering.analytics_reports import BucketedAnalytics
from parley.metering.reports import Reports
from parley.metering.spend import SpendGuard
from parley.metering.spend_limits import SpendLimits
from parley.metering.usage import UsageRecorder
from parley.metrics import Metrics
from parley.prompts import Prompts
from parley.ratelimit.buckets import BucketStore, MemoryBucketStore
from parley.ratelimit.bus import ChangeBus, LocalBus, RedisBus
from parley.ratelimit.limiter import RateLimiter
from parley.ratelimit.policy import LimitPolicy
from parley.ratelimit.priority import PriorityCapacity
from parley.ratelimit.redis_store import RedisBucketStore
from parley.ratelimit.tiers import Tiers
from parley.skills import SkillService
from parley.storage.db import Database, upgrade
from parley.tenancy.invites import Invites
from parley.tenancy.keys import KeyService
from parley.tenancy.members import Members
from parley.tenancy.organization import bootstrap
from parley.tenancy.roles import Authorizer
from parley.tenancy.sessions import Sessions
from parley.tenancy.users import Users
from parley.tenancy.workspaces import Workspaces

log = logging.getLogger(__name__)


async def build_services(
    settings: Settings, catalog: Catalog, stack: AsyncExitStack, metrics: Metrics
) -> Services:
    url = settings.database_url()
    if settings.database.migrate_on_start:
        await asyncio.to_thread(upgrade, url)
    db = Database(url)
    stack.push_async_callback(db.aclose)
    keys = KeyService(
        db,
        open_access=settings.auth.open_access,
        cache_ttl=settings.auth.key_cache_ttl,
        cache_entries=settings.auth.key_cache_entries,
    )
    org = await bootstrap(db, keys, settings)
    if org.admin_key is not None:
        log.warning(
            "created the organization and an admin key; create more with "
            "`parley keys create --admin`"
        )
    for model in catalog.models:
        await model.backend.start()
        stack.push_async_callback(model.backend.aclose)
        log.info("model %s ready (%s backend)", model.id, model.config.backend)
    recorder = UsageRecorder(db, flush_interval=settings.usage.flush_interval)
    recorder.start()
    stack.push_async_callback(recorder.aclose)
    pricing = {m.id: m.config.pricing for m in catalog.models}
    plan = await build_plans(settings, db, recorder, org.organization_id, pricing, stack)
    tiers, policy, spend, priority = plan.tiers, plan.policy, plan.spend, plan.priority
    batches = BatchService(
        db,
        settings.batches,
        base_url=settings.base_url(),
        queue_limit=tiers.catalog[settings.rate_limits.tier].batch_queue_limit,
    )
    blobs = open_blob_store(settings.files.blob_url, settings.data_dir)
    await blobs.cleanup()
    files = FileService(db, blobs, settings.files)
    secret = settings.auth.signing_secret
    signer = BlockSigner.for_deployment(secret.get_secret_value() if secret else None)
    messages = MessagesService(
        catalog,
        recorder,
        plan.limiter,
        spend,
        DocumentLoader(files),
        inference_geo=settings.inference_geo,
        metrics=metrics,
        signer=signer,
        priority=priority,
    )
    stack.push_async_callback(messages.aclose)  # meters answers cut short, then usage flushes
    if settings.batches.worker_in_server:
        worker = BatchWorker(
            db,
            messages,
            settings.batches,
            concurrency=batch_concurrency(settings, catalog),
            metrics=metrics,
        )
        worker.start()
        stack.push_async_callback(worker.aclose)
    workspaces = Workspaces(db, keys)
    authorizer = Authorizer(db, default_workspace_id=org.default_workspace_id)
    console = settings.console
    sessions = Sessions(
        db,
        keys,
        authorizer,
        idle=timedelta(minutes=console.session_idle_minutes),
        absolute=timedelta(hours=console.session_max_hours),
    )
    usage_analytics = Analytics(db, recorder, pricing=pricing, inference_geo=settings.inference_geo)
    return Services(
        settings=settings,
        catalog=catalog,
        keys=keys,
        organization=org,
        workspaces=workspaces,
        users=Users(db),
        usage=recorder,
        reports=Reports(
            db,
            recorder,
            pricing=pricing,
            default_workspace_id=org.default_workspace_id,
            inference_geo=settings.inference_geo,
        ),
        limits=policy,
        spend=spend,
        batches=batches,
        files=files,
        skills=SkillService(db, blobs),
        messages=messages,
        metrics=metrics,
        invites=Invites(db),
        members=Members(db, workspaces),
        authorizer=authorizer,
        tiers=tiers,
        priority=priority,
        spend_limits=SpendLimits(
            db, spend, organization_created=org.created_at or datetime.now(UTC)
        ),
        analytics=usage_analytics,
        bucketed=BucketedAnalytics(usage_analytics),
        sessions=sessions,
        prompts=Prompts(db),
    )


@dataclass(frozen=True)
class Plans:
    tiers: Tiers
    policy: LimitPolicy
    limiter: RateLimiter
    spend: SpendGuard
    priority: PriorityCapacity


async def build_plans(
    settings: Settings,
    db: Database,
    recorder: UsageRecorder,
    organization_id: str,
    pricing: dict[str, ModelPricing],
    stack: AsyncExitStack,
) -> Plans:
    """What limits requests: the usage tier, rate and spend limits, Priority Tier
    capacity, and the change bus that keeps every process's copies of them fresh."""
    store = _bucket_store(settings)
    stack.push_async_callback(store.aclose)
    bus = _change_bus(settings)
    bus.start()
    stack.push_async_callback(bus.aclose)
    rl, refresh = settings.rate_limits, settings.spend_limits.refresh_seconds
    tiers = Tiers(db, rl, recorder, bus, pricing=pricing, check_every=refresh)
    policy = LimitPolicy(db, rl, tiers, bus)
    limiter = RateLimiter(
        policy, store, organization_id=organization_id, on_store_error=rl.on_store_error
    )
    spend = SpendGuard(
        db,
        recorder,
        tiers,
        bus,
        pricing=pricing,
        organization_id=organization_id,
        organization_limit_usd=settings.spend_limits.organization_monthly_usd,
        refresh=refresh,
        ttl=rl.override_cache_ttl,
    )
    priority = PriorityCapacity(
        db, store, bus, organization_id=organization_id, ttl=rl.override_cache_ttl
    )
    return Plans(tiers, policy, limiter, spend, priority)


def batch_concurrency(settings: Settings, catalog: Catalog) -> int:
    """Batch requests a worker runs at once: enough to fill every model's batch
    sequences, and a quarter more waiting, so a sequence that ends is refilled at once."""
    if settings.batches.concurrency is not None:
        return settings.batches.concurrency
    lanes = sum(_batch_sequences(m.backend.capabilities) for m in catalog.models)
    return max(1, lanes + lanes // 4)


def _batch_sequences(caps: Capabilities) -> int:
    return caps.batch_sequences or caps.parallel_sequences


def _change_bus(settings: Settings) -> ChangeBus:
    """Redis pub/sub where the processes already share Redis, else this process only."""
    if settings.rate_limits.store == "redis":
        return RedisBus(settings.rate_limits.redis_url)
    return LocalBus()


def _bucket_store(settings: Settings) -> BucketStore:
    if settings.rate_limits.store == "redis":
        return RedisBucketStore(settings.rate_limits.redis_url)
    return MemoryBucketStore()


def browser_origins(settings: Settings) -> list[str]:
    """The origins whose pages may call the API. Without keys (``auth.open_access``)
    "any origin" would let every web page the user visits use the server, so only
    origins named one by one are kept then."""
    origins = settings.server.browser_origins
    if settings.auth.open_access and "*" in origins:
        log.warning('auth.open_access is on: browser_origins "*" is ignored; name origins')
        return [o for o in origins if o != "*"]
    return origins


# Microsoft Foundry's base URL ends in /anthropic/; the API is served there as well.
FOUNDRY_PREFIX = "/anthropic"


def create_app(settings: Settings, *, backends: Mapping[str, Backend] | None = None) -> FastAPI:
    catalog = Catalog.from_settings(settings, backends)
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            app.state.services = await build_services(settings, catalog, stack, metrics)
            yield

    # No trailing-slash redirects: the hosted API answers 404, and a redirect would
    # point at whatever Host the client sent.
    app = FastAPI(
        title="Parley",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        redirect_slashes=False,
    )

    def organization_id() -> str | None:
        found = getattr(app.state, "services", None)
        return found.organization.organization_id if found else None

    app.state.drain = Drain()  # begun by `parley serve` on SIGTERM
    install_error_handlers(app)
    origins = browser_origins(settings)
    if origins:
        app.add_middleware(BrowserAccess, origins=origins)
    app.add_middleware(
        RequestContextMiddleware,
        max_body_bytes=settings.server.max_body_bytes,
        large_bodies={
            "/v1/messages/batches": settings.batches.max_body_bytes,
            # The file itself plus room for the multipart envelope.
            "/v1/files": settings.files.max_file_bytes + 1024 * 1024,
        },
        organization_id=organization_id,
        metrics=metrics,
    )
    app.add_middleware(PathPrefix, prefix=FOUNDRY_PREFIX)
    routers = (
        root,
        messages,
        batches,
        files,
        skills,
        models,
        admin,
        members,
        reports,
        analytics,
        limits,
        spend_limits,
        plans,
        metrics_route,
        openai_route,
        vertex,
        bedrock,
    )
    for module in routers:
        app.include_router(module.router)
    install_console(app, settings)
    return app
