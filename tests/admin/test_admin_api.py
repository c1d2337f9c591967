"""The Admin API over raw HTTP, with the SDK on the data plane, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import anthropic
import pytest

from tests.support import ADMIN_KEY, API_KEY, raw_client, sdk_client

ADMIN = {"x-api-key": ADMIN_KEY, "anthropic-version": "2023-06-01"}
ADMIN_V2 = {"authorization": f"Bearer {ADMIN_KEY}", "anthropic-version": "2026-10-21"}
USER = [{"role": "user", "content": "one two three"}]


async def admin_post(app: Any, path: str, body: Any = None, headers: dict[str, str] = ADMIN) -> Any:
    async with raw_client(app) as client:
        return await client.post(f"/v1/organizations{path}", headers=headers, json=body)


async def admin_get(app: Any, path: str, headers: dict[str, str] = ADMIN, **params: Any) -> Any:
    async with raw_client(app) as client:
        return await client.get(f"/v1/organizations{path}", headers=headers, params=params)


async def new_key(app: Any, workspace_id: str | None = None, **extra: Any) -> dict[str, Any]:
    body = {"name": "k", **({"workspace_id": workspace_id} if workspace_id else {}), **extra}
    response = await admin_post(app, "/api_keys", body)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def client_for(app: Any, key: str) -> anthropic.AsyncAnthropic:
    client = sdk_client(app)
    return client.with_options(api_key=key)


async def test_workspace_lifecycle(stored_app: Any) -> None:
    async with stored_app() as app:
        created = await admin_post(app, "/workspaces", {"name": "Research", "tags": {"team": "ml"}})
        assert created.status_code == 200, created.text
        workspace = created.json()
        assert workspace["id"].startswith("wrkspc_") and workspace["type"] == "workspace"
        assert workspace["archived_at"] is None and workspace["tags"] == {"team": "ml"}
        updated = await admin_post(app, f"/workspaces/{workspace['id']}", {"name": "Research 2"})
        assert updated.json()["name"] == "Research 2"
        assert (await admin_get(app, f"/workspaces/{workspace['id']}")).json()[
            "name"
        ] == "Research 2"
        listed = (await admin_get(app, "/workspaces")).json()
        assert [w["id"] for w in listed["data"]] == [workspace["id"]]
        key = await new_key(app, workspace["id"])
        archived = await admin_post(app, f"/workspaces/{workspace['id']}/archive")
        assert archived.json()["archived_at"] is not None
        assert (await admin_get(app, "/workspaces")).json()["data"] == []
        assert (
            len((await admin_get(app, "/workspaces", include_archived="true")).json()["data"]) == 1
        )
        with pytest.raises(anthropic.AuthenticationError):
            await client_for(app, key["api_key"]).messages.create(
                model="scripted", max_tokens=5, messages=USER
            )
        missing = await admin_get(app, "/workspaces/wrkspc_nope")
        assert missing.status_code == 404 and missing.json()["error"]["type"] == "not_found_error"


async def test_key_shown_once_then_used_and_attributed(stored_app: Any) -> None:
    async with stored_app() as app:
        workspace = (await admin_post(app, "/workspaces", {"name": "Apps"})).json()
        created = await new_key(app, workspace["id"], name="service")
        secret = created["api_key"]
        assert secret.startswith("sk-parley-api01-")
        assert created["partial_key_hint"].endswith(secret[-4:]) and secret not in str(
            (await admin_get(app, f"/api_keys/{created['id']}")).json()
        )
        response = await client_for(app, secret).messages.with_raw_response.create(
            model="scripted", max_tokens=5, messages=USER
        )
        assert response.headers["anthropic-workspace-id"] == workspace["id"]
        org = (await admin_get(app, "/me")).json()
        assert response.headers["anthropic-organization-id"] == org["id"]
        assert org["type"] == "organization"


async def test_key_status_changes_apply_at_once(stored_app: Any) -> None:
    async with stored_app() as app:
        key = await new_key(app)
        client = client_for(app, key["api_key"])
        await client.messages.create(model="scripted", max_tokens=5, messages=USER)  # cached now
        paused = await admin_post(
            app, f"/api_keys/{key['id']}", {"status": "inactive", "name": "paused"}
        )
        assert paused.json()["status"] == "inactive" and paused.json()["name"] == "paused"
        with pytest.raises(anthropic.AuthenticationError):
            await client.messages.create(model="scripted", max_tokens=5, messages=USER)
        await admin_post(app, f"/api_keys/{key['id']}", {"status": "active"})
        await client.messages.create(model="scripted", max_tokens=5, messages=USER)
        await admin_post(app, f"/api_keys/{key['id']}", {"status": "archived"})
        with pytest.raises(anthropic.AuthenticationError):
            await client.messages.create(model="scripted", max_tokens=5, messages=USER)
        reactivate = await admin_post(app, f"/api_keys/{key['id']}", {"status": "active"})
        assert reactivate.status_code == 400


async def test_expired_key_is_refused_and_listed_as_expired(stored_app: Any) -> None:
    async with stored_app() as app:
        past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
        key = await new_key(app, expires_at=past)
        assert key["status"] == "expired"
        with pytest.raises(anthropic.AuthenticationError) as info:
            await client_for(app, key["api_key"]).messages.create(
                model="scripted", max_tokens=5, messages=USER
            )
        assert "expired" in info.value.body["error"]["message"]
        expired = (await admin_get(app, "/api_keys", status="expired")).json()["data"]
        assert [k["id"] for k in expired] == [key["id"]]


async def test_key_listing_filters_and_versions(stored_app: Any) -> None:
    async with stored_app() as app:
        workspace = (await admin_post(app, "/workspaces", {"name": "W"})).json()
        in_ws = await new_key(app, workspace["id"])
        default = await new_key(app)
        listed = (await admin_get(app, "/api_keys", workspace_id=workspace["id"])).json()
        assert [k["id"] for k in listed["data"]] == [in_ws["id"]]
        v1 = (await admin_get(app, f"/api_keys/{default['id']}")).json()
        assert v1["workspace_id"] is None and v1["scope"]["type"] == "workspace"
        v2 = (await admin_get(app, f"/api_keys/{in_ws['id']}", headers=ADMIN_V2)).json()
        assert "workspace_id" not in v2
        assert v2["scope"] == {"type": "workspace", "workspace_id": workspace["id"]}
        page = (await admin_get(app, "/api_keys", limit=1)).json()
        assert page["has_more"] is True and len(page["data"]) == 1
        rest = (await admin_get(app, "/api_keys", limit=10, after_id=page["last_id"])).json()
        assert page["data"][0]["id"] not in [k["id"] for k in rest["data"]]


async def test_keys_stay_on_their_side(stored_app: Any) -> None:
    async with stored_app() as app:
        normal_on_admin = await admin_get(
            app, "/workspaces", headers={"x-api-key": API_KEY, "anthropic-version": "2023-06-01"}
        )
        assert normal_on_admin.status_code == 403
        assert normal_on_admin.json()["error"]["type"] == "permission_error"
        with pytest.raises(anthropic.AuthenticationError):
            await client_for(app, ADMIN_KEY).messages.create(
                model="scripted", max_tokens=5, messages=USER
            )
        no_key = await admin_get(app, "/workspaces", headers={"anthropic-version": "2023-06-01"})
        assert no_key.status_code == 401


async def test_workspace_header_must_match_the_key(stored_app: Any) -> None:
    async with stored_app() as app:
        other = (await admin_post(app, "/workspaces", {"name": "Other"})).json()
        client = sdk_client(app, default_headers={"anthropic-workspace-id": other["id"]})
        with pytest.raises(anthropic.PermissionDeniedError):
            await client.messages.create(model="scripted", max_tokens=5, messages=USER)


async def test_bad_admin_bodies(stored_app: Any) -> None:
    async with stored_app() as app:
        for body in ({}, {"name": ""}, {"name": "x", "colour": "red"}):
            response = await admin_post(app, "/workspaces", body)
            assert response.status_code == 400, body
            assert response.json()["error"]["type"] == "invalid_request_error"
        unknown_ws = await admin_post(
            app, "/api_keys", {"name": "k", "workspace_id": "wrkspc_nope"}
        )
        assert unknown_ws.status_code == 404
        bad_status = await admin_post(app, "/api_keys/apikey_nope", {"status": "gone"})
        assert bad_status.status_code == 400
