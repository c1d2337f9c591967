"""Every wire response Parley writes, read back with the official SDK's own types.

Each response is produced by the running app (scripted backend, raw HTTP) and parsed
with the SDK's pydantic model for it — with validation, not ``construct`` — and then
checked for fields the SDK does not know anywhere inside it: the SDK's models accept
unknown fields silently, so a misspelt or invented field would otherwise pass.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from anthropic import types as sdk
from anthropic.types import beta as sdk_beta
from anthropic.types import messages as sdk_messages
from anthropic.types import organization as sdk_org
from anthropic.types import skills as sdk_skills
from pydantic import BaseModel, TypeAdapter

from tests.support import ADMIN_KEY, V1, raw_client

# The version SDK 2.x sends (2023-06-01 adds the deprecated `workspace_id` to keys).
ADMIN = {"authorization": f"Bearer {ADMIN_KEY}", "anthropic-version": "2026-10-21"}
BODY = {"model": "scripted", "max_tokens": 8, "messages": [{"role": "user", "content": "one two"}]}
SKILL = b"---\nname: notes\ndescription: Writes notes.\n---\n\n# Notes\n"


def strictly(sdk_type: Any, data: Any) -> None:
    """``data`` parses as ``sdk_type`` (a model or a union of them) and holds no field
    the SDK's models lack."""
    parsed = TypeAdapter(sdk_type).validate_python(data)
    _no_unknown_fields(parsed, getattr(sdk_type, "__name__", str(sdk_type)))


def _no_unknown_fields(value: Any, path: str) -> None:
    if isinstance(value, BaseModel):
        extra = value.__pydantic_extra__ or {}
        assert not extra, f"{path}: fields the SDK does not know: {sorted(extra)}"
        for name in type(value).model_fields:
            _no_unknown_fields(getattr(value, name), f"{path}.{name}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _no_unknown_fields(item, f"{path}[{i}]")


def sse(text: str) -> list[dict[str, Any]]:
    return [json.loads(line[5:]) for line in text.splitlines() if line.startswith("data:")]


async def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


async def test_messages_and_their_stream_events(scripted_app: Any) -> None:
    async with scripted_app() as app, raw_client(app) as http:
        message = await ok(await http.post("/v1/messages", headers=V1, json=BODY))
        streamed = await http.post("/v1/messages", headers=V1, json={**BODY, "stream": True})
        counted = await ok(
            await http.post(
                "/v1/messages/count_tokens",
                headers=V1,
                json={k: v for k, v in BODY.items() if k != "max_tokens"},
            )
        )
    strictly(sdk.Message, message)
    strictly(sdk.MessageTokensCount, counted)
    events = sse(streamed.text)
    assert {e["type"] for e in events} >= {"message_start", "content_block_delta", "message_stop"}
    for event in events:
        if event["type"] != "ping":
            strictly(sdk.RawMessageStreamEvent, event)


async def test_models(scripted_app: Any) -> None:
    async with scripted_app() as app, raw_client(app) as http:
        listed = await ok(await http.get("/v1/models", headers=V1))
        one = await ok(await http.get("/v1/models/scripted", headers=V1))
    strictly(sdk.ModelInfo, one)
    for item in listed["data"]:
        strictly(sdk.ModelInfo, item)
    assert set(listed) == {"data", "has_more", "first_id", "last_id"}


async def test_batches(scripted_app: Any) -> None:
    requests = [{"custom_id": "a", "params": BODY}]
    async with scripted_app() as app, raw_client(app) as http:
        created = await ok(
            await http.post("/v1/messages/batches", headers=V1, json={"requests": requests})
        )
        listed = await ok(await http.get("/v1/messages/batches", headers=V1))
        cancelled = await ok(
            await http.post(f"/v1/messages/batches/{created['id']}/cancel", headers=V1)
        )
    for batch in (created, *listed["data"], cancelled):
        strictly(sdk_messages.MessageBatch, batch)


async def test_files(scripted_app: Any) -> None:
    async with scripted_app() as app, raw_client(app) as http:
        uploaded = await ok(
            await http.post("/v1/files", headers=V1, files={"file": ("a.txt", b"hello")})
        )
        listed = await ok(await http.get("/v1/files", headers=V1))
        deleted = await ok(await http.delete(f"/v1/files/{uploaded['id']}", headers=V1))
    for metadata in (uploaded, *listed["data"]):
        strictly(sdk.FileMetadata, metadata)
        strictly(sdk_beta.BetaFileMetadata, metadata)
    strictly(sdk.DeletedFile, deleted)


async def test_skills(scripted_app: Any) -> None:
    """The GA shapes, which SDK 2.x's GA and beta clients both expect (old beta clients
    sending ``skills-2025-10-02`` get the old shapes, tested in tests/files)."""
    async with scripted_app() as app, raw_client(app) as http:
        files = [("files[]", ("notes/SKILL.md", SKILL))]
        skill = await ok(await http.post("/v1/skills", headers=V1, files=files))
        versions = await ok(await http.get(f"/v1/skills/{skill['id']}/versions", headers=V1))
        deleted = await ok(await http.delete(f"/v1/skills/{skill['id']}", headers=V1))
    strictly(sdk.Skill, skill)
    strictly(sdk_beta.BetaSkill, skill)
    strictly(sdk_skills.SkillVersion, versions["data"][0])
    strictly(sdk_beta.skills.BetaSkillVersion, versions["data"][0])
    strictly(sdk.DeletedSkill, deleted)
    strictly(sdk_beta.BetaDeletedSkill, deleted)


async def test_admin_objects(scripted_app: Any) -> None:
    async with scripted_app() as app, raw_client(app) as http:
        me = await ok(await http.get("/v1/organizations/me", headers=ADMIN))
        users = await ok(await http.get("/v1/organizations/users", headers=ADMIN))
        workspace = await ok(
            await http.post(
                "/v1/organizations/workspaces", headers=ADMIN, json={"name": "research"}
            )
        )
        key = await ok(
            await http.post(
                "/v1/organizations/api_keys",
                headers=ADMIN,
                json={"name": "k", "workspace_id": workspace["id"]},
            )
        )
        keys = await ok(await http.get("/v1/organizations/api_keys", headers=ADMIN))
        archived = await ok(
            await http.post(
                f"/v1/organizations/workspaces/{workspace['id']}/archive", headers=ADMIN
            )
        )
    strictly(sdk.OrganizationInfo, me)
    for user in users["data"]:
        strictly(sdk_org.OrganizationUser, user)
    for item in (workspace, archived):
        strictly(sdk_org.Workspace, item)
    assert key.pop("api_key").startswith("sk-parley-api01-")  # Parley's addition, shown once
    for item in (key, *keys["data"]):
        strictly(sdk_org.APIKey, item)
