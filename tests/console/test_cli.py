"""The Console's operations from the command line (``parley workspaces``, ``keys``,
``limits``, ``usage``, ``cost``, ``models``), on the same database a server then uses:
what a command changed is what the server (and the SDK) sees."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anthropic
import pytest
from click.testing import CliRunner

from parley.app import create_app
from parley.backends.scripted import ScriptedBackend
from parley.cli import main
from parley.config import BUNDLED_MODEL_ID
from tests.support import ADMIN_KEY, API_KEY, asgi_http, make_settings, running

MODELS = [{"id": "scripted"}]  # the group the scripted backend serves, named in the settings


def environment(tmp_path: Path) -> dict[str, str]:
    return {
        "PARLEY_DATA_DIR": str(tmp_path),
        "PARLEY_AUTH__BOOTSTRAP_ADMIN_KEY": ADMIN_KEY,
        "PARLEY_AUTH__BOOTSTRAP_API_KEY": API_KEY,
        "PARLEY_MODELS": json.dumps(MODELS),
    }


def cli(tmp_path: Path, *args: str) -> Any:
    ran = CliRunner().invoke(main, list(args), env=environment(tmp_path), catch_exceptions=False)
    assert ran.exit_code == 0, ran.output
    return ran


def cli_json(tmp_path: Path, *args: str) -> Any:
    return json.loads(cli(tmp_path, *args, "--json").stdout)


def with_server(tmp_path: Path, work: Callable[[anthropic.AsyncAnthropic], Any]) -> Any:
    """Run ``work`` with the SDK against a server on the same data directory."""

    async def go() -> Any:
        settings = make_settings(tmp_path, models=MODELS)
        app = create_app(settings, backends={"scripted": ScriptedBackend()})
        async with running(app):
            client = anthropic.AsyncAnthropic(
                api_key=API_KEY,
                base_url="http://parley.test",
                http_client=asgi_http(app),
                max_retries=0,
            )
            return await work(client)

    return asyncio.run(go())


def test_workspaces_and_keys_from_the_command_line(tmp_path: Path) -> None:
    (made,) = cli_json(tmp_path, "workspaces", "create", "research")
    workspace = made["id"]
    cli(tmp_path, "workspaces", "rename", workspace, "lab")
    listed = cli_json(tmp_path, "workspaces", "list")
    assert [(w["name"], w["status"]) for w in listed] == [
        ("Default Workspace", "default"),
        ("lab", "active"),
    ]
    secret = cli(
        tmp_path, "keys", "create", "--workspace", workspace, "--name", "nb"
    ).stdout.strip()
    (key,) = cli_json(tmp_path, "keys", "list", "--workspace", workspace)
    assert (key["name"], key["workspace"], key["status"]) == ("nb", "lab", "active")
    assert secret not in json.dumps(key) and key["hint"].endswith(secret[-4:])
    cli(tmp_path, "keys", "rename", key["id"], "notebook")
    (inactive,) = cli_json(tmp_path, "keys", "deactivate", key["id"])
    assert (inactive["name"], inactive["status"]) == ("notebook", "inactive")
    assert cli_json(tmp_path, "keys", "list", "--status", "active")[0]["name"] != "notebook"
    table = cli(tmp_path, "keys", "list").stdout
    assert "notebook" in table and "inactive" in table

    async def refused(client: anthropic.AsyncAnthropic) -> None:
        with pytest.raises(anthropic.AuthenticationError):
            await client.with_options(api_key=secret).messages.create(
                model="scripted", max_tokens=4, messages=[{"role": "user", "content": "hi"}]
            )

    with_server(tmp_path, refused)
    (archived,) = cli_json(tmp_path, "workspaces", "archive", workspace)
    assert archived["status"] == "archived"
    assert cli_json(tmp_path, "keys", "list", "--workspace", workspace)[0]["status"] == "archived"


def test_a_bad_name_is_refused_with_the_api_message(tmp_path: Path) -> None:
    ran = CliRunner().invoke(main, ["workspaces", "create", "x" * 41], env=environment(tmp_path))
    assert ran.exit_code == 1
    assert "name: String should have at most 40 characters" in ran.output


def test_limits_usage_and_cost_from_the_command_line(tmp_path: Path) -> None:
    (made,) = cli_json(tmp_path, "workspaces", "create", "limited")
    workspace = made["id"]
    secret = cli(tmp_path, "keys", "create", "--workspace", workspace).stdout.strip()
    cli(
        tmp_path,
        "limits",
        "rate",
        "scripted",
        "--workspace",
        workspace,
        "--requests-per-minute",
        "9",
    )
    (spend,) = cli_json(tmp_path, "limits", "spend", "12.50", "--workspace", workspace)
    assert spend["amount"] == "1250"

    async def ask(client: anthropic.AsyncAnthropic) -> str:
        answer = await client.with_options(api_key=secret).messages.with_raw_response.create(
            model="scripted", max_tokens=4, messages=[{"role": "user", "content": "one two"}]
        )
        await client.messages.create(
            model="scripted", max_tokens=4, messages=[{"role": "user", "content": "three"}]
        )
        return answer.headers["anthropic-ratelimit-requests-limit"]

    assert with_server(tmp_path, ask) == "9"
    shown = cli_json(tmp_path, "limits", "show")
    assert {
        "group": "scripted",
        "scope": "limited",
        "workspace_id": workspace,
        "requests_per_minute": 9,
        "input_tokens_per_minute": None,
        "output_tokens_per_minute": None,
    } in shown["rate_limits"]
    assert any(s["workspace_id"] == workspace and s["limit_usd"] == "12.50" for s in shown["spend"])
    assert shown["usage_tier"]["tier"] == "unlimited"
    rows = cli_json(tmp_path, "usage", "--group-by", "workspace_id", "--days", "1")
    by_workspace = {r["workspace_id"]: r["requests"] for r in rows}
    assert by_workspace[workspace] == 1 and sum(by_workspace.values()) == 2
    costs = cli_json(tmp_path, "cost", "--group-by", "model", "--bucket", "1h", "--days", "1")
    assert [(c["model"], c["requests"]) for c in costs] == [("scripted", 2)]
    assert "Total tokens" in cli(tmp_path, "usage", "--group-by", "model").stdout


@pytest.mark.slow
def test_models_list_shows_the_served_models(tmp_path: Path) -> None:
    env = {k: v for k, v in environment(tmp_path).items() if k != "PARLEY_MODELS"}  # bundled
    env["PARLEY_ALIASES"] = json.dumps({"claude-*": BUNDLED_MODEL_ID})
    ran = CliRunner().invoke(main, ["models", "list", "--json"], env=env, catch_exceptions=False)
    assert ran.exit_code == 0, ran.output
    (model,) = json.loads(ran.stdout)
    assert model["id"] == BUNDLED_MODEL_ID
    assert model["aliases"] == ["claude-*"]
    assert model["context_window"] > 0
    assert model["healthy"] is True
    assert "tools" in model["capabilities"]
