"""The blob seam: put a stream atomically, read it back, delete it.

``put`` either stores every byte under ``key`` or nothing: a reader never sees a
partial blob, and a failed or abandoned upload leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol


class BlobTooLarge(Exception):
    """The stream went past ``max_bytes``; nothing was stored."""


class BlobStore(Protocol):
    async def put(self, key: str, chunks: AsyncIterator[bytes], *, max_bytes: int) -> int:
        """Store the stream under ``key``; returns its size."""

    def get(self, key: str) -> AsyncIterator[bytes]:
        """The blob's bytes in chunks."""

    async def read(self, key: str) -> bytes: ...

    async def delete(self, key: str) -> None: ...

    async def cleanup(self) -> int:
        """Remove leftovers of interrupted uploads; returns how many."""
