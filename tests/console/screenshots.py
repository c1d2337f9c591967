"""Screenshots of every Console page, for the README: ``make screenshots`` (or
``python -m tests.console.screenshots docs/console``).

A real ``parley`` app on the bundled model, on a socket, in a temporary data directory;
a little organization is made through the Console and the SDK (workspaces, keys,
limits, requests, a batch, a file, a skill, a saved prompt), then Debian's chromium
photographs each page at 1400x900.
"""

from __future__ import annotations

import io
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import anthropic
from playwright.sync_api import Page

from parley.app import create_app
from parley.config import BUNDLED_MODEL_ID
from tests.console.browser import browser, sign_in, watched_page
from tests.console.test_browser import create_key, create_workspace, open_page
from tests.support import ADMIN_KEY, ServerThread, make_settings

PRICING = {"input": 0.5, "output": 1.5}  # a demo price list, so the cost charts have bars
MODEL = {"id": BUNDLED_MODEL_ID, "display_name": "SmolLM2 135M Instruct", "pricing": PRICING}
QUESTIONS = ["Name a colour.", "Say hello.", "Count to three.", "Name a fruit."]


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as data:
        settings = make_settings(
            Path(data),
            models=[MODEL],
            aliases={"claude-*": BUNDLED_MODEL_ID},
            batches={"poll_interval": 0.2},
        )
        with ServerThread(create_app(settings)) as server, browser() as chromium:
            options = {"permissions": ["clipboard-read", "clipboard-write"]}
            with watched_page(chromium, **options) as seen:
                shoot_all(seen.page, server, out)
                if seen.problems:
                    raise SystemExit(f"the pages reported problems: {seen.problems}")


def shot(page: Page, out: Path, name: str) -> None:
    page.wait_for_load_state("load")
    page.wait_for_timeout(300)  # let Chart.js finish its first layout
    page.screenshot(path=str(out / f"{name}.png"), full_page=True)
    print(f"wrote {out / name}.png")


def shoot_all(page: Page, server: ServerThread, out: Path) -> None:
    page.goto(server.base_url)
    shot(page, out, "sign-in")
    sign_in(page, server.base_url, ADMIN_KEY)
    research = create_workspace(page, server, "research")
    support = create_workspace(page, server, "support-bot")
    secret = create_key(page, server, "notebook", research)
    shot(page, out, "key-created")
    bot_key = create_key(page, server, "support bot", support)
    _traffic(server, secret, bot_key)
    _limits(page, server, research)
    _batch_file_and_skill(server, secret)
    _workbench(page, server, research, out)
    pages = [
        ("/console", "overview"),
        ("/console/workspaces", "workspaces"),
        ("/console/keys", "keys"),
        ("/console/limits", "limits"),
        ("/console/usage", "usage"),
        (f"/console/batches?workspace={research}", "batches"),
        (f"/console/files?workspace={research}", "files"),
        (f"/console/skills?workspace={research}", "skills"),
        ("/console/models", "models"),
    ]
    for path, name in pages:
        open_page(page, server, path)
        shot(page, out, name)
    page.click("#sign-out")
    page.goto(server.base_url + "/console/invites/accept")
    shot(page, out, "invite")


def _traffic(server: ServerThread, *keys: str) -> None:
    for key in keys:
        client = anthropic.Anthropic(base_url=server.base_url, api_key=key, max_retries=0)
        for question in QUESTIONS:
            client.messages.create(
                model=BUNDLED_MODEL_ID,
                max_tokens=16,
                messages=[{"role": "user", "content": question}],
            )


def _limits(page: Page, server: ServerThread, workspace: str) -> None:
    open_page(page, server, "/console/limits")
    page.select_option("#rate-scope", workspace)
    page.fill("#rate-rpm", "60")
    page.fill('input[name="output_tokens_per_minute"]', "20000")
    page.click("#save-rate")
    page.select_option('#spend-form select[name="scope"]', workspace)
    page.fill('#spend-form input[name="amount_usd"]', "25")
    page.click('#spend-form button[type="submit"]')


def _batch_file_and_skill(server: ServerThread, key: str) -> None:
    client = anthropic.Anthropic(base_url=server.base_url, api_key=key, max_retries=0)
    params = {
        "model": BUNDLED_MODEL_ID,
        "max_tokens": 8,
        "messages": [{"role": "user", "content": "Hi"}],
    }
    batch = client.messages.batches.create(
        requests=[{"custom_id": f"r{i}", "params": params} for i in range(3)]
    )
    deadline = time.monotonic() + 300
    while client.messages.batches.retrieve(batch.id).processing_status != "ended":
        if time.monotonic() > deadline:
            raise SystemExit("the batch did not end in 300 s")
        time.sleep(0.5)
    client.beta.files.upload(file=("handbook.txt", b"Opening hours: 9 to 5.\n" * 40, "text/plain"))
    client.beta.files.upload(file=("prices.csv", b"item,price\ntea,2\ncoffee,3\n", "text/csv"))
    skill = io.BytesIO()
    with zipfile.ZipFile(skill, "w") as archive:
        archive.writestr(
            "tone/SKILL.md", "---\nname: tone\ndescription: Answer kindly.\n---\nBe kind.\n"
        )
    client.skills.create(
        files=[("tone.zip", skill.getvalue(), "application/zip")], display_name="Tone"
    )


def _workbench(page: Page, server: ServerThread, workspace: str, out: Path) -> None:
    open_page(page, server, f"/console/workbench?workspace={workspace}")
    page.fill("#wb-system", "You are a concise assistant.")
    page.fill('#wb-messages textarea[data-turn="0"]', "Write one sentence about the sea.")
    page.fill("#wb-max-tokens", "40")
    page.fill("#wb-temperature", "0")
    page.fill("#prompt-name", "sea sentence")
    with page.expect_navigation():
        page.click("#save-prompt")
    page.click("#run")
    page.wait_for_selector('#wb-output[data-done="1"]', timeout=240_000)
    shot(page, out, "workbench")
    page.click("#get-code")
    page.click('#code-tabs a[data-tab="python"]')
    shot(page, out, "workbench-code")
    page.click("#close-code")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/console"))
