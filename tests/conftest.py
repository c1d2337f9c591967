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
from tests.support import make_settings, running

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
    )
    async with running(create_app(settings)) as app:
        yield app
