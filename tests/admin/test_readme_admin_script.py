"""The README's admin script, exactly as printed there, against a real Parley server:
the SDK (sync client, its own process) creates a workspace, invites someone, adds a
member, issues a key, sets a spend limit, and reads the last week's usage and cost by
model, which hold the requests made just before."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import anthropic
import pytest

from parley.app import create_app
from parley.backends.base import Finished, GenerationRequest, TextChunk
from parley.backends.scripted import ScriptedBackend
from tests.support import ADMIN_KEY, API_KEY, ServerThread, make_settings

README = Path(__file__).resolve().parents[2] / "README.md"
PRICED = [{"id": "scripted", "backend": "scripted", "pricing": {"input": 3.0, "output": 15.0}}]


def readme_script() -> str:
    text = README.read_text()
    found = re.search(r"<!-- admin-script -->\n```python\n(.*?)```", text, re.S)
    assert found, "the README lost its admin script"
    return found.group(1)


def fixed(_: GenerationRequest) -> list[object]:
    return [TextChunk("ok"), Finished("end_turn", 7)]


@pytest.mark.timeout(300)
def test_the_readme_admin_script_runs_unchanged(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, models=PRICED)
    app = create_app(settings, backends={"scripted": ScriptedBackend(fixed)})
    with ServerThread(app) as server:
        client = anthropic.Anthropic(api_key=API_KEY, base_url=server.base_url, max_retries=0)
        for _ in range(3):
            client.messages.create(
                model="scripted", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
            )
        admin = client.with_options(api_key=ADMIN_KEY)
        earlier = admin.organization.invites.create(email="dev@example.com", role="developer")
        token = earlier.to_dict()["accept_token"]
        accepted = subprocess.run(
            [sys.executable, "-m", "parley", "invites", "accept", token, "--name", "Dev"],
            env={**os.environ, "PARLEY_DATA_DIR": str(tmp_path)},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert accepted.returncode == 0, accepted.stderr
        env = {
            **os.environ,
            "ANTHROPIC_BASE_URL": server.base_url,
            "ANTHROPIC_ADMIN_KEY": ADMIN_KEY,
        }
        env.pop("ANTHROPIC_API_KEY", None)
        ran = subprocess.run(
            [sys.executable, "-c", readme_script()],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert ran.returncode == 0, ran.stderr
        workspaces = list(admin.organization.workspaces.list())
        members = list(admin.organization.workspaces.members.list(workspaces[0].id))
        limits = list(admin.beta.organization.spend_limits.list())
    lines = ran.stdout.splitlines()
    assert lines[0].startswith("invite invite_") and lines[0].endswith(" pending")
    # 3 requests of 2 input tokens ("<user> hi") and 7 output tokens, at $3 and $15/M.
    assert "usage scripted 6 21" in lines
    assert "cost scripted 0.0333 USD" in lines
    assert [w.name for w in workspaces] == ["research"]
    assert {m.workspace_role for m in members} == {"workspace_developer", "workspace_admin"}
    assert [(s.scope.type, s.amount) for s in limits] == [("workspace", "5000")]
