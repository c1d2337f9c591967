"""The README's first steps in a real Chromium: ``parley serve`` on the embedded
default (the bundled model) prints the admin key on its first start; a person opens
the base URL, signs in with that key, creates a workspace and a key, tries a prompt in
the Workbench, saves it and opens it again, and sees the requests on the usage chart.

The Workbench's answer at temperature 0 is compared with the same request (taken from
its "Get code") made through the SDK with the new key: one route, one answer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser

from parley.config import BUNDLED_MODEL_ID
from tests.console import generated
from tests.console.browser import SECRET, browser, sign_in, watched_page
from tests.console.test_browser import create_key, create_workspace, open_page
from tests.processes import free_port, serve

pytestmark = [pytest.mark.live, pytest.mark.slow]


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with browser() as launched:
        yield launched


@dataclass(frozen=True)
class Served:
    base_url: str
    admin_key: str
    log: Callable[[], str]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    port = free_port()
    process = serve(tmp_path_factory.mktemp("console-model"), port)
    try:
        printed = re.search(r"(sk-parley-admin01-\S+)", process.log())
        assert printed, process.log()
        yield Served(f"http://127.0.0.1:{port}", printed.group(1), process.log)
    finally:
        process.terminate()


def test_a_new_user_tries_a_prompt_and_sees_it_on_the_usage_chart(
    chromium: Browser, server: Served
) -> None:
    with watched_page(chromium, permissions=["clipboard-read", "clipboard-write"]) as seen:
        page = seen.page
        sign_in(page, server.base_url, server.admin_key)
        workspace = create_workspace(page, server, "first steps")
        secret = create_key(page, server, "my key", workspace)

        open_page(page, server, f"/console/workbench?workspace={workspace}")
        page.select_option("#wb-model", BUNDLED_MODEL_ID)
        page.fill("#wb-system", "You are terse.")
        page.fill('#wb-messages textarea[data-turn="0"]', "Name a colour.")
        page.fill("#wb-max-tokens", "12")
        page.fill("#wb-temperature", "0")
        page.click("#run")
        page.wait_for_selector('#wb-output[data-done="1"]', timeout=240_000)
        streamed = "".join(page.locator("#wb-output .generated").all_inner_texts())
        assert streamed.strip()
        assert page.inner_text("#stat-stop") in ("end_turn", "max_tokens")
        assert int(page.inner_text("#stat-input")) > 0
        page.click("#get-code")
        body = json.loads(page.text_content("#code-json") or "")
        python = page.text_content("#code-python") or ""
        page.click("#close-code")
        assert body["temperature"] == 0
        # The same request through the SDK (the "Get code" snippet, run with the new key).
        assert generated.python_text(python, secret) == streamed

        _save_and_reopen(page, workspace)
        open_page(page, server, "/console?period=24h")
        spec = json.loads(
            page.locator('script[data-chart-for="chart-requests"]').text_content() or ""
        )
        (model,) = [d for d in spec["datasets"] if d["label"] == BUNDLED_MODEL_ID]
        assert sum(model["data"]) == 2  # the Workbench's request and the SDK's
        assert page.locator("figure:has(#chart-requests)").get_attribute("data-ready") == "1"
        assert seen.problems == []
    # The server's log (access lines included) holds one secret: the first start's print.
    assert SECRET.findall(server.log()) == [server.admin_key]


def _save_and_reopen(page: object, workspace: str) -> None:
    from playwright.sync_api import Page

    assert isinstance(page, Page)
    page.fill("#prompt-name", "colour")
    with page.expect_navigation():
        page.click("#save-prompt")
    assert page.locator("#prompt-picker option:checked").inner_text() == "colour"
    page.goto(page.url.split("&prompt=")[0])  # a fresh Workbench, then open it again
    assert page.input_value("#wb-system") == ""
    with page.expect_navigation():
        page.select_option("#prompt-picker", label="colour")
    assert page.input_value("#wb-system") == "You are terse."
    assert page.input_value('#wb-messages textarea[data-turn="0"]') == "Name a colour."
    assert page.input_value("#wb-temperature") == "0"
    assert workspace in page.url
