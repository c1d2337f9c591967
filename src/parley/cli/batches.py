"""``parley batches submit|list|results``: Message Batches from the command line.

Talks to a running server over HTTP, like any client: ``--base-url`` (default
``$ANTHROPIC_BASE_URL`` or http://127.0.0.1:8080) and ``--api-key`` (default
``$ANTHROPIC_API_KEY``).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

F = TypeVar("F", bound=Callable[..., Any])


def connection(func: F) -> F:
    func = click.option(
        "--api-key",
        envvar="ANTHROPIC_API_KEY",
        required=True,
        help="Workspace API key (default: $ANTHROPIC_API_KEY).",
    )(func)
    return click.option(
        "--base-url",
        envvar="ANTHROPIC_BASE_URL",
        default="http://127.0.0.1:8080",
        show_default=True,
        help="Server address ($ANTHROPIC_BASE_URL).",
    )(func)


def client(base_url: str, api_key: str) -> httpx.Client:
    headers = {"x-api-key": api_key, "anthropic-version": "2023-06-01"}
    return httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=600)


def checked(response: httpx.Response) -> httpx.Response:
    if response.is_error:
        try:
            message = response.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = response.text
        raise click.ClickException(f"{response.status_code}: {message}")
    return response


@click.group()
def batches() -> None:
    """Message Batches: submit a JSONL file, list batches, fetch results."""


@batches.command()
@connection
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--wait/--no-wait", default=True, show_default=True, help="Follow it until it ends.")
def submit(base_url: str, api_key: str, path: Path, wait: bool) -> None:
    """Submit PATH: one {"custom_id": ..., "params": {...}} object per line."""
    requests = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if line.strip():
            try:
                requests.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise click.ClickException(f"{path}:{number}: not JSON ({exc})") from None
    with client(base_url, api_key) as http:
        batch = checked(http.post("/v1/messages/batches", json={"requests": requests})).json()
        click.echo(f"created {batch['id']} with {len(requests)} requests", err=True)
        if wait:
            batch = follow(http, batch["id"], len(requests))
    click.echo(json.dumps(batch, indent=2))


def follow(http: httpx.Client, batch_id: str, total: int) -> dict[str, Any]:
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=Console(stderr=True)) as progress:
        task = progress.add_task(batch_id, total=total)
        while True:
            response = checked(http.get(f"/v1/messages/batches/{batch_id}"))
            batch: dict[str, Any] = response.json()
            progress.update(
                task, completed=int(response.headers.get("parley-requests-completed", 0))
            )
            if batch["processing_status"] == "ended":
                progress.update(task, completed=total)
                return batch
            time.sleep(1.0)


@batches.command(name="list")
@connection
@click.option("--limit", default=20, show_default=True)
def list_batches(base_url: str, api_key: str, limit: int) -> None:
    """The workspace's batches, newest first."""
    with client(base_url, api_key) as http:
        page = checked(http.get("/v1/messages/batches", params={"limit": limit})).json()
    for batch in page["data"]:
        counts = batch["request_counts"]
        summary = ", ".join(f"{k} {v}" for k, v in counts.items() if v)
        click.echo(
            f"{batch['id']}  {batch['processing_status']:11}  {batch['created_at']}  {summary}"
        )


@batches.command()
@connection
@click.argument("batch_id")
def results(base_url: str, api_key: str, batch_id: str) -> None:
    """Write the results of BATCH_ID to stdout as JSONL."""
    with (
        client(base_url, api_key) as http,
        http.stream("GET", f"/v1/messages/batches/{batch_id}/results") as response,
    ):
        if response.is_error:
            response.read()
            checked(response)
        for chunk in response.iter_bytes():
            sys.stdout.buffer.write(chunk)
