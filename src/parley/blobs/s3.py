"""Blobs in S3-compatible object storage (AWS S3, MinIO, Ceph, s3rver…), via boto3.

An upload is spooled to a local temporary file (never held whole in memory), then
sent with boto3's managed transfer, multipart for large blobs. S3 makes an object
visible only when its upload completes, and boto3 aborts a failed multipart upload,
so a reader never sees a partial blob. boto3 is synchronous: calls run in threads.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator
from typing import Any

import boto3
from boto3.exceptions import S3UploadFailedError
from botocore.exceptions import BotoCoreError, ClientError

from parley.blobs.base import BlobTooLarge, storage_failed
from parley.errors import StorageUnavailable

CHUNK = 1024 * 1024
SPOOL_IN_MEMORY = 8 * 1024 * 1024


class S3BlobStore:
    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
    ) -> None:
        self.bucket = bucket
        self.prefix = f"{prefix}/" if prefix else ""
        self._client: Any = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
        )

    async def put(self, key: str, chunks: AsyncIterator[bytes], *, max_bytes: int) -> int:
        size = 0
        try:
            with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as spool:
                async for chunk in chunks:  # the source's errors pass as they are
                    size += len(chunk)
                    if size > max_bytes:
                        raise BlobTooLarge(key)
                    _spool(spool, chunk)
                spool.seek(0)
                await asyncio.to_thread(
                    self._client.upload_fileobj, spool, self.bucket, self.prefix + key
                )
        except (BotoCoreError, ClientError, S3UploadFailedError) as exc:
            raise StorageUnavailable(
                f"Parley could not write to its object storage ({exc}); nothing was stored. "
                "Retry the upload shortly."
            ) from exc
        return size

    async def get(self, key: str) -> AsyncIterator[bytes]:
        response = await asyncio.to_thread(
            self._client.get_object, Bucket=self.bucket, Key=self.prefix + key
        )
        body = response["Body"]
        try:
            while chunk := await asyncio.to_thread(body.read, CHUNK):
                yield chunk
        finally:
            body.close()

    async def read(self, key: str) -> bytes:
        return b"".join([chunk async for chunk in self.get(key)])

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(
            self._client.delete_object, Bucket=self.bucket, Key=self.prefix + key
        )

    async def cleanup(self) -> int:
        """Abort multipart uploads a killed process left open (they are never visible)."""
        try:
            listing = await asyncio.to_thread(
                self._client.list_multipart_uploads, Bucket=self.bucket, Prefix=self.prefix
            )
        except ClientError:  # some S3-compatible servers do not list uploads
            return 0
        uploads = listing.get("Uploads", [])
        for upload in uploads:
            await asyncio.to_thread(
                self._client.abort_multipart_upload,
                Bucket=self.bucket,
                Key=upload["Key"],
                UploadId=upload["UploadId"],
            )
        return len(uploads)


def _spool(spool: Any, chunk: bytes) -> None:
    try:
        spool.write(chunk)
    except OSError as exc:  # the local disk the spool rolled over to
        raise storage_failed(exc) from exc
