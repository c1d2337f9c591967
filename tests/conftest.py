"""Shared fixtures: scripted-model apps per test, the bundled model once per session."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from parley.app import create_app
from parley.backends.base import Backend
from parley.backends.scripted import ScriptedBackend
from parley.config import BUNDLED_MODEL_ID
from tests.support import (
    BASE_URL,
    fresh_postgres_database,
    make_settings,
    postgres_unavailable,
    running,
)

AppFactory = Callable[..., Any]


@pytest.fixture
def scripted_app(tmp_path: Path) -> AppFactory:
    """``async with scripted_app(backend) as app`` — an app serving model ``scripted``."""

    @asynccontextmanager
    async def factory(backend: Backend | None = None, **overrides: Any) -> AsyncIterator[FastAPI]:
        settings = make_settings(tmp_path, models=[], **overrides)
        backends: Mapping[str, Backend] = {"scripted": backend or ScriptedBackend()}
        async with running(create_app(settings, backends=backends)) as app:
            yield app

    return factory


@pytest.fixture(scope="session")
async def model_app(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FastAPI]:
    """The bundled model on llama.cpp, with Claude names aliased to it."""
    settings = make_settings(
        tmp_path_factory.mktemp("model-app"),
        aliases={"claude-*": BUNDLED_MODEL_ID},
        server={"public_base_url": BASE_URL, "ping_interval": 0.05},
        batches={"poll_interval": 0.05},
    )
    async with running(create_app(settings)) as app:
        yield app


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """The same storage tests on SQLite and on the real PostgreSQL on 127.0.0.1:5432."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'parley.db'}"
        return
    reason = await postgres_unavailable()
    if reason:
        pytest.skip(reason)
    async with fresh_postgres_database() as url:
        yield url


@pytest.fixture
def stored_app(tmp_path: Path, database_url: str) -> AppFactory:
    """Like ``scripted_app``, on the parametrised database (SQLite and PostgreSQL)."""

    @asynccontextmanager
    async def factory(backend: Backend | None = None, **overrides: Any) -> AsyncIterator[FastAPI]:
        overrides.setdefault("database", {"url": database_url})
        overrides.setdefault("models", [])
        settings = make_settings(tmp_path, **overrides)
        backends: Mapping[str, Backend] = {"scripted": backend or ScriptedBackend()}
        async with running(create_app(settings, backends=backends)) as app:
            yield app

    return factory
