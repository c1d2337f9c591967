"""Blob storage behind one narrow seam (``base.BlobStore``): file and skill contents.

``local.py`` is a directory (the default, ``<data_dir>/blobs``); ``s3.py`` is any
S3-compatible object store, for several nodes. ``open_blob_store`` picks one by URL.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlparse

from parley.blobs.base import BlobStore, BlobTooLarge
from parley.blobs.local import LocalBlobStore

__all__ = ["BlobStore", "BlobTooLarge", "open_blob_store"]


def open_blob_store(url: str | None, data_dir: Path) -> BlobStore:
    """``None`` or ``file:///path`` → a directory; ``s3://bucket/prefix?endpoint_url=…``
    (plus ``region``, ``access_key_id``, ``secret_access_key``) → S3-compatible storage."""
    if not url:
        return LocalBlobStore(data_dir / "blobs")
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return LocalBlobStore(Path(parsed.path))
    if parsed.scheme == "s3":
        from parley.blobs.s3 import S3BlobStore

        query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        return S3BlobStore(parsed.netloc, parsed.path.strip("/"), **query)
    raise ValueError(f"blob store URL must be file:///path or s3://bucket/prefix, not {url!r}")
