"""The SDK's own admin resources against Parley, parsed strictly (SDK 2.15 models),
on SQLite and PostgreSQL: organization, users, invites, workspaces and members, API
keys, rate limits and spend limits."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest

from parley.backends.base import Finished, GenerationRequest, TextChunk
from parley.backends.scripted import ScriptedBackend
from tests.admin.test_admin_api import client_for, new_key
from tests.support import ADMIN_KEY, sdk_client

PRICED = [{"id": "scripted", "backend": "scripted", "pricing": {"input": 3.0, "output": 15.0}}]
USER = [{"role": "user", "content": "a b c d"}]


def fixed(_: GenerationRequest) -> list[Any]:
    return [TextChunk("ok"), Finished("end_turn", 7)]


def admin_client(app: Any) -> anthropic.AsyncAnthropic:
    return sdk_client(app).with_options(api_key=ADMIN_KEY)


async def accepted_user(app: Any, email: str, role: str = "developer") -> str:
    """A user who joined through an invite, redeemed through the service the CLI uses."""
    admin = admin_client(app)
    invite = await admin.organization.invites.create(email=email, role=role)  # type: ignore[arg-type]
    token = invite.to_dict()["accept_token"]
    user = await app.state.services.invites.accept(token, name=email.split("@")[0])
    return str(user.id)


async def test_organization_users_and_invites(stored_app: Any) -> None:
    async with stored_app() as app:
        admin = admin_client(app)
        org = await admin.organization.retrieve()
        assert (
            org.type == "organization" and org.id == app.state.services.organization.organization_id
        )

        invite = await admin.organization.invites.create(email="ada@example.com", role="developer")
        assert invite.status == "pending" and invite.role == "developer"
        assert invite.rbac_group_ids == [] and invite.expires_at > invite.invited_at
        assert (await admin.organization.invites.retrieve(invite.id)).email == "ada@example.com"
        with pytest.raises(anthropic.BadRequestError) as twice:
            await admin.organization.invites.create(email="ada@example.com", role="user")
        assert twice.value.body["error"]["details"]["error_code"] == "invite_already_exists"
        pending = [i.id async for i in admin.organization.invites.list(statuses=["pending"])]
        assert pending == [invite.id]

        token = invite.to_dict()["accept_token"]
        joined = await app.state.services.invites.accept(token, name="Ada")
        accepted = await admin.organization.invites.retrieve(invite.id)
        assert accepted.status == "accepted" and accepted.accepted_at is not None
        assert [i.id async for i in admin.organization.invites.list(statuses=["pending"])] == []

        users = [u async for u in admin.organization.users.list()]
        assert {u.role for u in users} == {"admin", "developer"}
        ada = await admin.organization.users.retrieve(joined.id)
        assert (ada.email, ada.name, ada.type) == ("ada@example.com", "Ada", "user")
        only_devs = [u.id async for u in admin.organization.users.list(roles=["developer"])]
        assert only_devs == [ada.id]
        by_mail = [u.id async for u in admin.organization.users.list(email="ADA@example.com")]
        assert by_mail == [ada.id]

        billing = await admin.organization.users.update(ada.id, role="billing")
        assert billing.role == "billing"
        removed = await admin.organization.users.remove(ada.id)
        assert (removed.id, removed.type) == (ada.id, "user_deleted")
        with pytest.raises(anthropic.NotFoundError):
            await admin.organization.users.retrieve(ada.id)

        other = await admin.organization.invites.create(email="bob@example.com", role="user")
        deleted = await admin.organization.invites.delete(other.id)
        assert (deleted.id, deleted.type) == (other.id, "invite_deleted")
        with pytest.raises(anthropic.NotFoundError):
            await admin.organization.invites.retrieve(other.id)


async def test_admins_and_the_last_member_stay(stored_app: Any) -> None:
    async with stored_app() as app:
        admin = admin_client(app)
        owner = app.state.services.organization.owner_id
        with pytest.raises(anthropic.BadRequestError):
            await admin.organization.users.remove(owner)
        with pytest.raises(anthropic.BadRequestError):
            await admin.organization.users.update(owner, role="user")
        with pytest.raises(anthropic.BadRequestError):  # admin is never given through the API
            await admin.organization.invites.create(email="x@example.com", role="admin")  # type: ignore[arg-type]


async def test_workspaces_and_members(stored_app: Any) -> None:
    async with stored_app() as app:
        admin = admin_client(app)
        workspaces = admin.organization.workspaces
        ws = await workspaces.create(name="research", tags={"team": "ml"})
        assert ws.data_residency.workspace_geo == "us" and ws.tags == {"team": "ml"}
        assert (await workspaces.update(ws.id, name="research-2")).name == "research-2"
        listed = [w.id async for w in workspaces.list()]
        assert listed == [ws.id]
        with_default = [w.id async for w in workspaces.list(include_default=True)]
        assert app.state.services.organization.default_workspace_id in with_default

        dev = await accepted_user(app, "dev@example.com")
        owner = app.state.services.organization.owner_id
        member = await workspaces.members.add(
            ws.id, user_id=dev, workspace_role="workspace_developer"
        )
        assert (member.user_id, member.workspace_role) == (dev, "workspace_developer")
        roles = {m.user_id: m.workspace_role async for m in workspaces.members.list(ws.id)}
        assert roles == {dev: "workspace_developer", owner: "workspace_admin"}
        changed = await workspaces.members.update(
            dev, workspace_id=ws.id, workspace_role="workspace_admin"
        )
        assert changed.workspace_role == "workspace_admin"
        fetched = await workspaces.members.retrieve(dev, workspace_id=ws.id)
        assert fetched.workspace_role == "workspace_admin"
        with pytest.raises(anthropic.BadRequestError):  # an org admin is every workspace's admin
            await workspaces.members.remove(owner, workspace_id=ws.id)
        with pytest.raises(anthropic.BadRequestError):
            await workspaces.members.add(ws.id, user_id=dev, workspace_role="workspace_user")
        gone = await workspaces.members.remove(dev, workspace_id=ws.id)
        assert (gone.type, gone.user_id, gone.workspace_id) == (
            "workspace_member_deleted",
            dev,
            ws.id,
        )
        with pytest.raises(anthropic.NotFoundError):
            await workspaces.members.retrieve(dev, workspace_id=ws.id)
        archived = await workspaces.archive(ws.id)
        assert archived.archived_at is not None


async def test_api_keys_and_rate_limits(stored_app: Any) -> None:
    tier = {"tier": "t", "ladder": [], "tiers": {"t": {"default": {"requests_per_minute": 50}}}}
    async with stored_app(rate_limits=tier) as app:
        admin = admin_client(app)
        ws = await admin.organization.workspaces.create(name="keys")
        key = await new_key(app, ws.id, name="svc")
        fetched = await admin.organization.api_keys.retrieve(key["id"])
        assert fetched.scope.type == "workspace" and fetched.status == "active"
        in_ws = [k.id async for k in admin.organization.api_keys.list(workspace_id=ws.id)]
        assert in_ws == [key["id"]]
        paused = await admin.organization.api_keys.update(key["id"], status="inactive")
        assert paused.status == "inactive"

        org_limits = [r async for r in admin.organization.rate_limits.list()]
        assert [(r.id, r.limits[0].value) for r in org_limits] == [("rl_scripted", 50)]
        limited = await admin.organization.workspaces.rate_limits.update(
            "rl_scripted",
            workspace_id=ws.id,
            limits=[{"type": "requests_per_minute", "value": 5}],
        )
        assert limited.limits[0].value == 5 and limited.limits[0].org_limit == 50
        mine = [r async for r in admin.organization.workspaces.rate_limits.list(ws.id)]
        assert mine[0].rate_limit_id == "rl_scripted"


async def test_spend_limits_in_the_sdk_shape(stored_app: Any) -> None:
    async with stored_app(ScriptedBackend(fixed), models=PRICED) as app:
        admin = admin_client(app)
        limits = admin.beta.organization.spend_limits
        ws = await admin.organization.workspaces.create(name="budget")
        set_ws = await limits.set(amount="1", scope={"type": "workspace", "workspace_id": ws.id})
        assert (set_ws.amount, set_ws.period, set_ws.currency) == ("1", "monthly", "USD")
        assert set_ws.scope.type == "workspace" and set_ws.id.startswith("spl_")
        again = await limits.set(amount="2", scope={"type": "workspace", "workspace_id": ws.id})
        assert again.id == set_ws.id and again.amount == "2"  # an upsert on the scope
        org = await limits.set(amount="50000", scope={"type": "organization"})
        assert (await limits.retrieve(org.id)).amount == "50000"
        listed = [item.id async for item in limits.list()]
        assert listed == [org.id, set_ws.id]
        only_ws = [item.id async for item in limits.list(workspace_id=ws.id)]
        assert only_ws == [set_ws.id]
        with pytest.raises(anthropic.BadRequestError):
            await limits.set(amount="5", scope={"type": "organization"}, period="daily")

        # A key the owner created spends this month: the effective report shows it.
        client = client_for(app, (await new_key(app, ws.id))["api_key"])
        await client.messages.create(model="scripted", max_tokens=5, messages=USER)
        summaries = [s async for s in limits.effective.list()]
        owner = app.state.services.organization.owner_id
        assert [(s.actor.user_id, s.amount, s.source.type) for s in summaries] == [
            (owner, "50000", "organization")
        ]
        assert summaries[0].spend_limit_id == org.id
        ga = [s.spend_limit_id async for s in admin.organization.spend_limits.effective.list()]
        assert ga == [org.id]  # the GA resource reads the same report
        assert float(summaries[0].period_to_date_spend) > 0  # the owner created the key

        deleted = await limits.delete(set_ws.id)
        assert (deleted.id, deleted.type) == (set_ws.id, "spend_limit_deleted")
        with pytest.raises(anthropic.NotFoundError):
            await limits.retrieve(set_ws.id)


async def test_a_workspace_spend_limit_in_cents_stops_it(stored_app: Any) -> None:
    priced = [
        {"id": "scripted", "backend": "scripted", "pricing": {"input": 1000.0, "output": 1000.0}}
    ]
    async with stored_app(
        ScriptedBackend(fixed), models=priced, spend_limits={"refresh_seconds": 0}
    ) as app:
        admin = admin_client(app)
        ws = await admin.organization.workspaces.create(name="budget")
        await admin.beta.organization.spend_limits.set(
            amount="1", scope={"type": "workspace", "workspace_id": ws.id}
        )
        client = client_for(app, (await new_key(app, ws.id))["api_key"])
        await client.messages.create(model="scripted", max_tokens=5, messages=USER)  # 1.2 cents
        with pytest.raises(anthropic.BadRequestError) as info:
            await client.messages.create(model="scripted", max_tokens=5, messages=USER)
        assert "specified workspace API usage limits" in info.value.body["error"]["message"]
        await sdk_client(app).messages.create(model="scripted", max_tokens=5, messages=USER)
