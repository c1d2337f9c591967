"""Saved Workbench prompts: a named Messages request kept in its workspace.

A prompt is stored as the request body the Workbench would send (model, system,
messages, sampling, tools…), validated as a Messages request first, so a saved prompt
always opens again as one the API accepts. Prompts belong to their workspace: another
workspace's session finds none of them.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from parley.errors import InvalidRequestError, NotFoundError, as_invalid_request
from parley.ids import new_id
from parley.storage import console as store
from parley.storage.db import Database
from parley.storage.tables import SavedPrompt
from parley.wire.requests import MessageCreateParams

MAX_PROMPTS = 500
MAX_NAME = 255


def check_request(request: dict[str, Any]) -> dict[str, Any]:
    """``request`` if it is a valid Messages request, else the API's 400 naming the field."""
    try:
        MessageCreateParams.model_validate_json(json.dumps(request))
    except ValidationError as exc:
        raise as_invalid_request(exc) from None
    return request


class Prompts:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def save(
        self,
        workspace_id: str,
        *,
        name: str,
        request: dict[str, Any],
        created_by: str | None,
        prompt_id: str | None = None,
    ) -> SavedPrompt:
        """Save a new prompt, or replace ``prompt_id``'s name and request."""
        name = name.strip()
        if not name or len(name) > MAX_NAME:
            raise InvalidRequestError(f"name: give the prompt a name of 1-{MAX_NAME} characters")
        check_request(request)
        now = datetime.now(UTC)
        async with self.db.write() as session:
            if prompt_id is not None:
                row = await self._owned(session, prompt_id, workspace_id)
                row.name, row.request, row.updated_at = name, request, now
                return row
            if len(await store.prompts(session, workspace_id)) >= MAX_PROMPTS:
                raise InvalidRequestError(
                    f"A workspace keeps at most {MAX_PROMPTS} prompts; delete one first."
                )
            row = SavedPrompt(
                id=new_id("prompt"), workspace_id=workspace_id, name=name, request=request,
                created_by=created_by, created_at=now, updated_at=now,
            )  # fmt: skip
            session.add(row)
        return row

    async def list(self, workspace_id: str) -> list[SavedPrompt]:
        async with self.db.read() as session:
            return await store.prompts(session, workspace_id)

    async def get(self, prompt_id: str, workspace_id: str) -> SavedPrompt:
        async with self.db.read() as session:
            return await self._owned(session, prompt_id, workspace_id)

    async def delete(self, prompt_id: str, workspace_id: str) -> None:
        async with self.db.write() as session:
            await session.delete(await self._owned(session, prompt_id, workspace_id))

    @staticmethod
    async def _owned(session: Any, prompt_id: str, workspace_id: str) -> SavedPrompt:
        row = await store.prompt(session, prompt_id)
        if row is None or row.workspace_id != workspace_id:
            raise NotFoundError(f"Prompt `{prompt_id}` not found in this workspace.")
        return row
