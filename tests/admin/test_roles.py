"""Roles that mean something: the table, and an admin key acting with its user's
current role; invites redeemed with ``parley invites accept``; ``parley users role``."""

from __future__ import annotations

import asyncio
from typing import Any

import anthropic
import pytest
from click.testing import CliRunner

from parley.cli import main
from parley.tenancy.roles import allows, implicit_workspace_role
from tests.admin.test_admin_api import admin_get, admin_post
from tests.support import ADMIN_KEY, sdk_client


def test_the_role_table() -> None:
    assert allows("admin", None, "manage_organization", workspace=False)
    assert allows("billing", None, "read_usage", workspace=False)
    assert not allows("billing", None, "manage_keys", workspace=False)
    assert not allows("developer", None, "manage_keys", workspace=False)
    assert allows("developer", "workspace_developer", "manage_keys", workspace=True)
    assert not allows("developer", "workspace_developer", "manage_members", workspace=True)
    assert allows("user", "workspace_admin", "manage_members", workspace=True)
    assert not allows("user", "workspace_user", "manage_keys", workspace=True)
    assert not allows("user", "workspace_restricted_developer", "manage_keys", workspace=True)
    assert allows("user", "workspace_billing", "read_usage", workspace=True)
    assert implicit_workspace_role("admin", default_workspace=False) == "workspace_admin"
    assert implicit_workspace_role("developer", default_workspace=True) == "workspace_developer"
    assert implicit_workspace_role("developer", default_workspace=False) is None


def cli(env: dict[str, str], *args: str) -> Any:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


async def test_an_admin_key_acts_with_its_users_role(
    stored_app: Any, tmp_path: Any, database_url: str
) -> None:
    env = {"PARLEY_DATA_DIR": str(tmp_path), "PARLEY_DATABASE__URL": database_url}
    async with stored_app() as app:
        owner_key = sdk_client(app).with_options(api_key=ADMIN_KEY)
        owner = app.state.services.organization.owner_id
        invite = await owner_key.organization.invites.create(email="ada@example.com", role="user")
        token = invite.to_dict()["accept_token"]
        joined = await asyncio.to_thread(cli, env, "invites", "accept", token, "--name", "Ada")
        assert joined.exit_code == 0, joined.output
        ada = joined.output.split()[0]
        assert (await owner_key.organization.users.retrieve(ada)).role == "user"
        again = await asyncio.to_thread(cli, env, "invites", "accept", token, "--name", "Ada")
        assert again.exit_code != 0 and "accepted" in again.output

        # The server's operator makes Ada an admin, then the owner a developer.
        assert (await asyncio.to_thread(cli, env, "users", "role", ada, "admin")).exit_code == 0
        demoted = await asyncio.to_thread(cli, env, "users", "role", owner, "developer")
        assert demoted.exit_code == 0, demoted.output
        issued = await app.state.services.keys.create(
            kind="admin", name="ada", workspace_id=None, created_by=ada
        )
        ada_key = sdk_client(app).with_options(api_key=issued.secret)

        # The owner's admin key now acts as a developer: it reads, but manages only keys
        # where a developer may (the default workspace), and reads no usage.
        assert [u.id async for u in owner_key.organization.users.list()]
        with pytest.raises(anthropic.PermissionDeniedError):
            await owner_key.organization.workspaces.create(name="nope")
        default_key = await admin_post(app, "/api_keys", {"name": "dev"})
        assert default_key.status_code == 200, default_key.text
        ws = await ada_key.organization.workspaces.create(name="team")
        refused = await admin_post(app, "/api_keys", {"name": "dev", "workspace_id": ws.id})
        assert refused.status_code == 403
        assert "developer" in refused.json()["error"]["message"]
        await ada_key.organization.workspaces.members.add(
            ws.id, user_id=owner, workspace_role="workspace_developer"
        )
        allowed = await admin_post(app, "/api_keys", {"name": "dev", "workspace_id": ws.id})
        assert allowed.status_code == 200, allowed.text
        with pytest.raises(anthropic.PermissionDeniedError):
            await owner_key.organization.workspaces.members.remove(ada, workspace_id=ws.id)
        usage = await admin_get(app, "/usage_report/messages", starting_at="2026-01-01T00:00:00Z")
        assert usage.status_code == 403

        # Removed from the organization, the owner's key is refused everywhere.
        await ada_key.organization.users.remove(owner)
        with pytest.raises(anthropic.PermissionDeniedError):
            await owner_key.organization.users.list()


def test_the_command_line_keeps_an_admin_and_redeems_invites(tmp_path: Any) -> None:
    env = {"PARLEY_DATA_DIR": str(tmp_path)}
    listed = cli(env, "users", "list")
    assert listed.exit_code == 0, listed.output
    owner = listed.output.split()[0]
    refused = cli(env, "users", "role", owner, "user")
    assert refused.exit_code != 0 and "last admin" in refused.output
    token = cli(env, "invites", "create", "eve@example.com", "--role", "billing").output.strip()
    assert token.startswith("parley-invite-")
    joined = cli(env, "invites", "accept", token, "--name", "Eve")
    assert joined.exit_code == 0 and joined.output.split()[1:] == ["eve@example.com", "billing"]
    assert "eve@example.com" in cli(env, "users", "list").output
