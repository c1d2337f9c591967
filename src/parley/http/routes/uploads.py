"""Reading ``multipart/form-data`` uploads, with the API's errors for bad ones."""

from __future__ import annotations

from fastapi import Request
from python_multipart.exceptions import MultipartParseError
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from parley.errors import InvalidRequestError


async def form(request: Request, *, max_files: int = 1000) -> FormData:
    kind = request.headers.get("content-type", "")
    if not kind.startswith("multipart/form-data"):
        raise InvalidRequestError(
            f"Content-Type must be multipart/form-data for uploads, not {kind or 'missing'!r}"
        )
    try:
        return await request.form(max_files=max_files, max_fields=1000)
    except ClientDisconnect:
        raise InvalidRequestError(
            "The client disconnected before the upload was complete."
        ) from None
    except (HTTPException, MultipartParseError, ValueError) as exc:
        detail = getattr(exc, "detail", None) or str(exc) or "incomplete body"
        raise InvalidRequestError(
            f"The multipart body could not be read ({detail}); send the complete upload again."
        ) from None


def uploads(data: FormData, *names: str) -> list[UploadFile]:
    return [v for name in names for v in data.getlist(name) if isinstance(v, UploadFile)]
