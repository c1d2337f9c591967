"""Data-plane API keys: verification, and the key a fresh install starts with.

Keys come from config (``auth.api_keys``). When none are configured and open access
is not explicitly switched on, the first start generates one, writes it to
``<data_dir>/initial-api-key`` (mode 0600) and prints it once; later starts read it
back. Comparison is constant-time.
"""

from __future__ import annotations

import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from parley.config import Settings
from parley.errors import AuthenticationError

API_KEY_PREFIX = "sk-parley-api01-"
INITIAL_KEY_FILE = "initial-api-key"


@dataclass(frozen=True)
class Principal:
    """Who is calling; ``key_hint`` is safe to log."""

    key_hint: str


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def hint(key: str) -> str:
    return f"{key[:16]}…{key[-4:]}"


class KeyVerifier:
    def __init__(self, keys: list[str], *, open_access: bool) -> None:
        self._keys = [k.encode() for k in keys]
        self.open_access = open_access

    def verify(self, presented: str | None) -> Principal:
        if presented is None:
            if self.open_access:
                return Principal(key_hint="open-access")
            raise AuthenticationError("x-api-key header is required")
        candidate = presented.encode()
        # Compare against every key so timing does not reveal which prefix matched.
        matched = False
        for key in self._keys:
            matched |= hmac.compare_digest(candidate, key)
        if matched or self.open_access:
            return Principal(key_hint=hint(presented))
        raise AuthenticationError("invalid x-api-key")


def ensure_initial_key(settings: Settings) -> tuple[str, bool] | None:
    """The generated key and whether it was created now; None when not needed."""
    if settings.auth.api_keys or settings.auth.open_access:
        return None
    path = Path(settings.data_dir) / INITIAL_KEY_FILE
    if path.is_file():
        return path.read_text().strip(), False
    path.parent.mkdir(parents=True, exist_ok=True)
    key = new_api_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key, True


def verifier_for(settings: Settings) -> tuple[KeyVerifier, tuple[str, bool] | None]:
    keys = [k.get_secret_value() for k in settings.auth.api_keys]
    initial = ensure_initial_key(settings)
    if initial is not None:
        keys.append(initial[0])
    return KeyVerifier(keys, open_access=settings.auth.open_access), initial
