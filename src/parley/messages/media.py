"""A request's documents and images, found once: the one pass the pipeline shares.

``scan`` walks the messages once (tool results included) and returns every document
and image block with its field path and the key its content is loaded under, and the
search results in order (``RequestMedia``); the rules check media from it, the loader
(``documents.py``) loads from it, and the ``Attachments`` it returns — those blocks
with what they were loaded into — is what the translation renders and the citations
search. A leaf module: it knows the wire types and nothing else of the pipeline.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field

from pypdf import PdfReader
from pypdf.errors import PdfReadError, PyPdfError

from parley.errors import InvalidRequestError
from parley.wire.content import (
    Base64ImageSourceParam,
    Base64PDFSourceParam,
    DocumentBlockParam,
    FileSourceParam,
    ImageBlockParam,
    MessageParam,
    SearchResultBlockParam,
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
MediaBlockParam = DocumentBlockParam | ImageBlockParam


@dataclass(frozen=True)
class MediaRef:
    """One document or image block: where it is (``messages.0.content.1``, or
    ``….tool_result.content.0`` inside a tool result) and the key its content is loaded
    under (None for sources that need no loading: text, content blocks, URLs)."""

    path: str
    block: MediaBlockParam
    key: str | None


@dataclass(frozen=True)
class RequestMedia:
    refs: tuple[MediaRef, ...] = ()
    # In request order, tool results included: their index is a citation's.
    search_results: tuple[SearchResultBlockParam, ...] = ()

    @property
    def document_blocks(self) -> list[DocumentBlockParam]:
        """The document blocks, in request order (their index is a citation's)."""
        return [r.block for r in self.refs if isinstance(r.block, DocumentBlockParam)]


@dataclass(frozen=True)
class Attachments:
    """The request's media and what each key was loaded into."""

    media: RequestMedia = field(default_factory=RequestMedia)
    loaded: Documents = field(default_factory=dict)

    def of(self, block: MediaBlockParam) -> tuple[str | None, Loaded | None]:
        """The key of ``block`` and its loaded content (None when it needs none)."""
        for ref in self.media.refs:
            if ref.block is block:
                return ref.key, self.loaded.get(ref.key) if ref.key else None
        key = source_key(block.source)
        return key, self.loaded.get(key) if key else None


def scan(messages: list[MessageParam]) -> RequestMedia:
    """Every document and image block of ``messages``, and every search result, in
    order, once."""
    refs: list[MediaRef] = []
    results: list[SearchResultBlockParam] = []
    for i, message in enumerate(messages):
        for j, block in enumerate(message.content):
            path = f"messages.{i}.content.{j}"
            inside = block.content or [] if isinstance(block, ToolResultBlockParam) else []
            found: list[tuple[str, object]] = [(path, block)]
            found += [(f"{path}.tool_result.content.{k}", item) for k, item in enumerate(inside)]
            for where, item in found:
                if isinstance(item, DocumentBlockParam | ImageBlockParam):
                    refs.append(MediaRef(where, item, source_key(item.source)))
                elif isinstance(item, SearchResultBlockParam):
                    results.append(item)
    return RequestMedia(tuple(refs), tuple(results))


def source_key(source: object) -> str | None:
    if isinstance(source, FileSourceParam):
        return f"file:{source.file_id}"
    if isinstance(source, Base64PDFSourceParam):
        return "pdf:" + hashlib.sha256(source.data.encode()).hexdigest()
    if isinstance(source, Base64ImageSourceParam):
        return "image:" + hashlib.sha256(source.data.encode()).hexdigest()
    return None


# The hosted API reads at most 100 pages of a PDF; so does Parley, which extracts the
# text of every page up front.
MAX_PDF_PAGES = 100


def pdf_pages(data: bytes, where: str) -> tuple[str, ...]:
    """A PDF's text, page by page. pypdf parses untrusted bytes here: whatever it
    raises on a malformed file is the client's 400, never Parley's 500."""
    try:
        reader = PdfReader(io.BytesIO(data))
        count = len(reader.pages)
        if count > MAX_PDF_PAGES:
            raise InvalidRequestError(
                f"{where}: the PDF has {count} pages; Parley reads at most {MAX_PDF_PAGES}"
            )
        return tuple((page.extract_text() or "").strip() for page in reader.pages)
    except InvalidRequestError:
        raise
    except (PdfReadError, PyPdfError, RecursionError, MemoryError) as exc:
        raise InvalidRequestError(f"{where}: the PDF could not be read ({exc})") from None
    except Exception as exc:  # a malformed PDF can trip pypdf anywhere
        raise InvalidRequestError(
            f"{where}: the PDF could not be read ({type(exc).__name__})"
        ) from None
