"""Blobs in a local directory.

An upload is written to ``<root>/.incoming/<pid>-<random>`` and renamed into place only
when complete (``os.replace`` is atomic on one filesystem), so readers never see a
partial blob. An upload that fails or whose client disconnects removes its temporary
file; a process killed mid-upload leaves one, which ``cleanup`` (run at start-up)
removes once its writer is gone (or after an hour, for names it cannot read). A full
or read-only disk is a clear error (``base.storage_failed``), never a partial file.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

from parley.blobs.base import BlobTooLarge, storage_failed

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
        temporary = self.incoming / f"{os.getpid()}-{secrets.token_hex(16)}"
        size = 0
        try:
            with _storing():  # unbuffered: a full disk shows at the write, not at close
                handle = temporary.open("wb", buffering=0)
            with handle:
                # Errors of the source (a client that went away) pass as they are;
                # only the disk's own become storage errors.
                async for chunk in chunks:
                    size += len(chunk)
                    if size > max_bytes:
                        raise BlobTooLarge(key)
                    with _storing():
                        await asyncio.to_thread(handle.write, chunk)
                with _storing():
                    await asyncio.to_thread(os.fsync, handle.fileno())
            with _storing():
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(temporary, target)
        except BaseException:
            _remove(temporary)
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
            if not _writer_alive(leftover.name) or leftover.stat().st_mtime < cutoff:
                leftover.unlink(missing_ok=True)
                removed += 1
        return removed


@contextlib.contextmanager
def _storing() -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        raise storage_failed(exc) from exc


def _remove(temporary: Path) -> None:
    # On a read-only filesystem even removing a file that was never made fails; there
    # is then nothing to remove.
    with contextlib.suppress(OSError):
        temporary.unlink(missing_ok=True)


def _writer_alive(name: str) -> bool:
    """Whether the process that named this temporary file (``<pid>-…``) still runs."""
    pid, _, _ = name.partition("-")
    if not pid.isdigit() or int(pid) == os.getpid():
        return True  # ours; or a name that does not say, which ages out instead
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, under another user
    return True
