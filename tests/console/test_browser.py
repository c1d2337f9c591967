"""The Console in a real Chromium (Playwright), against a real server on a socket.

Each step is a person's action in the browser; what it did is checked from the outside
with the official SDK: a key made in the Console works, archived it gets 401, a rate
limit set there comes back in the ``anthropic-ratelimit-*`` headers, a file uploaded
there is listed by the SDK, a batch made by the SDK is cancelled there. The model is
the scripted one (it echoes); ``test_browser_model.py`` runs the bundled model.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import pytest
from playwright.sync_api import Browser, Page, expect

from parley.app import create_app
from parley.backends.scripted import ScriptedBackend
from tests.console import generated
from tests.console.browser import Server, Watched, browser, sign_in, watched_page
from tests.support import ADMIN_KEY, API_KEY, ServerThread, make_settings

pytestmark = [pytest.mark.live]


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with browser() as launched:
        yield launched


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerThread]:
    # Batches stay in progress (no worker), so there is one to cancel.
    settings = make_settings(tmp_path, models=[], batches={"worker_in_server": False})
    with ServerThread(create_app(settings, backends={"scripted": ScriptedBackend()})) as running:
        yield running


def sdk(server: ServerThread, key: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=server.base_url, api_key=key, max_retries=0)


def hello(client: anthropic.Anthropic, text: str = "hello there") -> Any:
    return client.messages.with_raw_response.create(
        model="scripted", max_tokens=8, messages=[{"role": "user", "content": text}]
    )


def open_page(page: Page, server: Server, path: str) -> None:
    page.goto(server.base_url + path)
    page.wait_for_load_state("load")


def create_workspace(page: Page, server: Server, name: str) -> str:
    open_page(page, server, "/console/workspaces")
    page.fill("#new-workspace-name", name)
    page.click("#create-workspace")
    row = page.locator("#workspaces tr", has_text=name)
    return str(row.get_attribute("data-workspace"))


def create_key(page: Page, server: Server, name: str, workspace: str) -> str:
    open_page(page, server, "/console/keys")
    page.fill("#new-key-name", name)
    page.select_option("#new-key-workspace", workspace)
    page.click("#create-key")
    page.click("#copy-key")
    secret = page.evaluate("navigator.clipboard.readText()")
    assert secret == page.input_value("#new-key-secret")
    return str(secret)


def test_an_admin_manages_the_organization_in_the_console(
    chromium: Browser, server: ServerThread
) -> None:
    with watched_page(chromium, permissions=["clipboard-read", "clipboard-write"]) as seen:
        page = seen.page
        sign_in(page, server.base_url, ADMIN_KEY)
        assert page.url.endswith("/console")
        workspace = create_workspace(page, server, "research")
        secret = create_key(page, server, "notebook", workspace)
        # The secret is shown once: the list shows only its hint.
        open_page(page, server, "/console/keys")
        assert secret not in page.content()
        assert page.locator("#keys tr", has_text="notebook").count() == 1

        client = sdk(server, secret)
        made = hello(client)
        assert made.headers["anthropic-workspace-id"] == workspace
        assert made.parse().content[0].text == "hello there"

        _set_rate_limit(page, server, workspace, 7)
        assert hello(client).headers["anthropic-ratelimit-requests-limit"] == "7"

        _upload(page, server, workspace, seen)
        assert [f.filename for f in client.beta.files.list()] == ["notes.txt"]

        _cancel_a_batch(page, server, workspace, client)
        _see_the_usage_chart(page, server)
        _archive(page, server, "notebook")
        with pytest.raises(anthropic.AuthenticationError):
            hello(client)
        assert seen.problems == []


def _set_rate_limit(page: Page, server: ServerThread, workspace: str, rpm: int) -> None:
    open_page(page, server, "/console/limits")
    page.select_option("#rate-scope", workspace)
    page.select_option("#rate-group", "scripted")
    page.fill("#rate-rpm", str(rpm))
    page.click("#save-rate")
    row = page.locator(f'#rate-limits tr[data-scope="{workspace}"]')
    assert row.locator("td").nth(1).inner_text() == str(rpm)


def _upload(page: Page, server: ServerThread, workspace: str, seen: Watched) -> None:
    open_page(page, server, f"/console/files?workspace={workspace}")
    page.set_input_files(
        "#upload-input",
        files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"a" * 4096}],
    )
    with page.expect_navigation():  # the page reloads once the upload is stored
        page.click("#upload-button")
    assert page.locator("#files .file-name").all_inner_texts() == ["notes.txt"]


def _cancel_a_batch(
    page: Page, server: ServerThread, workspace: str, client: anthropic.Anthropic
) -> None:
    params = {"model": "scripted", "max_tokens": 4, "messages": [{"role": "user", "content": "x"}]}
    batch = client.messages.batches.create(requests=[{"custom_id": "a", "params": params}])
    open_page(page, server, f"/console/batches?workspace={workspace}")
    page.locator(f'tr[data-batch="{batch.id}"] button[data-action="cancel"]').click()
    page.wait_for_load_state("load")
    assert client.messages.batches.retrieve(batch.id).processing_status in ("canceling", "ended")
    assert page.locator(f'tr[data-batch="{batch.id}"] .badge').inner_text() in (
        "canceling",
        "ended",
    )


def _see_the_usage_chart(page: Page, server: ServerThread) -> None:
    open_page(page, server, "/console")
    spec = json.loads(page.locator('script[data-chart-for="chart-requests"]').text_content() or "")
    (scripted,) = [d for d in spec["datasets"] if d["label"] == "scripted"]
    assert sum(scripted["data"]) == 2  # the two SDK requests above
    figure = page.locator("figure:has(#chart-requests)")
    assert figure.get_attribute("data-ready") == "1"  # Chart.js drew it
    assert "empty-chart" not in (figure.get_attribute("class") or "")
    assert page.inner_text("#total-requests") == "2"


def _archive(page: Page, server: ServerThread, name: str) -> None:
    open_page(page, server, "/console/keys")
    page.locator("#keys tr", has_text=name).locator('button[data-action="archive"]').click()
    page.wait_for_load_state("load")
    assert page.locator("#keys tr", has_text=name).locator(".badge").inner_text() == "archived"


def test_a_workspace_key_opens_the_workbench_of_its_workspace(
    chromium: Browser, server: ServerThread
) -> None:
    with watched_page(chromium) as seen:
        page = seen.page
        sign_in(page, server.base_url, API_KEY)
        assert page.url.endswith("/console/workbench")
        assert page.locator(".sidebar nav a").all_inner_texts() == [
            "Workbench",
            "Usage and cost",
            "Batches",
            "Files",
        ]
        page.click(".wb-more summary")
        page.fill("#wb-tools", '[{"name": "lookup"}]')  # no input_schema
        assert (
            page.inner_text("#wb-tools-error")
            == "tools.0.input_schema: required (a JSON Schema object)"
        )
        page.fill("#wb-tools", "[{oops")
        assert page.inner_text("#wb-tools-error").startswith("Tools are not valid JSON")
        page.fill("#wb-tools", "")
        page.fill('#wb-messages textarea[data-turn="0"]', "stream these words please")
        page.fill("#wb-max-tokens", "3")
        page.fill("#wb-temperature", "0")
        expect(page.locator("#token-count")).to_have_attribute("data-tokens", re.compile(r"^[1-9]"))
        page.click("#run")
        page.wait_for_selector('#wb-output[data-done="1"]')
        assert page.inner_text("#wb-output .generated") == "stream these words"
        assert page.inner_text("#stat-stop") == "max_tokens"
        assert page.inner_text("#stat-output") == "3"
        assert page.inner_text("#stat-ttft").endswith(" ms")
        page.click("#get-code")
        body = json.loads(page.text_content("#code-json") or "")
        assert body["stream"] is True
        page.click('#code-tabs a[data-tab="python"]')
        assert page.is_visible("#code-python") and not page.is_visible("#code-curl")
        snippets = {
            t: page.text_content(f"#code-{t}") or "" for t in ("curl", "python", "typescript")
        }
        page.click("#close-code")
        # Each snippet, run as a user would, gets the same answer.
        assert generated.curl_text(snippets["curl"], API_KEY) == "stream these words"
        assert generated.python_text(snippets["python"], API_KEY) == "stream these words"
        assert generated.typescript_text(snippets["typescript"], API_KEY) == "stream these words"
        assert seen.problems == []


def test_the_session_cookie_csrf_and_escaping_in_the_browser(
    chromium: Browser, server: ServerThread
) -> None:
    evil = "<script>alert(1)</script>"
    with watched_page(chromium) as seen:
        page = seen.page
        sign_in(page, server.base_url, ADMIN_KEY)
        (cookie,) = [c for c in seen.context.cookies() if c["name"] == "parley_console"]
        assert cookie["httpOnly"] is True
        assert cookie["sameSite"] == "Strict"
        assert cookie["secure"] is False  # plain HTTP on loopback
        assert page.evaluate("document.cookie").find("parley_console=") == -1
        forged = page.evaluate(
            """async () => (await fetch('/console/workspaces', {method: 'POST',
                 headers: {'content-type': 'application/x-www-form-urlencoded'},
                 body: 'name=forged'})).status"""
        )
        assert forged == 403
        create_workspace(page, server, evil)
        assert page.locator("#workspaces .ws-name", has_text=evil).count() == 1
        assert "forged" not in page.inner_text("#workspaces")
        assert seen.dialogs == []  # no alert ran
        # The forged request's refusal is the page's only complaint.
        assert seen.problems == [
            "Failed to load resource: the server responded with a status of 403 (Forbidden)"
        ]
