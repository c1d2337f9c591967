"""Console sessions over HTTP, in process: the cookie's flags, CSRF on every POST, expiry,
sign-out, sessions shared by two servers on one database, the Workbench's session on
``/v1/messages``, escaping, the pages' security headers, and ``GET /`` for browsers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from parley.app import create_app
from parley.backends.scripted import ScriptedBackend
from parley.storage.tables import ConsoleSession
from tests.console.support import page_csrf, set_cookie_headers, sign_in
from tests.support import ADMIN_KEY, API_KEY, make_settings, raw_client, running

ADMIN = {"x-api-key": ADMIN_KEY, "anthropic-version": "2023-06-01"}
MESSAGE = {
    "model": "scripted",
    "max_tokens": 8,
    "messages": [{"role": "user", "content": "hello console"}],
}


async def test_browsers_opening_the_base_url_go_to_the_console(scripted_app: Any) -> None:
    async with scripted_app() as app, raw_client(app) as client:
        browser = await client.get("/", headers={"accept": "text/html,application/xhtml+xml"})
        assert browser.status_code == 303
        assert browser.headers["location"] == "/console"
        for accept in ("*/*", "application/json"):
            probe = await client.get("/", headers={"accept": accept})
            assert probe.status_code == 200
            assert probe.json()["api"] == "claude"
        head = await client.head("/", headers={"accept": "text/html"})
        assert head.status_code == 200
        unsigned = await client.get("/console")
        assert unsigned.status_code == 303
        assert unsigned.headers["location"] == "/console/sign-in"


async def test_signing_in_sets_a_strict_http_only_session_cookie(scripted_app: Any) -> None:
    async with scripted_app() as app, raw_client(app) as client:
        signed = await sign_in(client, ADMIN_KEY)
        assert signed.status_code == 303
        assert signed.headers["location"] == "/console"
        (cookie,) = set_cookie_headers(signed, "parley_console")
        flags = [part.strip().lower() for part in cookie.split(";")]
        assert "httponly" in flags
        assert "samesite=strict" in flags
        assert "path=/" in flags
        assert "secure" not in flags  # plain HTTP here
        assert ADMIN_KEY not in cookie
        overview = await client.get("/console")
        assert overview.status_code == 200
        assert ADMIN_KEY not in overview.text


async def test_the_cookie_is_secure_over_https(scripted_app: Any) -> None:
    async with scripted_app() as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://parley.test") as client:
            signed = await sign_in(client, API_KEY)
    (cookie,) = set_cookie_headers(signed, "parley_console")
    assert "secure" in [part.strip().lower() for part in cookie.split(";")]


async def test_the_cookie_is_secure_behind_a_tls_proxy(scripted_app: Any) -> None:
    """Plain HTTP from a TLS-terminating proxy uvicorn does not trust: the public base URL
    says the browser is on HTTPS."""
    server = {"public_base_url": "https://parley.example.com"}
    async with scripted_app(server=server) as app, raw_client(app) as client:
        form = await client.get("/console/sign-in")
    (cookie,) = set_cookie_headers(form, "parley_console_form")
    assert "secure" in [part.strip().lower() for part in cookie.split(";")]


async def test_a_sign_in_form_token_that_is_not_ascii_is_refused(scripted_app: Any) -> None:
    async with scripted_app() as app, raw_client(app) as client:
        await client.get("/console/sign-in")  # sets the form's double-submit cookie
        refused = await client.post("/console/sign-in", data={"csrf": "é", "key": API_KEY})
        assert refused.status_code == 403
        assert "The form expired" in refused.text


async def test_a_wrong_key_does_not_sign_in_and_is_never_echoed(
    scripted_app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "sk-parley-admin01-" + "x" * 55
    async with scripted_app() as app, raw_client(app) as client:
        refused = await sign_in(client, wrong)
        assert refused.status_code == 401
        assert "cannot sign in" in refused.text
        assert wrong not in refused.text
        assert not set_cookie_headers(refused, "parley_console")
        garbage = await sign_in(client, "hello")
        assert "not a Parley key" in garbage.text
        await sign_in(client, ADMIN_KEY)
    assert all(
        wrong not in r.getMessage() and ADMIN_KEY not in r.getMessage() for r in caplog.records
    )


async def test_a_post_without_the_csrf_token_is_refused(scripted_app: Any) -> None:
    async with scripted_app() as app, raw_client(app) as client:
        await sign_in(client, ADMIN_KEY)
        forms = ({"name": "sneaky"}, {"name": "sneaky", "csrf": "forged"}, {"csrf": "forgé"})
        for form in forms:
            refused = await client.post("/console/workspaces", data=form)
            assert refused.status_code == 403
            assert "CSRF" in refused.text
        listed = await client.get("/v1/organizations/workspaces", headers=ADMIN)
        assert [w["name"] for w in listed.json()["data"]] == []
        token = await page_csrf(client)
        made = await client.post("/console/workspaces", data={"name": "fine", "csrf": token})
        assert made.status_code == 303
        listed = await client.get("/v1/organizations/workspaces", headers=ADMIN)
        assert [w["name"] for w in listed.json()["data"]] == ["fine"]


async def test_sign_out_ends_the_session(scripted_app: Any) -> None:
    async with scripted_app() as app, raw_client(app) as client:
        await sign_in(client, ADMIN_KEY)
        token = await page_csrf(client)
        cookie = client.cookies["parley_console"]
        refused = await client.post("/console/sign-out", data={"csrf": "forged"})
        assert refused.status_code == 403
        out = await client.post("/console/sign-out", data={"csrf": token})
        assert out.status_code == 303
        assert "parley_console" not in client.cookies
        # The old cookie, replayed, no longer opens anything.
        client.cookies.set("parley_console", cookie)
        again = await client.get("/console/keys")
        assert again.headers["location"] == "/console/sign-in"


async def test_a_session_works_on_every_server_of_the_database(
    tmp_path: Path, database_url: str
) -> None:
    """Two servers on one database (as behind a load balancer), SQLite and PostgreSQL:
    signed in on one, the browser is signed in on the other, and signing out on the
    other ends it on both."""
    settings = make_settings(tmp_path, models=[], database={"url": database_url})
    first = create_app(settings, backends={"scripted": ScriptedBackend()})
    second = create_app(settings, backends={"scripted": ScriptedBackend()})
    async with (
        running(first),
        running(second),
        raw_client(first) as one,
        raw_client(second) as two,
    ):
        await sign_in(one, ADMIN_KEY)
        two.cookies.set("parley_console", one.cookies["parley_console"])
        assert (await two.get("/console/keys")).status_code == 200
        token = await page_csrf(two)
        await two.post("/console/sign-out", data={"csrf": token})
        assert (await one.get("/console/keys")).headers["location"] == "/console/sign-in"


async def _age(app: Any, **changes: datetime) -> None:
    """Move the session's clock (instead of waiting: a timing is never a test)."""
    db = app.state.services.sessions.db
    async with db.write() as session:
        await session.execute(update(ConsoleSession).values(**changes))


