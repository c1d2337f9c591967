"""The README's first steps in a real Chromium, on the bundled model: sign in with the
admin key, create a workspace and a key, try a prompt in the Workbench, save it and
open it again, and see the requests on the usage chart.

The Workbench's answer at temperature 0 is compared with the same request (taken from
its "Get code") made through the SDK with the new key: one route, one answer.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser

from parley.app import create_app
from parley.config import BUNDLED_MODEL_ID
from tests.console import generated
from tests.console.browser import browser, sign_in, watched_page
from tests.console.test_browser import create_key, create_workspace, open_page
from tests.support import ADMIN_KEY, ServerThread, make_settings

pytestmark = [pytest.mark.live, pytest.mark.slow]


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with browser() as launched:
        yield launched


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    settings = make_settings(tmp_path_factory.mktemp("console-model"))  # the bundled model
    with ServerThread(create_app(settings)) as running:
        yield running


def test_a_new_user_tries_a_prompt_and_sees_it_on_the_usage_chart(
    chromium: Browser, server: ServerThread
) -> None:
    with watched_page(chromium, permissions=["clipboard-read", "clipboard-write"]) as seen:
        page = seen.page
        sign_in(page, server.base_url, ADMIN_KEY)
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
