"""``parley models list``: the served models as the Models API and the Console see
them. Each model's backend is started to read its context window and health (the
bundled GGUF loads in a second; an upstream is asked over HTTP), then stopped."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from parley.catalog import Catalog, ModelSummary
from parley.cli.options import config_option, settings_from
from parley.cli.output import emit, json_option, run

COLUMNS = [
    ("id", "Model"),
    ("backend", "Backend"),
    ("aliases", "Aliases"),
    ("context_window", "Context"),
    ("max_output_tokens", "Max output"),
    ("capabilities", "Capabilities"),
    ("healthy", "Healthy"),
]


@click.group()
def models() -> None:
    """The served models."""


@models.command(name="list")
@config_option
@json_option
def list_models(config_file: Path | None, as_json: bool) -> None:
    """List the served models, their aliases, context window, capabilities and health."""
    settings = settings_from(config_file)

    async def work() -> list[ModelSummary]:
        catalog = Catalog.from_settings(settings)
        started = []
        try:
            for model in catalog.models:
                await model.backend.start()
                started.append(model)
            return await catalog.summaries()
        finally:
            for model in started:
                await model.backend.aclose()

    rows = [dataclasses.asdict(s) for s in run(work)]
    emit(rows, COLUMNS, as_json=as_json, title="Models")
