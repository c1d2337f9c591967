"""The Files API: upload, list, retrieve, download, delete (reference §7).

An upload streams from the request's multipart part into blob storage (the form
parser spools large parts to disk; nothing holds a whole file in memory), then its
metadata row is written; if that fails, the blob is removed, so no orphan stays.
The MIME type comes from the file's first bytes (signatures for PDF and images, UTF-8
for text), not only from the name or the client's claim. Files belong to their
workspace: another workspace's key gets 404. Uploaded files cannot be downloaded
(``downloadable: false``), as on the API.
"""

from __future__ import annotations

import mimetypes
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Protocol

import filetype

from parley.blobs import BlobStore, BlobTooLarge
from parley.config import FilesSettings
from parley.errors import InvalidRequestError, NotFoundError, RequestTooLargeError
from parley.ids import new_id
from parley.storage import files as store
from parley.storage.db import Database, utc
from parley.storage.tables import StoredFile
from parley.wire.files import FileMetadata

SNIFF_BYTES = 8192
FORBIDDEN = set('<>:"|?*\\/') | {chr(c) for c in range(32)}
TEXT_TYPES = {
    "text/plain",
    "text/csv",
    "text/markdown",
    "application/json",
    "text/html",
    "text/xml",
}


class Upload(Protocol):
    """What Starlette's ``UploadFile`` offers."""

    @property
    def filename(self) -> str | None: ...

    @property
    def content_type(self) -> str | None: ...

    async def read(self, size: int = -1) -> bytes: ...


def check_filename(name: str | None) -> str:
    if not name or not 1 <= len(name) <= 255:
        raise InvalidRequestError("file: the filename must be 1 to 255 characters long")
    bad = sorted(set(name) & FORBIDDEN)
    if bad:
        shown = ", ".join(repr(c) for c in bad)
        raise InvalidRequestError(
            f"file: the filename may not contain {shown} (path separators and "
            '< > : " | ? * or control characters)'
        )
    return name


def sniff(head: bytes, filename: str, claimed: str | None) -> str:
    kind = filetype.guess(head)
    if kind is not None:
        return str(kind.mime)
    guessed = mimetypes.guess_type(filename)[0]
    try:
        head.decode("utf-8")
        is_text = True
    except UnicodeDecodeError as exc:
        is_text = exc.start > len(head) - 4  # a character cut at the sniffing boundary
    if is_text:
        return guessed if guessed in TEXT_TYPES else "text/plain"
    return claimed or guessed or "application/octet-stream"


def file_out(row: StoredFile) -> FileMetadata:
    return FileMetadata(
        id=row.id,
        filename=row.filename,
        mime_type=row.mime_type,
        size_bytes=row.size_bytes,
        created_at=utc(row.created_at),
        downloadable=row.downloadable,
        expires_at=utc(row.expires_at),
    )


class FileService:
    def __init__(self, db: Database, blobs: BlobStore, settings: FilesSettings) -> None:
        self.db = db
        self.blobs = blobs
        self.settings = settings

    async def upload(
        self, upload: Upload, workspace_id: str | None, expires_in_seconds: int | None = None
    ) -> FileMetadata:
        filename = check_filename(upload.filename)
        head = await upload.read(SNIFF_BYTES)
        if not head:
            raise InvalidRequestError("file: the uploaded file is empty")
        file_id = new_id("file")
        key = f"files/{file_id}"
        try:
            size = await self.blobs.put(
                key, _chunks(head, upload), max_bytes=self.settings.max_file_bytes
            )
        except BlobTooLarge:
            limit = self.settings.max_file_bytes // (1024 * 1024)
            raise RequestTooLargeError(
                f"File exceeds the maximum allowed size of {limit} MB."
            ) from None
        now = datetime.now(UTC)
        row = StoredFile(
            id=file_id,
            workspace_id=workspace_id,
            filename=filename,
            mime_type=sniff(head, filename, upload.content_type),
            size_bytes=size,
            downloadable=False,
            blob_key=key,
            created_at=now,
            expires_at=now + timedelta(seconds=expires_in_seconds) if expires_in_seconds else None,
        )
        try:
            async with self.db.write() as session:
                if await store.stored_bytes(session) + size > self.settings.storage_quota_bytes:
                    raise InvalidRequestError(
                        "Your organization has reached its file storage limit; delete files "
                        "before uploading more."
                    )
                session.add(row)
        except BaseException:
            await self.blobs.delete(key)
            raise
        return file_out(row)

    async def get(self, file_id: str, workspace_id: str | None) -> StoredFile:
        async with self.db.read() as session:
            row = await store.file(session, file_id, workspace_id)
        if row is None:
            raise NotFoundError(f"File `{file_id}` not found.")
        expires = utc(row.expires_at)
        if expires is not None and expires <= datetime.now(UTC):
            raise NotFoundError(f"File `{file_id}` has expired.")
        return row

    async def page(
        self,
        workspace_id: str | None,
        *,
        limit: int,
        before_id: str | None,
        after_id: str | None,
        ids: list[str] | None,
    ) -> tuple[list[FileMetadata], bool]:
        async with self.db.read() as session:
            rows, more = await store.files_page(
                session, workspace_id, limit=limit, before_id=before_id, after_id=after_id, ids=ids
            )
        return [file_out(r) for r in rows], more

    async def content(
        self, file_id: str, workspace_id: str | None
    ) -> tuple[StoredFile, AsyncIterator[bytes]]:
        row = await self.get(file_id, workspace_id)
        if not row.downloadable:
            raise InvalidRequestError(
                f"File `{file_id}` cannot be downloaded: only files created by Claude (skills, "
                "code execution) are downloadable, not uploaded ones."
            )
        return row, self.blobs.get(row.blob_key)

    async def read(self, row: StoredFile) -> bytes:
        return await self.blobs.read(row.blob_key)

    async def delete(self, file_id: str, workspace_id: str | None) -> None:
        async with self.db.write() as session:
            row = await store.file(session, file_id, workspace_id)
            if row is None:
                raise NotFoundError(f"File `{file_id}` not found.")
            await session.delete(row)
        await self.blobs.delete(row.blob_key)


async def _chunks(head: bytes, upload: Upload) -> AsyncIterator[bytes]:
    yield head
    while chunk := await upload.read(1024 * 1024):
        yield chunk
