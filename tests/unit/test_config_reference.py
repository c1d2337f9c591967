"""The configuration reference is generated, complete, and committed as generated."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import BaseModel

from parley.backends.registry import KINDS
from parley.cli.config import OUTPUT, _section, reference
from parley.config import Settings

ROOT = Path(__file__).resolve().parents[2]


def settings_models() -> Iterator[type[BaseModel]]:
    seen: set[type[BaseModel]] = set()
    stack: list[type[BaseModel]] = [Settings, *(kind().options for kind in KINDS.values())]
    while stack:
        model = stack.pop()
        if model in seen:
            continue
        seen.add(model)
        yield model
        stack += [m for f in model.model_fields.values() if (m := _section(f)) is not None]


@pytest.mark.parametrize("model", list(settings_models()), ids=lambda m: m.__name__)
def test_every_setting_has_a_description(model: type[BaseModel]) -> None:
    missing = [name for name, field in model.model_fields.items() if not field.description]
    assert not missing, f"{model.__name__}: {missing}"


def test_the_committed_page_is_what_the_command_writes() -> None:
    committed = (ROOT / OUTPUT).read_text(encoding="utf-8")
    assert committed == reference(), (
        f"{OUTPUT} is stale: run `.venv/bin/parley config reference --output {OUTPUT}`"
    )


def test_the_page_covers_every_setting() -> None:
    page = reference()
    for model in settings_models():
        for name in model.model_fields:
            if _section(model.model_fields[name]) is None:
                assert f"| `{name}` |" in page, (model.__name__, name)
