"""AWS Signature Version 4, checked on the server with botocore's own signer.

A client signs with an access key id and a secret. Parley stores keys only as salted
hashes, so it cannot hold a secret to check a signature against; instead both halves
are the Parley key itself: ``aws_access_key`` = ``aws_secret_key`` = the key. The
access key id travels in the clear, so this is exactly as strong as sending the key as
``x-api-key`` (anyone who reads one request can sign others), no stronger: what the
signature adds is that the method, path, query, signed headers and body (always
hashed here; a client's own ``x-amz-content-sha256`` must match it) are those its
signer meant, within ``MAX_SKEW`` of now. Headers that change what a request means
(``anthropic-*``) count only when signed.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from parley.errors import AuthenticationError

SCHEME = "AWS4-HMAC-SHA256"
MAX_SKEW = 300.0  # seconds between the client's X-Amz-Date and the server's clock
_AUTHORIZATION = re.compile(
    SCHEME + r"\s+Credential=(?P<key>[^/,\s]+)/(?P<date>\d{8})/(?P<region>[^/,\s]+)/"
    r"(?P<service>[^/,\s]+)/aws4_request,\s*SignedHeaders=(?P<signed>[a-z0-9;-]+),"
    r"\s*Signature=(?P<signature>[0-9a-f]{64})\s*$"
)


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """What the server saw: the URL as the client addressed it, and the raw body."""

    method: str
    url: str
    headers: Mapping[str, str]  # lower-case names
    body: bytes


def is_signed(authorization: str | None) -> bool:
    return bool(authorization) and str(authorization).startswith(SCHEME + " ")


def verify(request: SignedRequest, *, now: datetime | None = None) -> str:
    """The access key id of a correctly signed ``request``; raises 401 otherwise."""
    found = _AUTHORIZATION.match(request.headers.get("authorization", ""))
    if found is None:
        raise AuthenticationError(
            f"Authorization: not a valid {SCHEME} header (Credential, SignedHeaders, Signature)."
        )
    stamp = request.headers.get("x-amz-date", "")
    _check_time(stamp, found["date"], now or datetime.now(UTC))
    signed = found["signed"].split(";")
    _check_headers(request, signed)
    key = found["key"]
    try:
        expected = _signature(request, signed, key, found["region"], found["service"], stamp)
    except ValueError:  # a URL botocore cannot split (a malformed Host, say)
        raise AuthenticationError("The request's URL cannot be signed: check Host.") from None
    if not hmac.compare_digest(expected.encode(), found["signature"].encode()):
        raise AuthenticationError(
            "The request signature does not match: sign with the Parley key as both the "
            "AWS access key id and the secret key."
        )
    return key


def _check_headers(request: SignedRequest, signed: list[str]) -> None:
    if "host" not in signed:
        raise AuthenticationError("SignedHeaders must include host.")
    missing = [name for name in signed if name not in request.headers]
    if missing:
        raise AuthenticationError(f"SignedHeaders names headers the request lacks: {missing}")
    unsigned = [n for n in request.headers if n.startswith("anthropic-") and n not in signed]
    if unsigned:
        raise AuthenticationError(f"These headers must be signed too: {', '.join(unsigned)}.")
    claimed = request.headers.get("x-amz-content-sha256")
    if claimed is not None and claimed != hashlib.sha256(request.body).hexdigest():
        raise AuthenticationError(
            "x-amz-content-sha256 is not the SHA-256 of the body (unsigned payloads are "
            "not accepted)."
        )


def _check_time(stamp: str, scope_date: str, now: datetime) -> None:
    try:
        signed_at = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise AuthenticationError("X-Amz-Date: missing or not YYYYMMDDTHHMMSSZ.") from None
    if stamp[:8] != scope_date:
        raise AuthenticationError("X-Amz-Date: not the date of the credential scope.")
    if abs((now - signed_at).total_seconds()) > MAX_SKEW:
        raise AuthenticationError(
            f"Signature expired: X-Amz-Date {stamp} is more than {MAX_SKEW:g} s from "
            "the server's clock."
        )


def _signature(
    request: SignedRequest, signed: list[str], key: str, region: str, service: str, stamp: str
) -> str:
    headers = {name: request.headers[name] for name in signed}
    rebuilt = AWSRequest(method=request.method, url=request.url, headers=headers, data=request.body)
    rebuilt.context["timestamp"] = stamp
    signer = SigV4Auth(Credentials(key, key), service, region)
    canonical = signer.canonical_request(rebuilt)
    signature: str = signer.signature(signer.string_to_sign(rebuilt, canonical), rebuilt)
    return signature
