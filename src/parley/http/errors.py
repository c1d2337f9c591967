"""The single place where exceptions become the API's error envelope.

``ParleyError`` subclasses carry their own type and status; request-validation errors
become 400 ``invalid_request_error`` naming the field path the way the API does
(``messages.0.content: Field required``); unknown routes are 404 and wrong methods 405
in the same envelope; anything unexpected is logged and answered as 500 ``api_error``
without internals. Requests in OpenAI's protocol (``http.dialect``) get the same
errors in OpenAI's envelope.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Scope

from parley.compat.openai.envelope import error_body as openai_error_body
from parley.errors import (
    InternalError,
    InvalidRequestError,
    NotFoundError,
    ParleyError,
    validation_message,
)
from parley.http.dialect import speaks_openai

log = logging.getLogger(__name__)


class MethodNotAllowedError(InvalidRequestError):
    status = 405


def request_id_of(request: Request) -> str | None:
    state = request.scope.get("state") or {}
    rid = state.get("request_id")
    return rid if isinstance(rid, str) else None


def error_body(error: ParleyError, scope: Scope, request_id: str | None) -> dict[str, Any]:
    """The envelope for ``error`` in the protocol of the request ``scope``."""
    return openai_error_body(error) if speaks_openai(scope) else error.body(request_id)


def error_response(error: ParleyError, request: Request) -> JSONResponse:
    body = error_body(error, request.scope, request_id_of(request))
    return JSONResponse(body, status_code=error.status, headers=error.headers)


async def _parley_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ParleyError)
    return error_response(exc, request)


async def _request_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    error = InvalidRequestError(validation_message(exc.errors()))
    return error_response(error, request)


async def _http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    error: ParleyError
    if exc.status_code == 404:
        error = NotFoundError("The requested resource could not be found.")
    elif exc.status_code == 405:
        error = MethodNotAllowedError(
            f"Method {request.method} is not allowed for {request.url.path}."
        )
    else:
        error = InvalidRequestError(str(exc.detail))
    return error_response(error, request)


def unexpected_error() -> InternalError:
    """What a client is told about an exception Parley did not expect."""
    return InternalError("Internal server error: Parley hit an unexpected error; see its log.")


def log_unexpected(scope: Scope, exc: BaseException) -> None:
    log.error("unhandled error on %s %s", scope.get("method"), scope.get("path"), exc_info=exc)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # Reached only for errors raised outside RequestContextMiddleware, which answers
    # the others itself with the same envelope.
    log_unexpected(request.scope, exc)
    return error_response(unexpected_error(), request)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ParleyError, _parley_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http_exception)
    app.add_exception_handler(Exception, _unexpected)
