"""The services the management commands use, opened without a server: the same
classes ``parley serve`` builds (``app.py``), on the same database, so a command and
the Admin API or the Console change things the same way. Limit changes go out on the
change bus (Redis where the servers share it), so running servers see them at once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from parley.app import Plans, build_plans
from parley.cli.options import open_organization
from parley.config import Settings
from parley.metering.analytics import Analytics
from parley.metering.spend_limits import SpendLimits
from parley.metering.usage import UsageRecorder
from parley.storage.db import Database
from parley.tenancy.keys import KeyService
from parley.tenancy.organization import Bootstrap
from parley.tenancy.workspaces import Workspaces


@dataclass(frozen=True)
class Offline:
    settings: Settings
    db: Database
    keys: KeyService
    organization: Bootstrap
    workspaces: Workspaces
    plans: Plans
    spend_limits: SpendLimits
    analytics: Analytics


@asynccontextmanager
async def offline(settings: Settings) -> AsyncIterator[Offline]:
    db, keys, org = await open_organization(settings)
    async with AsyncExitStack() as stack:
        stack.push_async_callback(db.aclose)
        recorder = UsageRecorder(db, flush_interval=settings.usage.flush_interval)
        pricing = {m.id: m.pricing for m in settings.models}
        plans = await build_plans(settings, db, recorder, org.organization_id, pricing, stack)
        created = org.created_at
        yield Offline(
            settings=settings,
            db=db,
            keys=keys,
            organization=org,
            workspaces=Workspaces(db, keys),
            plans=plans,
            spend_limits=SpendLimits(
                db, plans.spend, organization_created=created or datetime.now(UTC)
            ),
            analytics=Analytics(
                db, recorder, pricing=pricing, inference_geo=settings.inference_geo
            ),
        )
