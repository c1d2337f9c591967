"""What a request's documents and images were loaded into: text by page, or bytes.

A leaf module: ``documents.py`` fills these in, ``translate.py`` renders them.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass

from pypdf import PdfReader
from pypdf.errors import PdfReadError

from parley.errors import InvalidRequestError
from parley.wire.content import (
    Base64PDFSourceParam,
    DocumentBlockParam,
    FileSourceParam,
    ImageBlockParam,
    MessageParam,
    ToolResultBlockParam,
)

IMAGE_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp"}
TEXT_PREFIXES = ("text/", "application/json")


@dataclass(frozen=True)
class Loaded:
    """A document's text, page by page (one page for plain text), or an image's bytes."""

    media_type: str
    pages: tuple[str, ...] = ()
    data: bytes = b""

    @property
    def is_pdf(self) -> bool:
        return self.media_type == "application/pdf"


Documents = dict[str, Loaded]


def source_key(source: object) -> str | None:
    if isinstance(source, FileSourceParam):
        return f"file:{source.file_id}"
    if isinstance(source, Base64PDFSourceParam):
        return "pdf:" + hashlib.sha256(source.data.encode()).hexdigest()
    return None


def pdf_pages(data: bytes, where: str) -> tuple[str, ...]:
    try:
        reader = PdfReader(io.BytesIO(data))
        return tuple((page.extract_text() or "").strip() for page in reader.pages)
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise InvalidRequestError(f"{where}: the PDF could not be read ({exc})") from None


def media_blocks(
    messages: list[MessageParam],
) -> Iterator[tuple[str, DocumentBlockParam | ImageBlockParam]]:
    for i, message in enumerate(messages):
        for j, block in enumerate(message.content):
            path = f"messages.{i}.content.{j}"
            if isinstance(block, DocumentBlockParam | ImageBlockParam):
                yield path, block
            if isinstance(block, ToolResultBlockParam):
                for k, item in enumerate(block.content or []):
                    if isinstance(item, DocumentBlockParam | ImageBlockParam):
                        yield f"{path}.content.{k}", item
