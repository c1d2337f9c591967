"""Reading ``multipart/form-data`` uploads, with the API's errors for bad ones.

Parts are spooled by Starlette's parser (memory up to 1 MiB each, then a temporary
file), so an upload of any size holds at most that much memory. One correction: when
the body ends inside a part (an upload cut short), Starlette 1.10 drops that part
without closing its spooled file, leaving a file descriptor open until garbage
collection; ``_Parser`` closes it.
"""

from __future__ import annotations

from contextlib import aclosing

from fastapi import Request
from python_multipart.exceptions import MultipartParseError
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import ClientDisconnect

from parley.errors import InvalidRequestError


class _Parser(MultiPartParser):
    async def parse(self) -> FormData:
        form = await super().parse()
        kept = {id(v.file) for _, v in form.multi_items() if isinstance(v, UploadFile)}
        for spooled in self._files_to_close_on_error:
            if id(spooled) not in kept:
                spooled.close()
        return form


async def form(request: Request, *, max_files: int = 1000) -> FormData:
    kind = request.headers.get("content-type", "")
    if not kind.startswith("multipart/form-data"):
        raise InvalidRequestError(
            f"Content-Type must be multipart/form-data for uploads, not {kind or 'missing'!r}"
        )
    try:
        async with aclosing(request.stream()) as stream:
            return await _Parser(
                request.headers, stream, max_files=max_files, max_fields=1000
            ).parse()
    except ClientDisconnect:
        raise InvalidRequestError(
            "The client disconnected before the upload was complete."
        ) from None
    except (MultiPartException, MultipartParseError, ValueError) as exc:
        detail = getattr(exc, "message", None) or str(exc) or "incomplete body"
        raise InvalidRequestError(
            f"The multipart body could not be read ({detail}); send the complete upload again."
        ) from None


def uploads(data: FormData, *names: str) -> list[UploadFile]:
    return [v for name in names for v in data.getlist(name) if isinstance(v, UploadFile)]
