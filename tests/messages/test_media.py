"""The one pass over a request's media (``messages.media``) and citations over it."""

from __future__ import annotations

import base64
import hashlib

from parley.messages.citations import citer_for
from parley.messages.media import Attachments, Loaded, scan
from parley.wire.requests import MessageCreateParams

PDF = base64.b64encode(b"%PDF-1.4 fake").decode()


def params(
    *content: dict[str, object], more: list[dict[str, object]] | None = None
) -> MessageCreateParams:
    messages = [{"role": "user", "content": list(content)}, *(more or [])]
    return MessageCreateParams.model_validate({"model": "m", "max_tokens": 1, "messages": messages})


def text_document(data: str, cite: bool = False) -> dict[str, object]:
    block: dict[str, object] = {
        "type": "document",
        "source": {"type": "text", "media_type": "text/plain", "data": data},
    }
    if cite:
        block["citations"] = {"enabled": True}
    return block


def test_scan_finds_every_block_once_with_its_path_and_key() -> None:
    image = {"type": "image", "source": {"type": "file", "file_id": "file_img"}}
    request = params(
        {"type": "text", "text": "look"},
        image,
        {
            "type": "document",
            "source": {"type": "base64", "media_type": "application/pdf", "data": PDF},
        },
        more=[
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_1",
                        "content": [text_document("inner")],
                    }
                ],
            },
        ],
    )
    media = scan(request.messages)
    assert [(r.path, r.key) for r in media.refs] == [
        ("messages.0.content.1", "file:file_img"),
        ("messages.0.content.2", "pdf:" + hashlib.sha256(PDF.encode()).hexdigest()),
        ("messages.2.content.0.tool_result.content.0", None),
    ]
    assert len(media.document_blocks) == 2


def test_attachments_give_each_block_what_it_was_loaded_into() -> None:
    request = params({"type": "document", "source": {"type": "file", "file_id": "file_1"}})
    loaded = Loaded("text/plain", pages=("body",))
    attachments = Attachments(scan(request.messages), {"file:file_1": loaded})
    block = attachments.media.refs[0].block
    assert attachments.of(block) == ("file:file_1", loaded)
    assert Attachments().of(block) == ("file:file_1", None)  # not loaded: nothing


def test_citer_only_over_documents_that_ask_for_citations() -> None:
    quiet = params(text_document("The quick brown fox jumps over the lazy dog."))
    assert citer_for(Attachments(scan(quiet.messages))) is None
    cited = params(text_document("The quick brown fox jumps over the lazy dog.", cite=True))
    citer = citer_for(Attachments(scan(cited.messages)))
    assert citer is not None
    found = citer.cite("Indeed the quick brown fox jumps over the lazy dog.")
    assert found and found[0]["document_index"] == 0 and found[0]["type"] == "char_location"


def test_pdf_citations_point_at_pages() -> None:
    request = params(
        {
            "type": "document",
            "source": {"type": "file", "file_id": "file_p"},
            "citations": {"enabled": True},
        }
    )
    pages = ("First page text here.", "The second page says something quite specific.")
    attachments = Attachments(
        scan(request.messages), {"file:file_p": Loaded("application/pdf", pages=pages)}
    )
    citer = citer_for(attachments)
    assert citer is not None
    found = citer.cite("The second page says something quite specific.")
    assert found[0]["type"] == "page_location"
    assert (found[0]["start_page_number"], found[0]["end_page_number"]) == (2, 3)
