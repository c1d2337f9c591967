"""Managing spend limits as the SDK's ``spend_limits`` resource does.

``set`` upserts on scope (a limit that exists keeps its id); ``list`` returns the
organization's and workspaces' limits newest first, then the read-only ``usage_tier``
limit (the current tier's monthly cap) when the tier has one; ``delete`` removes an
organization or workspace limit (the organization then falls back to
``spend_limits.organization_monthly_usd``). A limit set in the configuration shows as
the organization's with the id ``spl_configured``, and changes only there.

``effective`` reports, per member, the limit that binds them and what they spent this
month through the API keys they created — the hosted API answers it only for Claude
Enterprise organizations, whose limits are per member; Parley's limits are per
organization and workspace, so a member's effective limit is the organization's
tightest (the tier's cap or the organization's own).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from parley.errors import InvalidRequestError, NotFoundError
from parley.ids import new_id
from parley.metering.cursor import cut
from parley.metering.spend import Limit, SpendGuard
from parley.storage import limits as limits_store
from parley.storage import tenancy
from parley.storage.db import Database, utc
from parley.wire import spend as wire

CONFIGURED_ID = "spl_configured"
USAGE_TIER_ID = "spl_usage_tier"


@dataclass(frozen=True)
class ListQuery:
    limit: int = 20
    page: str | None = None
    scope_types: tuple[str, ...] = ()
    workspace_id: str | None = None


class SpendLimits:
    def __init__(self, db: Database, guard: SpendGuard, *, organization_created: datetime) -> None:
        self.db = db
        self.guard = guard
        self.organization_created = organization_created

    async def set(self, params: wire.SpendLimitSetParams) -> wire.SpendLimit:
        if params.period != "monthly":
            raise InvalidRequestError(
                f'period: "{params.period}" limits are not available to this organization; '
                'its spend limits are "monthly"'
            )
        scope, scope_id = await self._scope(params)
        async with self.db.write() as session:
            row = await limits_store.set_spend_limit(
                session, scope, scope_id, params.cents(), new_id("spl")
            )
            public_id = row.public_id
        await self.guard.bus.publish("spend")
        return await self.get(public_id)

    async def _scope(self, params: wire.SpendLimitSetParams) -> tuple[str, str]:
        scope = params.scope
        if isinstance(scope, wire.UserScopeParam):
            raise InvalidRequestError(
                "scope.type: user spend limits are for Claude Enterprise organizations; set an "
                "organization or workspace limit"
            )
        if scope.type == "organization":
            return "organization", self.guard.organization_id
        if not getattr(scope, "workspace_id", None):
            raise InvalidRequestError("scope.workspace_id: Field required")
        workspace_id = str(getattr(scope, "workspace_id"))  # noqa: B009 - narrowed above
        async with self.db.read() as session:
            found = await tenancy.workspace(session, workspace_id)
        if found is None or found.is_default:
            raise NotFoundError(f"Workspace `{workspace_id}` not found.")
        return "workspace", workspace_id

    async def every(self) -> list[wire.SpendLimit]:
        """Every limit, newest first, then the configured and usage-tier ones."""
        rows = sorted((await self.guard.limits()).values(), key=lambda r: r.created_at)
        found = [self._out(r) for r in reversed(rows)]
        org = self.guard.organization_id
        if ("organization", org) not in await self.guard.limits():
            configured = self.guard.configured_org_cents
            if configured is not None:
                found.append(self._fixed(CONFIGURED_ID, wire.OrganizationScope(), configured))
        cap = await self.guard.tier_cap_cents()
        if cap is not None:
            found.append(self._fixed(USAGE_TIER_ID, wire.UsageTierScope(), cap))
        return found

    async def page(self, query: ListQuery) -> tuple[list[wire.SpendLimit], str | None]:
        if not 1 <= query.limit <= 1000:
            raise InvalidRequestError("limit: must be between 1 and 1000")
        allowed = {"organization", "workspace", "usage_tier"}
        for scope_type in query.scope_types:
            if scope_type not in allowed:
                raise InvalidRequestError(
                    f"scope_type: {scope_type!r} does not apply to this organization; use "
                    "organization, workspace or usage_tier"
                )
        items = [
            item
            for item in await self.every()
            if (not query.scope_types or item.scope.type in query.scope_types)
            and (query.workspace_id is None or _workspace_of(item) == query.workspace_id)
        ]
        return cut(items, query.limit, query.page)

    async def get(self, spend_limit_id: str) -> wire.SpendLimit:
        for item in await self.every():
            if item.id == spend_limit_id:
                return item
        raise NotFoundError(f"Spend limit `{spend_limit_id}` not found.")

    async def delete(self, spend_limit_id: str) -> wire.DeletedSpendLimit:
        if spend_limit_id in (CONFIGURED_ID, USAGE_TIER_ID):
            await self.get(spend_limit_id)
            where = (
                "spend_limits.organization_monthly_usd in the configuration"
                if spend_limit_id == CONFIGURED_ID
                else "the usage tier (rate_limits.tiers)"
            )
            raise InvalidRequestError(
                f"Spend limit `{spend_limit_id}` cannot be deleted through the API: it comes "
                f"from {where}."
            )
        async with self.db.write() as session:
            deleted = await limits_store.delete_spend_limit(session, spend_limit_id)
        if not deleted:
            raise NotFoundError(f"Spend limit `{spend_limit_id}` not found.")
        await self.guard.bus.publish("spend")
        return wire.DeletedSpendLimit(id=spend_limit_id)

    async def effective(
        self, *, limit: int, page: str | None, periods: list[str], user_ids: list[str]
    ) -> tuple[list[wire.SpendSummary], str | None]:
        if len(user_ids) > 100:
            raise InvalidRequestError("user_ids: at most 100 entries")
        binding = await self._binding()
        if binding is None or (periods and "monthly" not in periods):
            return [], None
        source, amount = binding
        spent = await self._spent_per_user()
        async with self.db.read() as session:
            users = await tenancy.active_users(session)
        rows = [
            wire.SpendSummary(
                actor=wire.UserActor(user_id=u.id, email_address=u.email, name=u.name),
                amount=str(amount),
                period_to_date_spend=_decimal(spent.get(u.id, Decimal(0))),
                scope=wire.UserScope(user_id=u.id),
                source=source.scope,
                spend_limit_id=source.id,
            )
            for u in users
            if not user_ids or u.id in user_ids
        ]
        return cut(rows, limit, page)

    async def _binding(self) -> tuple[wire.SpendLimit, int] | None:
        """The organization-wide limit that binds first, with its amount."""
        candidates = [
            (item, int(item.amount))
            for item in await self.every()
            if item.scope.type in ("organization", "usage_tier") and item.amount is not None
        ]
        return min(candidates, key=lambda c: c[1]) if candidates else None

    async def _spent_per_user(self) -> dict[str, Decimal]:
        spend = await self.guard.month(fresh=True)
        async with self.db.read() as session:
            owners = await tenancy.key_creators(session)
        per_user: dict[str, Decimal] = {}
        for key_id, cents in spend.per_key.items():
            user = owners.get(key_id or "")
            if user is not None:
                per_user[user] = per_user.get(user, Decimal(0)) + cents
        return per_user

    def _out(self, row: Limit) -> wire.SpendLimit:
        scope: wire.OrganizationScope | wire.WorkspaceScope = (
            wire.OrganizationScope()
            if row.scope == "organization"
            else wire.WorkspaceScope(workspace_id=row.scope_id)
        )
        return wire.SpendLimit(
            id=row.id,
            amount=None if row.cents is None else str(row.cents),
            scope=scope,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    def _fixed(
        self, spend_limit_id: str, scope: wire.OrganizationScope | wire.UsageTierScope, cents: int
    ) -> wire.SpendLimit:
        # Its times are the organization's creation, as the hosted API gives its
        # usage_tier limit: the amount can change while updated_at stays.
        created = utc(self.organization_created) or self.organization_created
        return wire.SpendLimit(
            id=spend_limit_id,
            amount=str(cents),
            scope=scope,
            created_at=created,
            updated_at=created,
        )


def _workspace_of(item: wire.SpendLimit) -> str | None:
    return item.scope.workspace_id if isinstance(item.scope, wire.WorkspaceScope) else None


def _decimal(cents: Decimal) -> str:
    """Cents with at most three decimals, as the hosted API reports spend."""
    text = format(cents.quantize(Decimal("0.001")).normalize(), "f")
    return text if text != "-0" else "0"
