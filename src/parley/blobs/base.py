"""The blob seam: put a stream atomically, read it back, delete it.

``put`` either stores every byte under ``key`` or nothing: a reader never sees a
partial blob, and a failed or abandoned upload leaves nothing behind.
"""

from __future__ import annotations

import errno
from collections.abc import AsyncIterator
from typing import Protocol

from parley.errors import InternalError, ParleyError, StorageUnavailable


class BlobTooLarge(Exception):
    """The stream went past ``max_bytes``; nothing was stored."""


_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_READ_ONLY = {errno.EROFS, errno.EACCES, errno.EPERM}


def storage_failed(exc: OSError) -> ParleyError:
    """What a client is told when blob storage refuses a write: nothing was stored, and
    why, so an operator seeing the message knows what to fix."""
    if exc.errno in _FULL:
        why = "its file storage is full"
    elif exc.errno in _READ_ONLY:
        why = "its file storage is read-only or not writable"
    else:
        return StorageUnavailable(
            f"Parley could not write to its file storage ({exc.strerror or exc}); nothing "
            "was stored. Retry the upload shortly."
        )
    return InternalError(f"Parley could not store the upload: {why}; nothing was stored.")


class BlobStore(Protocol):
    async def put(self, key: str, chunks: AsyncIterator[bytes], *, max_bytes: int) -> int:
        """Store the stream under ``key``; returns its size."""

    def get(self, key: str) -> AsyncIterator[bytes]:
        """The blob's bytes in chunks."""

    async def read(self, key: str) -> bytes: ...

    async def delete(self, key: str) -> None: ...

    async def cleanup(self) -> int:
        """Remove leftovers of interrupted uploads; returns how many."""
