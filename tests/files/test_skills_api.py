"""The Skills API with the official SDK (GA and beta clients), validation, isolation."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import anthropic
import pytest

from tests.admin.test_admin_api import admin_post, client_for, new_key
from tests.support import V1, raw_client, sdk_client


def skill_md(name: str = "release-notes", description: str = "Writes release notes.") -> bytes:
    return (
        f"---\nname: {name}\ndescription: {description}\n---\n\n# Steps\nRead the log.\n".encode()
    )


def files(name: str = "release-notes", **kwargs: Any) -> list[tuple[str, bytes]]:
    return [
        (f"{name}/SKILL.md", skill_md(name, **kwargs)),
        (f"{name}/scripts/collect.py", b"print('changes')\n"),
    ]


async def test_skill_lifecycle_with_the_ga_client(stored_app: Any) -> None:
    async with stored_app() as app:
        client = sdk_client(app)
        skill = await client.skills.create(files=files(), display_name="Release notes")
        assert skill.id.startswith("skill_") and skill.display_name == "Release notes"
        assert skill.source.type == "custom" and skill.latest_version_id.startswith("skver_")
        first = await client.skills.versions.retrieve(skill.latest_version_id, skill_id=skill.id)
        assert (first.name, first.description) == ("release-notes", "Writes release notes.")
        second = await client.skills.versions.create(
            skill.id, files=files(description="Writes better release notes.")
        )
        assert (await client.skills.retrieve(skill.id)).latest_version_id == second.id
        assert [v.id async for v in client.skills.versions.list(skill.id)] == [second.id, first.id]
        assert [s.id async for s in client.skills.list()] == [skill.id]
        async with raw_client(app) as http:
            archive = await http.get(
                f"/v1/skills/{skill.id}/versions/{second.id}/content", headers=V1
            )
        names = zipfile.ZipFile(io.BytesIO(archive.content)).namelist()
        assert sorted(names) == ["release-notes/SKILL.md", "release-notes/scripts/collect.py"]
        await client.skills.versions.delete(second.id, skill_id=skill.id)
        assert (await client.skills.retrieve(skill.id)).latest_version_id == first.id
        deleted = await client.skills.delete(skill.id)
        assert deleted.type == "skill_deleted"
        with pytest.raises(anthropic.NotFoundError):
            await client.skills.retrieve(skill.id)


async def test_beta_shapes_for_beta_clients(stored_app: Any) -> None:
    async with stored_app() as app, raw_client(app) as http:
        headers = {**V1, "anthropic-beta": "skills-2025-10-02"}
        upload = [("files[]", (path, data)) for path, data in files()]
        created = (
            await http.post(
                "/v1/skills", headers=headers, files=upload, data={"display_title": "Notes"}
            )
        ).json()
        assert created["display_title"] == "Notes" and created["latest_version"].isdigit()
        version = (
            await http.get(
                f"/v1/skills/{created['id']}/versions/{created['latest_version']}", headers=headers
            )
        ).json()
        assert version["version"] == created["latest_version"]
        assert version["directory"] == "release-notes"


async def test_a_zip_upload_works_too(stored_app: Any) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, data in files("zipped-skill"):
            archive.writestr(path, data)
    async with stored_app() as app:
        skill = await sdk_client(app).skills.create(files=[("skill.zip", buffer.getvalue())])
    assert skill.display_name == "zipped-skill"


@pytest.mark.parametrize(
    ("upload", "needle"),
    [
        (files("claude-helper"), 'must not contain "anthropic" or "claude"'),
        (files("Bad_Name"), "lowercase letters, digits and hyphens"),
        (files(description=""), "description: must be 1-1024 characters"),
        (files(description="<b>bold</b>"), "must not contain XML tags"),
        ([("a/README.md", b"hi")], "SKILL.md is missing"),
        ([("a/SKILL.md", skill_md("a")), ("b/x.py", b"")], "one top-level directory"),
        ([("a/SKILL.md", b"no front matter")], "YAML front matter"),
        ([("/abs/SKILL.md", skill_md("abs"))], "not a relative path"),
    ],
    ids=[
        "reserved-word",
        "bad-name",
        "no-description",
        "xml",
        "no-skill-md",
        "two-dirs",
        "no-front-matter",
        "absolute",
    ],
)
async def test_validation_errors(
    stored_app: Any, upload: list[tuple[str, bytes]], needle: str
) -> None:
    async with stored_app() as app:
        with pytest.raises(anthropic.BadRequestError) as info:
            await sdk_client(app).skills.create(files=upload)
    assert needle in info.value.body["error"]["message"]


async def test_new_version_keeps_the_name_and_skills_stay_in_their_workspace(
    stored_app: Any,
) -> None:
    async with stored_app() as app:
        client = sdk_client(app)
        skill = await client.skills.create(files=files())
        with pytest.raises(anthropic.BadRequestError):
            await client.skills.versions.create(skill.id, files=files("other-name"))
        workspace = (await admin_post(app, "/workspaces", {"name": "other"})).json()
        other = client_for(app, (await new_key(app, workspace["id"]))["api_key"])
        with pytest.raises(anthropic.NotFoundError):
            await other.skills.retrieve(skill.id)
        with pytest.raises(anthropic.NotFoundError):
            await other.skills.delete(skill.id)
        assert [s.id async for s in other.skills.list()] == []
