"""The Files API with the official SDK, files in messages, and bad uploads."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import anthropic
import pytest

from parley.backends.base import Finished, GenerationRequest, TextChunk, TextPart
from parley.backends.scripted import ScriptedBackend
from tests.admin.test_admin_api import admin_post, client_for, new_key
from tests.fixtures.pdf import make_pdf
from tests.support import V1, raw_client, sdk_client

NOTES = b"Lighthouses guide ships at night. The keeper trims the wick at dusk every evening."
PDF = make_pdf(["The secret code is PINEAPPLE-42.", "Page two mentions lighthouses and storms."])


def document(file_id: str, **extra: Any) -> dict[str, Any]:
    return {"type": "document", "source": {"type": "file", "file_id": file_id}, **extra}


def ask(*blocks: dict[str, Any], question: str = "What does it say?") -> list[dict[str, Any]]:
    return [{"role": "user", "content": [*blocks, {"type": "text", "text": question}]}]


def prompt_text(request: GenerationRequest) -> str:
    return "\n".join(p.text for t in request.turns for p in t.parts if isinstance(p, TextPart))


async def test_upload_list_retrieve_delete(stored_app: Any) -> None:
    async with stored_app() as app:
        client = sdk_client(app)
        uploaded = await client.files.upload(file=("notes.txt", NOTES, "text/plain"))
        assert uploaded.id.startswith("file_") and uploaded.type == "file"
        assert (uploaded.filename, uploaded.mime_type, uploaded.size_bytes) == (
            "notes.txt",
            "text/plain",
            len(NOTES),
        )
        assert uploaded.downloadable is False
        pdf = await client.files.upload(file=("disguised.txt", PDF, "text/plain"))
        assert pdf.mime_type == "application/pdf"  # from the content, not the name or claim
        assert [f.id async for f in client.files.list(limit=1)] == [pdf.id, uploaded.id]
        assert (await client.files.retrieve_metadata(uploaded.id)).filename == "notes.txt"
        with pytest.raises(anthropic.BadRequestError):
            await client.files.download(uploaded.id)
        beta = await client.beta.files.list()
        assert {f.id for f in beta.data} == {pdf.id, uploaded.id}
        assert (await client.files.delete(uploaded.id)).id == uploaded.id
        with pytest.raises(anthropic.NotFoundError):
            await client.files.retrieve_metadata(uploaded.id)


async def test_files_are_invisible_to_other_workspaces(stored_app: Any) -> None:
    async with stored_app() as app:
        mine = await sdk_client(app).files.upload(file=("notes.txt", NOTES, "text/plain"))
        workspace = (await admin_post(app, "/workspaces", {"name": "other"})).json()
        other = client_for(app, (await new_key(app, workspace["id"]))["api_key"])
        with pytest.raises(anthropic.NotFoundError):
            await other.files.retrieve_metadata(mine.id)
        with pytest.raises(anthropic.NotFoundError):
            await other.files.delete(mine.id)
        with pytest.raises(anthropic.NotFoundError) as info:
            await other.messages.create(
                model="scripted", max_tokens=5, messages=ask(document(mine.id))
            )
        assert info.value.body["error"]["message"] == f"File `{mine.id}` not found."
        assert (await other.files.list()).data == []


async def test_text_file_and_pdf_reach_the_model_and_are_counted(scripted_app: Any) -> None:
    backend = ScriptedBackend()
    async with scripted_app(backend) as app:
        client = sdk_client(app)
        notes = await client.files.upload(file=("notes.txt", NOTES, "text/plain"))
        pdf = await client.files.upload(file=("code.pdf", PDF, "application/pdf"))
        inline = {
            "type": "document",
            "title": "inline",
            "source": {
                "type": "base64",
                "media_type": "application/pdf",
                "data": base64.b64encode(PDF).decode(),
            },
        }
        messages = ask(document(notes.id, title="Notes"), document(pdf.id), inline)
        counted = await client.messages.count_tokens(model="scripted", messages=messages)
        message = await client.messages.create(model="scripted", max_tokens=5, messages=messages)
    text = prompt_text(backend.requests[-1])
    assert "<title>Notes</title>\nLighthouses guide ships at night." in text
    assert '<page number="1">\nThe secret code is PINEAPPLE-42.\n</page>' in text
    assert text.count('<page number="2">') == 2  # the file and the inline copy
    assert counted.input_tokens == message.usage.input_tokens


def quote(sentence: str) -> Any:
    def script(_: GenerationRequest) -> list[Any]:
        return [
            TextChunk(f"As the notes put it: {sentence} That is all."),
            Finished("end_turn", 12),
        ]

    return script


async def test_citations_point_at_quoted_spans(scripted_app: Any) -> None:
    sentence = "The keeper trims the wick at dusk every evening."
    async with scripted_app(ScriptedBackend(quote(sentence))) as app:
        client = sdk_client(app)
        notes = await client.files.upload(file=("notes.txt", NOTES, "text/plain"))
        messages = ask(document(notes.id, title="Notes", citations={"enabled": True}))
        message = await client.messages.create(model="scripted", max_tokens=50, messages=messages)
        async with client.messages.stream(
            model="scripted", max_tokens=50, messages=messages
        ) as stream:
            kinds = [e.delta.type async for e in stream if e.type == "content_block_delta"]
            streamed = await stream.get_final_message()
    citation = message.content[0].citations[0]  # type: ignore[union-attr,index]
    assert citation.type == "char_location"
    assert citation.cited_text == sentence
    assert NOTES.decode()[citation.start_char_index : citation.end_char_index] == sentence
    assert (citation.document_index, citation.document_title) == (0, "Notes")
    assert "citations_delta" in kinds
    assert streamed.content[0].citations == message.content[0].citations  # type: ignore[union-attr]


async def test_pdf_citations_name_the_page(scripted_app: Any) -> None:
    sentence = "Page two mentions lighthouses and storms."
    async with scripted_app(ScriptedBackend(quote(sentence))) as app:
        client = sdk_client(app)
        pdf = await client.files.upload(file=("code.pdf", PDF, "application/pdf"))
        message = await client.messages.create(
            model="scripted",
            max_tokens=50,
            messages=ask(document(pdf.id, citations={"enabled": True})),
        )
    citation = message.content[0].citations[0]  # type: ignore[union-attr,index]
    assert citation.type == "page_location"
    assert (citation.start_page_number, citation.end_page_number) == (2, 3)


async def test_document_and_image_mismatches(scripted_app: Any) -> None:
    async with scripted_app() as app:
        client = sdk_client(app)
        notes = await client.files.upload(file=("notes.txt", NOTES, "text/plain"))
        with pytest.raises(anthropic.BadRequestError) as mixed:
            await client.messages.create(
                model="scripted",
                max_tokens=5,
                messages=ask(document(notes.id, citations={"enabled": True}), document(notes.id)),
            )
        assert "all or none" in mixed.value.body["error"]["message"]
        with pytest.raises(anthropic.BadRequestError) as image:
            await client.messages.create(
                model="scripted",
                max_tokens=5,
                messages=ask({"type": "image", "source": {"type": "file", "file_id": notes.id}}),
            )
        assert "text-only model" in image.value.body["error"]["message"]


BOUNDARY = "parley-test-boundary"


def multipart(filename: str, data: bytes, *, content_type: str = "text/plain") -> bytes:
    return (
        (
            f"--{BOUNDARY}\r\n"
            f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


@pytest.mark.parametrize(
    ("body", "content_type", "status", "needle"),
    [
        (json.dumps({"file": "x"}).encode(), "application/json", 400, "multipart/form-data"),
        (multipart("empty.txt", b""), None, 400, "empty"),
        (multipart("../etc/passwd", b"x"), None, 400, "may not contain '/'"),
        (multipart("a\\b.txt", b"x"), None, 400, "may not contain"),
        (multipart("notes.txt", NOTES)[:-40], None, 400, "cut short"),
    ],
    ids=["json", "empty", "slash", "backslash", "truncated"],
)
async def test_bad_uploads_leave_nothing_behind(
    scripted_app: Any,
    tmp_path: Path,
    body: bytes,
    content_type: str | None,
    status: int,
    needle: str,
) -> None:
    headers = {**V1, "content-type": content_type or f"multipart/form-data; boundary={BOUNDARY}"}
    async with scripted_app() as app, raw_client(app) as http:
        response = await http.post("/v1/files", headers=headers, content=body)
        listed = await http.get("/v1/files", headers=V1)
    assert response.status_code == status, response.text
    assert needle in response.json()["error"]["message"]
    assert listed.json()["data"] == []
    blobs = tmp_path / "blobs"
    assert not list((blobs / ".incoming").iterdir())
    assert not (blobs / "files").exists() or not list((blobs / "files").iterdir())


async def test_file_over_the_limit_is_413(scripted_app: Any, tmp_path: Path) -> None:
    async with scripted_app(files={"max_file_bytes": 1000}) as app, raw_client(app) as http:
        headers = {**V1, "content-type": f"multipart/form-data; boundary={BOUNDARY}"}
        streamed = await http.post(
            "/v1/files", headers=headers, content=multipart("big.txt", b"x" * 1500)
        )
        declared = await http.post(
            "/v1/files", headers=headers, content=multipart("big.txt", b"x" * 2_000_000)
        )
    assert streamed.status_code == 413 and streamed.json()["error"]["type"] == "request_too_large"
    assert declared.status_code == 413
    assert not list((tmp_path / "blobs" / ".incoming").iterdir())


async def test_storage_quota(scripted_app: Any) -> None:
    async with scripted_app(files={"storage_quota_bytes": 100}) as app:
        client = sdk_client(app)
        await client.files.upload(file=("a.txt", b"a" * 80, "text/plain"))
        with pytest.raises(anthropic.BadRequestError) as info:
            await client.files.upload(file=("b.txt", b"b" * 80, "text/plain"))
    assert "storage limit" in info.value.body["error"]["message"]