@pytest.mark.parametrize("expiry", ["idle", "absolute"])
async def test_sessions_expire(scripted_app: Any, expiry: str) -> None:
    console = {"session_idle_minutes": 30, "session_max_hours": 8}
    async with scripted_app(console=console) as app, raw_client(app) as client:
        await sign_in(client, ADMIN_KEY)
        assert (await client.get("/console/keys")).status_code == 200
        now = datetime.now(UTC)
        if expiry == "idle":
            await _age(app, last_seen_at=now - timedelta(minutes=31))
        else:
            await _age(app, expires_at=now - timedelta(seconds=1))
        gone = await client.get("/console/keys")
        assert gone.headers["location"] == "/console/sign-in"


async def test_an_archived_key_ends_its_sessions(scripted_app: Any) -> None:
    async with scripted_app() as app, raw_client(app) as client:
        key = await client.post(
            "/v1/organizations/api_keys", headers=ADMIN, json={"name": "short-lived"}
        )
        await sign_in(client, key.json()["api_key"])
        assert (await client.get("/console/workbench")).status_code == 200
        await client.post(
            f"/v1/organizations/api_keys/{key.json()['id']}",
            headers=ADMIN,
            json={"status": "archived"},
        )
        assert (await client.get("/console/workbench")).headers["location"] == "/console/sign-in"


