"""Blobs in a local directory.

An upload is written to ``<root>/.incoming/<random>`` and renamed into place only when
complete (``os.replace`` is atomic on one filesystem), so readers never see a partial
blob. An upload that fails or whose client disconnects removes its temporary file; a
process killed mid-upload leaves one, which ``cleanup`` (run at start-up) removes.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from collections.abc import AsyncIterator
from pathlib import Path

from parley.blobs.base import BlobTooLarge

CHUNK = 1024 * 1024
STALE_SECONDS = 3600.0


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.incoming = self.root / ".incoming"
        self.incoming.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"blob key escapes the store: {key!r}")
        return path

    async def put(self, key: str, chunks: AsyncIterator[bytes], *, max_bytes: int) -> int:
        target = self._path(key)
        temporary = self.incoming / secrets.token_hex(16)
        size = 0
        try:
            with temporary.open("wb") as handle:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > max_bytes:
                        raise BlobTooLarge(key)
                    await asyncio.to_thread(handle.write, chunk)
                await asyncio.to_thread(os.fsync, handle.fileno())
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(temporary, target)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        return size

    async def get(self, key: str) -> AsyncIterator[bytes]:
        path = self._path(key)
        handle = await asyncio.to_thread(path.open, "rb")
        try:
            while chunk := await asyncio.to_thread(handle.read, CHUNK):
                yield chunk
        finally:
            handle.close()

    async def read(self, key: str) -> bytes:
        return await asyncio.to_thread(self._path(key).read_bytes)

    async def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    async def cleanup(self) -> int:
        cutoff = time.time() - STALE_SECONDS
        removed = 0
        for leftover in self.incoming.iterdir():
            if leftover.stat().st_mtime < cutoff:
                leftover.unlink(missing_ok=True)
                removed += 1
        return removed
