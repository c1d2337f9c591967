"""How commands answer: a table for people (rich), JSON for scripts (``--json``)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

from parley.errors import ParleyError

T = TypeVar("T")
Column = tuple[str, str]  # (key in the row, heading)


def json_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(func)


def run(work: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """``work()``'s result; a Parley error ends the command with its message."""
    try:
        return asyncio.run(work())
    except ParleyError as exc:
        raise click.ClickException(exc.message) from None


def emit(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[Column],
    *,
    as_json: bool,
    title: str | None = None,
) -> None:
    """``rows`` as JSON (every field) or as a table of ``columns``."""
    if as_json:
        click.echo(json.dumps(list(rows), indent=2, default=str))
        return
    table = Table(title=title, title_justify="left", header_style="bold")
    for _, heading in columns:
        table.add_column(heading, overflow="fold")
    for row in rows:
        table.add_row(*(_cell(row.get(key)) for key, _ in columns))
    Console(width=max(120, Console().width)).print(table)


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "—"
    return str(value)
