"""Documents and images a request refers to, loaded before translation.

``DocumentLoader.load`` takes the request's media as ``media.scan`` found them, loads
every ``file`` source from the Files API (workspace-scoped: another workspace's file
is "not found") and extracts the text of every PDF, ``file`` or ``base64``, page by page
with pypdf (in a worker thread). Translation then renders what was loaded, and
count_tokens goes through the same path, so both count a document the same way.
"""

from __future__ import annotations

import asyncio
import base64

import filetype

from parley.errors import InvalidRequestError
from parley.files import FileService
from parley.messages.media import (
    IMAGE_TYPES,
    TEXT_PREFIXES,
    Attachments,
    Documents,
    Loaded,
    RequestMedia,
    pdf_pages,
)
from parley.wire.content import (
    Base64ImageSourceParam,
    Base64PDFSourceParam,
    DocumentBlockParam,
    FileSourceParam,
    ImageBlockParam,
)


class DocumentLoader:
    def __init__(self, files: FileService) -> None:
        self.files = files

    async def load(self, media: RequestMedia, workspace_id: str | None) -> Attachments:
        loaded: Documents = {}
        for ref in media.refs:
            path, block, key = ref.path, ref.block, ref.key
            if key is None or key in loaded:
                continue
            if isinstance(block.source, Base64PDFSourceParam):
                raw = _decoded(block.source.data, path)
                pages = await asyncio.to_thread(pdf_pages, raw, path)
                loaded[key] = Loaded("application/pdf", pages=pages)
            elif isinstance(block.source, Base64ImageSourceParam):
                raw = _decoded(block.source.data, path)
                loaded[key] = Loaded(_image_type(raw, block.source.media_type, path), data=raw)
            elif isinstance(block.source, FileSourceParam):
                loaded[key] = await self._file(path, block, block.source.file_id, workspace_id)
        return Attachments(media, loaded)

    async def _file(
        self,
        path: str,
        block: DocumentBlockParam | ImageBlockParam,
        file_id: str,
        workspace_id: str | None,
    ) -> Loaded:
        row = await self.files.get(file_id, workspace_id)
        mime = row.mime_type
        if isinstance(block, ImageBlockParam):
            if mime not in IMAGE_TYPES:
                raise InvalidRequestError(
                    f"{path}: file `{file_id}` is {mime}, not an image; send it in a document block"
                )
            return Loaded(mime, data=await self.files.read(row))
        if mime == "application/pdf":
            pages = await asyncio.to_thread(pdf_pages, await self.files.read(row), path)
            return Loaded(mime, pages=pages)
        if mime.startswith(TEXT_PREFIXES):
            text = (await self.files.read(row)).decode("utf-8", errors="replace")
            return Loaded(mime, pages=(text,))
        raise InvalidRequestError(
            f"{path}: file `{file_id}` is {mime}; document blocks take PDF or plain-text files"
        )


def _decoded(data: str, path: str) -> bytes:
    try:
        return base64.b64decode(data, validate=True)
    except ValueError:
        raise InvalidRequestError(f"{path}.source.data: not valid base64") from None


def _image_type(raw: bytes, declared: str, path: str) -> str:
    """``declared``, when the bytes are that kind of image (as the API checks)."""
    found = filetype.guess(raw)
    actual = found.mime if found is not None else None
    if actual != declared:
        what = actual or "not an image Parley recognises"
        raise InvalidRequestError(
            f"{path}.source: the image data is {what}, but media_type says {declared}"
        )
    return declared