async def test_the_workbench_session_calls_the_messages_api_only_with_its_csrf_header(
    scripted_app: Any,
) -> None:
    async with scripted_app() as app, raw_client(app) as client:
        await sign_in(client, API_KEY)
        headers = {"anthropic-version": "2023-06-01"}
        refused = await client.post("/v1/messages", json=MESSAGE, headers=headers)
        assert refused.status_code == 403
        assert refused.json()["error"]["type"] == "permission_error"
        token = await page_csrf(client)
        answered = await client.post(
            "/v1/messages", json=MESSAGE, headers={**headers, "x-csrf-token": token}
        )
        assert answered.status_code == 200, answered.text
        assert answered.json()["content"][0]["text"] == "hello console"
        default = app.state.services.organization.default_workspace_id
        assert answered.headers["anthropic-workspace-id"] == default
        other = await client.post(
            "/v1/organizations/workspaces", headers=ADMIN, json={"name": "elsewhere"}
        )
        elsewhere = {**headers, "x-csrf-token": token, "anthropic-workspace-id": other.json()["id"]}
        crossing = await client.post("/v1/messages", json=MESSAGE, headers=elsewhere)
        assert crossing.status_code == 403


async def test_an_admin_session_runs_the_workbench_in_the_workspace_it_picks(
    scripted_app: Any,
) -> None:
    async with scripted_app() as app, raw_client(app) as client:
        workspace = await client.post(
            "/v1/organizations/workspaces", headers=ADMIN, json={"name": "lab"}
        )
        await sign_in(client, ADMIN_KEY)
        token = await page_csrf(client)
        headers = {
            "anthropic-version": "2023-06-01",
            "x-csrf-token": token,
            "anthropic-workspace-id": workspace.json()["id"],
        }
        answered = await client.post("/v1/messages", json=MESSAGE, headers=headers)
        assert answered.status_code == 200
        assert answered.headers["anthropic-workspace-id"] == workspace.json()["id"]
        # Its usage belongs to that workspace (and to no key).
        await app.state.services.usage.flush()
        starting = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
        report = await client.get(
            "/v1/organizations/analytics/usage",
            params={"starting_at": starting, "group_by[]": ["workspace_id", "api_key_id"]},
            headers=ADMIN,
        )
        rows = [r["group"] for r in report.json()["data"]]
        assert {"workspace_id": workspace.json()["id"], "api_key_id": None}.items() <= rows[
            0
        ].items()


async def test_an_api_key_session_sees_only_its_workspace_pages(scripted_app: Any) -> None:
    async with scripted_app() as app, raw_client(app) as client:
        signed = await sign_in(client, API_KEY)
        assert signed.headers["location"] == "/console/workbench"
        for path in ("/console/files", "/console/batches", "/console/usage?starting_at=2026-01-01"):
            assert (await client.get(path)).status_code == 200, path
        for path in ("/console/keys", "/console/workspaces", "/console/limits", "/console/models"):
            refused = await client.get(path)
            assert refused.status_code == 403, path
            assert "admin key" in refused.text
        assert (await client.get("/console")).headers["location"] == "/console/workbench"


async def test_what_users_typed_is_escaped(scripted_app: Any) -> None:
    evil = "<script>alert(1)</script>"
    async with scripted_app() as app, raw_client(app) as client:
        await client.post("/v1/organizations/workspaces", headers=ADMIN, json={"name": evil})
        await client.post("/v1/organizations/api_keys", headers=ADMIN, json={"name": evil})
        await sign_in(client, ADMIN_KEY)
        for path in ("/console/workspaces", "/console/keys"):
            shown = await client.get(path)
            assert evil not in shown.text
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in shown.text


async def test_pages_carry_a_strict_content_security_policy(scripted_app: Any) -> None:
    async with scripted_app() as app, raw_client(app) as client:
        await sign_in(client, ADMIN_KEY)
        for path in ("/console", "/console/workbench", "/console/sign-in"):
            shown = await client.get(path)
            policy = shown.headers["content-security-policy"]
            assert "script-src 'self'" in policy
            assert "unsafe-inline" not in policy
            assert "frame-ancestors 'none'" in policy
            assert shown.headers["cache-control"] == "no-store"
            assert "<script>" not in shown.text  # no inline script, only src= and JSON data


async def test_a_new_keys_secret_is_shown_once(scripted_app: Any) -> None:
    async with scripted_app() as app, raw_client(app) as client:
        await sign_in(client, ADMIN_KEY)
        token = await page_csrf(client)
        created = await client.post("/console/keys", data={"csrf": token, "name": "notebook"})
        assert created.status_code == 200
        secret = created.text.split('id="new-key-secret"')[0].rsplit('value="', 1)[1].split('"')[0]
        assert secret.startswith("sk-parley-api01-")
        listed = await client.get("/console/keys")
        assert "notebook" in listed.text
        assert secret not in listed.text
        used = await client.post(
            "/v1/messages",
            json=MESSAGE,
            headers={"x-api-key": secret, "anthropic-version": "2023-06-01"},
        )
        assert used.status_code == 200
