"""Models API through the SDK: pagination (id cursor, newest first), retrieve, aliases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anthropic
import pytest

from parley.app import create_app
from parley.backends.scripted import ScriptedBackend
from tests.support import make_settings, running, sdk_client

MODELS = [
    {
        "id": f"m{i}",
        "backend": "scripted",
        "created_at": f"2025-0{i}-01T00:00:00Z",
        "aliases": [f"alias-{i}"],
    }
    for i in range(1, 6)
]


@pytest.fixture
async def five_models(tmp_path: Path) -> Any:
    settings = make_settings(tmp_path, models=MODELS, aliases={"claude-*": "m3"})
    backends = {m["id"]: ScriptedBackend() for m in MODELS}
    async with running(create_app(settings, backends=backends)) as app:
        yield app


async def test_list_newest_first_and_auto_paginate(five_models: Any) -> None:
    client = sdk_client(five_models)
    page = await client.models.list(limit=2)
    assert [m.id for m in page.data] == ["m5", "m4"]
    assert page.has_more is True
    assert page.first_id == "m5" and page.last_id == "m4"
    assert [m.id async for m in await client.models.list(limit=2)] == ["m5", "m4", "m3", "m2", "m1"]


async def test_before_id_pages_backwards(five_models: Any) -> None:
    page = await sdk_client(five_models).models.list(before_id="m2", limit=2)
    assert [m.id for m in page.data] == ["m4", "m3"]
    assert page.has_more is True


async def test_retrieve_by_id_alias_and_pattern(five_models: Any) -> None:
    client = sdk_client(five_models)
    info = await client.models.retrieve("m2")
    assert info.type == "model" and info.display_name == "m2"
    assert info.max_input_tokens == 4096 and info.max_tokens == 1024
    caps = info.capabilities
    assert caps is not None and caps.image_input.supported is False
    # Served by Parley for every model (tests/batches, tests/files/test_files_api.py for
    # PDFs and citations): claimed so; server tools and code execution are not.
    assert caps.batch.supported and caps.citations.supported and caps.pdf_input.supported
    assert not caps.server_tools.supported and not caps.code_execution.supported
    assert (await client.models.retrieve("alias-4")).id == "m4"
    assert (await client.models.retrieve("claude-sonnet-4-5")).id == "m3"
    with pytest.raises(anthropic.NotFoundError):
        await client.models.retrieve("gpt-4")


async def test_limit_out_of_range(five_models: Any) -> None:
    with pytest.raises(anthropic.BadRequestError) as info:
        await sdk_client(five_models).models.list(limit=0)
    assert info.value.body["error"]["message"].startswith("limit:")
