"""Citations for documents and search results with ``citations: {enabled: true}``.

When the answer repeats a source's words, the text block that contains them carries
a citation pointing there: ``char_location`` (character offsets, end exclusive) for
text documents, ``page_location`` (1-based pages, end exclusive) for PDFs,
``search_result_location`` (the result's content blocks, end exclusive) for search
results. A sentence of the answer cites a source when at least ``MIN_CHARS``
characters and half of the sentence appear in it verbatim (the longest common run,
found with ``difflib``); ``cited_text`` is that run as the document has it, or for a
search result the whole blocks the run falls in (the block is the smallest unit a
search result is cited by).

Claude marks up citations while writing; a local model does not, so Parley finds them
afterwards. Only quoted spans are cited, never paraphrases.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any, Protocol

from parley.messages.media import Attachments
from parley.wire.content import (
    ContentBlockSourceParam,
    DocumentBlockParam,
    PlainTextSourceParam,
    SearchResultBlockParam,
    TextBlockParam,
)

MIN_CHARS = 20
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")


class Citable(Protocol):
    """A source answers can cite: its text, and a citation of a span of it."""

    @property
    def text(self) -> str: ...

    def location(self, start: int, end: int) -> dict[str, Any]: ...


@dataclass(frozen=True)
class CitableDocument:
    index: int
    title: str | None
    pages: tuple[str, ...]
    paged: bool

    @property
    def text(self) -> str:
        return "\n".join(self.pages)

    def location(self, start: int, end: int) -> dict[str, Any]:
        return _location(self, start, end)


@dataclass(frozen=True)
class CitableSearchResult:
    index: int
    source: str
    title: str
    blocks: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n".join(self.blocks)

    def location(self, start: int, end: int) -> dict[str, Any]:
        """The blocks the span ``start:end`` of ``text`` touches."""
        first = last = 0
        offset = 0
        for number, block in enumerate(self.blocks):
            if offset <= start:
                first = number
            if offset < end:
                last = number
            offset += len(block) + 1
        return {
            "type": "search_result_location",
            "cited_text": "".join(self.blocks[first : last + 1]),
            "search_result_index": self.index,
            "source": self.source,
            "title": self.title,
            "start_block_index": first,
            "end_block_index": last + 1,
        }


class Citer:
    def __init__(self, documents: list[Citable]) -> None:
        self.documents = documents

    def cite(self, answer: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for match in _SENTENCE.finditer(answer):
            sentence = match.group().strip()
            if len(sentence) < MIN_CHARS:
                continue
            best = self._best(sentence)
            if best is not None and best not in found:
                found.append(best)
        return found

    def _best(self, sentence: str) -> dict[str, Any] | None:
        best: tuple[int, Citable, int] | None = None
        for document in self.documents:
            text = document.text
            matcher = difflib.SequenceMatcher(None, text, sentence, autojunk=False)
            start, _, size = matcher.find_longest_match(0, len(text), 0, len(sentence))
            if size >= max(MIN_CHARS, len(sentence) // 2) and (best is None or size > best[0]):
                best = (size, document, start)
        if best is None:
            return None
        size, document, start = best
        return document.location(start, start + size)


def _location(document: CitableDocument, start: int, end: int) -> dict[str, Any]:
    text = document.text
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    cited = text[start:end]
    base = {"cited_text": cited, "document_index": document.index, "document_title": document.title}
    if not document.paged:
        return {"type": "char_location", **base, "start_char_index": start, "end_char_index": end}
    offset, first = 0, 1
    for number, page in enumerate(document.pages, start=1):
        if start < offset + len(page) + 1:
            first = number
            break
        offset += len(page) + 1
    last = first
    while last < len(document.pages) and end > sum(len(p) + 1 for p in document.pages[:last]):
        last += 1
    return {
        "type": "page_location",
        **base,
        "start_page_number": first,
        "end_page_number": last + 1,
    }


def citer_for(attachments: Attachments) -> Citer | None:
    """A citer over the request's documents and search results that asked for
    citations, if any."""
    citable: list[Citable] = []
    for index, block in enumerate(attachments.media.document_blocks):
        if not (block.citations and block.citations.enabled):
            continue
        pages = _pages(block, attachments)
        if pages is None:
            continue
        _, loaded = attachments.of(block)
        citable.append(
            CitableDocument(index, block.title, pages, loaded is not None and loaded.is_pdf)
        )
    citable += [
        _search_result(index, result)
        for index, result in enumerate(attachments.media.search_results)
        if result.citations and result.citations.enabled
    ]
    return Citer(citable) if citable else None


def _search_result(index: int, block: SearchResultBlockParam) -> CitableSearchResult:
    return CitableSearchResult(
        index, block.source, block.title, tuple(b.text for b in block.content)
    )


def _pages(block: DocumentBlockParam, attachments: Attachments) -> tuple[str, ...] | None:
    source = block.source
    if isinstance(source, PlainTextSourceParam):
        return (source.data,)
    if isinstance(source, ContentBlockSourceParam):
        return ("\n".join(b.text for b in source.content if isinstance(b, TextBlockParam)),)
    _, loaded = attachments.of(block)
    return loaded.pages if loaded is not None else None
