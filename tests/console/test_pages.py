"""Each Console page's actions over HTTP, in process, checked through the Admin API or
the data plane: workspaces, keys, limits, usage CSV, batches, files, skills, saved
prompts, invites, and how a refused form comes back as a notice."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from typing import Any

import httpx

from tests.console.support import page_csrf, sign_in
from tests.support import ADMIN_KEY, API_KEY, raw_client

ADMIN = {"x-api-key": ADMIN_KEY, "anthropic-version": "2023-06-01"}
DATA = {"x-api-key": API_KEY, "anthropic-version": "2023-06-01"}
BODY = {"model": "scripted", "max_tokens": 4, "messages": [{"role": "user", "content": "a b"}]}


async def admin_client(app: Any) -> tuple[httpx.AsyncClient, str]:
    client = raw_client(app)
    await sign_in(client, ADMIN_KEY)
    return client, await page_csrf(client)


async def test_workspace_rename_and_archive(scripted_app: Any) -> None:
    async with scripted_app() as app:
        client, csrf = await admin_client(app)
        made = await client.post("/v1/organizations/workspaces", headers=ADMIN, json={"name": "a"})
        ws = made.json()["id"]
        back = {"referer": "http://parley.test/console/workspaces"}
        renamed = await client.post(
            f"/console/workspaces/{ws}/rename", data={"csrf": csrf, "name": "b"}
        )
        assert renamed.headers["location"] == "/console/workspaces"
        assert "Workspace renamed to “b”." in (await client.get("/console/workspaces")).text
        too_long = await client.post(
            f"/console/workspaces/{ws}/rename", data={"csrf": csrf, "name": "x" * 41}, headers=back
        )
        assert too_long.headers["location"] == "/console/workspaces"  # back, with the reason
        shown = (await client.get("/console/workspaces")).text
        assert "name: String should have at most 40 characters" in shown
        await client.post(f"/console/workspaces/{ws}/archive", data={"csrf": csrf})
        found = await client.get(f"/v1/organizations/workspaces/{ws}", headers=ADMIN)
        assert found.json()["name"] == "b" and found.json()["archived_at"] is not None
        await client.aclose()


async def test_key_changes_and_filters(scripted_app: Any) -> None:
    async with scripted_app() as app:
        client, csrf = await admin_client(app)
        key_id = (await client.get("/v1/organizations/api_keys", headers=ADMIN)).json()["data"][0][
            "id"
        ]
        await client.post(f"/console/keys/{key_id}/rename", data={"csrf": csrf, "name": "renamed"})
        await client.post(
            f"/console/keys/{key_id}/deactivate", data={"csrf": csrf, "back": "status=inactive"}
        )
        assert (await client.post("/v1/messages", headers=DATA, json=BODY)).status_code == 401
        inactive = await client.get("/console/keys?status=inactive")
        assert "renamed" in inactive.text
        assert "renamed" not in (await client.get("/console/keys?status=active")).text
        await client.post(f"/console/keys/{key_id}/activate", data={"csrf": csrf})
        assert (await client.post("/v1/messages", headers=DATA, json=BODY)).status_code == 200
        wrong = await client.get("/console/keys?status=lost")
        assert wrong.status_code == 400 and "status: use one of" in wrong.text
        await client.aclose()


async def test_limits_forms(scripted_app: Any) -> None:
    async with scripted_app() as app:
        client, csrf = await admin_client(app)
        ws = (
            await client.post("/v1/organizations/workspaces", headers=ADMIN, json={"name": "w"})
        ).json()["id"]
        form = {
            "csrf": csrf,
            "scope": "organization",
            "group": "scripted",
            "requests_per_minute": "50",
        }
        await client.post("/console/limits/rate", data=form)
        listed = await client.get("/v1/organizations/rate_limits", headers=ADMIN)
        assert listed.json()["data"][0]["limits"] == [{"type": "requests_per_minute", "value": 50}]
        await client.post(
            "/console/limits/spend", data={"csrf": csrf, "scope": ws, "amount_usd": "$12.34"}
        )
        await client.post(
            "/console/limits/spend",
            data={"csrf": csrf, "scope": "organization", "amount_usd": "100"},
        )
        limits = await client.get("/v1/organizations/spend_limits", headers=ADMIN)
        amounts = {
            json.dumps(s["scope"], sort_keys=True): s["amount"] for s in limits.json()["data"]
        }
        assert (
            amounts[json.dumps({"type": "workspace", "workspace_id": ws}, sort_keys=True)] == "1234"
        )
        assert amounts[json.dumps({"type": "organization"})] == "10000"
        page = await client.get("/console/limits")
        assert "$12.34" in page.text and "$100.00" in page.text
        bad = await client.post("/console/limits/rate", data={**form, "requests_per_minute": "0"})
        assert bad.status_code == 400 and "at least 1" in bad.text
        assert (
            await client.post("/console/limits/spend", data={"csrf": csrf, "amount_usd": "1.001"})
        ).status_code == 400
        await client.aclose()


async def test_usage_page_and_csv(scripted_app: Any) -> None:
    async with scripted_app() as app:
        client, _ = await admin_client(app)
        for _ in range(3):
            await client.post("/v1/messages", headers=DATA, json=BODY)
        page = await client.get("/console/usage", follow_redirects=True)
        assert page.status_code == 200 and "scripted" in page.text
        query = (
            str(page.url.query, "utf-8") if isinstance(page.url.query, bytes) else page.url.query
        )
        exported = await client.get(f"/console/usage.csv?{query}&report=usage")
        assert exported.headers["content-disposition"].startswith("attachment")
        rows = list(csv.DictReader(io.StringIO(exported.text)))
        assert [(r["model"], r["requests"]) for r in rows] == [("scripted", "3")]
        cost = await client.get(f"/console/usage.csv?{query}&report=cost")
        (priced,) = csv.DictReader(io.StringIO(cost.text))
        assert (priced["model"], priced["currency"]) == ("scripted", "USD")
        await client.aclose()


async def test_batches_files_and_skills_pages(scripted_app: Any) -> None:
    async with scripted_app(batches={"worker_in_server": False}) as app:
        client, csrf = await admin_client(app)
        batch = await client.post(
            "/v1/messages/batches",
            headers=DATA,
            json={"requests": [{"custom_id": "a", "params": BODY}]},
        )
        batch_id = batch.json()["id"]
        assert batch_id in (await client.get("/console/batches")).text
        await client.post(f"/console/batches/{batch_id}/cancel", data={"csrf": csrf})
        results = await client.get(f"/console/batches/{batch_id}/results")
        assert json.loads(results.text.splitlines()[0])["result"]["type"] == "canceled"
        uploaded = await client.post(
            "/v1/files", headers=DATA, files={"file": ("n.txt", b"hi", "text/plain")}
        )
        file_id = uploaded.json()["id"]
        assert "n.txt" in (await client.get("/console/files")).text
        await client.post(f"/console/files/{file_id}/delete", data={"csrf": csrf})
        assert (await client.get(f"/v1/files/{file_id}", headers=DATA)).status_code == 404
        await _skills(client, csrf)
        assert "scripted" in (await client.get("/console/models")).text
        await client.aclose()


def _zip(description: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(
            "kind/SKILL.md", f"---\nname: kind\ndescription: {description}\n---\nBe kind.\n"
        )
    return out.getvalue()


async def _skills(client: httpx.AsyncClient, csrf: str) -> None:
    made = await client.post(
        "/console/skills",
        data={"csrf": csrf, "display_title": "Kind"},
        files={"archive": ("k.zip", _zip("One."))},
    )
    assert made.status_code == 303
    skills = (await client.get("/v1/skills", headers=DATA)).json()["data"]
    skill_id = skills[0]["id"]
    await client.post(
        f"/console/skills/{skill_id}/versions",
        data={"csrf": csrf},
        files={"archive": ("k.zip", _zip("Two."))},
    )
    versions = (await client.get(f"/v1/skills/{skill_id}/versions", headers=DATA)).json()["data"]
    assert len(versions) == 2
    assert "Two." in (await client.get("/console/skills")).text
    bad = await client.post(
        "/console/skills", data={"csrf": csrf}, files={"archive": ("x.zip", b"not a zip")}
    )
    assert bad.status_code == 400
    await client.post(f"/console/skills/{skill_id}/delete", data={"csrf": csrf})
    assert (await client.get(f"/v1/skills/{skill_id}", headers=DATA)).status_code == 404


async def test_saved_prompts(scripted_app: Any) -> None:
    async with scripted_app() as app, raw_client(app) as client:
        await sign_in(client, API_KEY)
        csrf = await page_csrf(client)
        headers = {"x-csrf-token": csrf, "accept": "application/json"}
        saved = await client.post(
            "/console/workbench/prompts",
            headers=headers,
            json={"name": "p", "request": {**BODY, "stream": True}},
        )
        prompt = saved.json()["id"]
        shown = await client.get(f"/console/workbench?prompt={prompt}")
        assert '"stream"' not in shown.text and "a b" in shown.text
        invalid = await client.post(
            "/console/workbench/prompts",
            headers=headers,
            json={"name": "p", "request": {"model": "scripted", "messages": []}},
        )
        assert invalid.status_code == 400
        assert invalid.json()["error"]["message"] == "max_tokens: Field required"
        forged = await client.post(
            "/console/workbench/prompts", headers={"accept": "application/json"}, json={}
        )
        assert forged.status_code == 403
        await client.post(f"/console/workbench/prompts/{prompt}/delete", data={"csrf": csrf})
        assert (await client.get(f"/console/workbench?prompt={prompt}")).status_code == 404


async def test_an_invite_is_redeemed_in_the_console(scripted_app: Any) -> None:
    async with scripted_app() as app, raw_client(app) as client:
        invite = await client.post(
            "/v1/organizations/invites",
            headers=ADMIN,
            json={"email": "ada@example.com", "role": "developer"},
        )
        token = invite.json()["accept_token"]
        form = await client.get("/console/invites/accept")
        csrf = form.text.split('name="csrf" value="')[1].split('"')[0]
        joined = await client.post(
            "/console/invites/accept", data={"csrf": csrf, "token": token, "name": "Ada"}
        )
        assert "you joined the organization as" in joined.text and "developer" in joined.text
        users = await client.get("/v1/organizations/users", headers=ADMIN)
        assert "ada@example.com" in [u["email"] for u in users.json()["data"]]
        again = await client.post(
            "/console/invites/accept", data={"csrf": csrf, "token": token, "name": "Ada"}
        )
        assert "accepted" in again.text


async def test_the_limits_page_shows_spend_only_to_roles_that_read_usage(
    scripted_app: Any,
) -> None:
    async with scripted_app() as app, raw_client(app) as client:
        svc = app.state.services
        await sign_in(client, ADMIN_KEY)
        assert "Cumulative spend" in (await client.get("/console/limits")).text
        invite = await client.post(
            "/v1/organizations/invites",
            headers=ADMIN,
            json={"email": "ada@example.com", "role": "developer"},
        )
        ada = await svc.invites.accept(invite.json()["accept_token"], name="Ada")
        await svc.users.set_role(ada.id, "admin", operator=True)
        await svc.users.set_role(svc.organization.owner_id, "developer", operator=True)
        page = await client.get("/console/limits")
        assert page.status_code == 200
        assert "Cumulative spend" not in page.text and 'id="spend"' not in page.text
        assert "Your role does not read usage and cost" in page.text
