"""Signatures of the blocks Parley writes: what it wrote comes back unchanged, or not at all.

Three kinds of block carry a signature, each under its own label so that one kind's
signature never passes for another's:

- a ``thinking`` block: base64 of HMAC-SHA256, under the deployment's secret, over the
  thinking text;
- a ``thinking`` block whose text was left out (``display: "omitted"``): the block comes
  back with ``thinking: ""``, so its signature carries the SHA-256 of the hidden text
  and an HMAC over that digest;
- a ``compaction`` block: an HMAC over the summary.

A request that sends such a block back (an agent loop replays the assistant's turns)
must carry that signature: a block whose text was edited, or whose signature another
deployment (or Anthropic) made, is refused with the API's 400. What a signature proves:
this deployment's model wrote exactly this text (for an omitted block: some text it
wrote, whose digest the signature holds). It does not prove which request or
conversation it came from, and it says nothing to anyone without the secret.

``redacted_thinking`` blocks hold another provider's encrypted thinking, which Parley
cannot read or check, so they are refused the same way. A compaction block without a
signature (written by an SDK before 2.15, which had no such field) is accepted.

The secret is ``auth.signing_secret``. Without one, each process makes a random one
when it starts and keeps it in memory only (no secret is ever written to the data
directory): its blocks verify until it restarts, and only on it. A deployment of
several processes, or one whose conversations outlive a restart, sets the secret.
Thinking is checked only for reasoning models: a model that does not think drops
replayed thinking unread (a conversation begun with hosted Claude can go on here), and
models behind a passthrough backend get the blocks as they are, for their upstream to
check.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

from parley.errors import InvalidRequestError
from parley.wire.content import (
    CompactionBlockParam,
    MessageParam,
    RedactedThinkingBlockParam,
    ThinkingBlockParam,
)

_THINKING = b"parley-thinking-v1\x00"
_OMITTED = b"parley-thinking-omitted-v1\x00"
_SUMMARY = b"parley-compaction-v1\x00"
_DIGEST = hashlib.sha256().digest_size


class BlockSigner:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    @classmethod
    def for_deployment(cls, configured: str | None) -> BlockSigner:
        """The configured secret, or this process's own."""
        return cls(configured.encode() if configured else secrets.token_bytes(32))

    def _mac(self, label: bytes, data: bytes) -> bytes:
        return hmac.new(self._secret, label + data, hashlib.sha256).digest()

    def sign(self, thinking: str) -> str:
        """The signature of a thinking block shown with its text."""
        return base64.b64encode(self._mac(_THINKING, thinking.encode())).decode()

    def sign_omitted(self, thinking: str) -> str:
        """The signature of a thinking block sent without its text."""
        digest = hashlib.sha256(thinking.encode()).digest()
        return base64.b64encode(digest + self._mac(_OMITTED, digest)).decode()

    def sign_summary(self, summary: str) -> str:
        return base64.b64encode(self._mac(_SUMMARY, summary.encode())).decode()

    def verify(self, thinking: str, signature: str) -> bool:
        """Whether a thinking block (shown, or omitted when its text is empty) is ours."""
        if hmac.compare_digest(self.sign(thinking).encode(), signature.encode()):
            return True
        return thinking == "" and self._verify_omitted(signature)

    def _verify_omitted(self, signature: str) -> bool:
        try:
            raw = base64.b64decode(signature, validate=True)
        except (binascii.Error, ValueError):
            return False
        digest, mac = raw[:_DIGEST], raw[_DIGEST:]
        return len(digest) == _DIGEST and hmac.compare_digest(self._mac(_OMITTED, digest), mac)

    def check(self, messages: list[MessageParam], *, thinking: bool) -> None:
        """Raises the API's 400 for the first block not signed here: compaction blocks
        always, thinking blocks when ``thinking`` (a reasoning model serves)."""
        for index, message in enumerate(messages):
            for position, block in enumerate(message.content):
                path = f"messages.{index}.content.{position}"
                if isinstance(block, CompactionBlockParam):
                    self._check_summary(path, block)
                elif thinking:
                    self._check_thinking(path, block)

    def _check_summary(self, path: str, block: CompactionBlockParam) -> None:
        if block.content is None or block.signature is None:
            return
        if not hmac.compare_digest(
            self.sign_summary(block.content).encode(), block.signature.encode()
        ):
            raise InvalidRequestError(f"{path}: Invalid `signature` in `compaction` block")

    def _check_thinking(self, path: str, block: object) -> None:
        if isinstance(block, RedactedThinkingBlockParam):
            raise InvalidRequestError(
                f"{path}: `redacted_thinking` blocks cannot be verified here: Parley "
                "never writes them; leave out thinking another provider returned"
            )
        if isinstance(block, ThinkingBlockParam) and not self.verify(
            block.thinking, block.signature
        ):
            raise InvalidRequestError(f"{path}: Invalid `signature` in `thinking` block")
