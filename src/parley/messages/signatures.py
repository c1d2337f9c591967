"""Signatures of thinking blocks: what Parley wrote comes back unchanged, or not at all.

Each thinking block Parley returns carries ``signature`` = base64 of HMAC-SHA256, under
the deployment's secret, over the thinking text (with a version label). A request that
sends a thinking block back (an agent loop replays the assistant's turns) must carry
that signature: a block whose text was edited, or whose signature another deployment
(or Anthropic) made, is refused with the API's 400. What a signature proves: this
deployment's model wrote exactly this thinking. It does not prove which request or
conversation it came from, and it says nothing to anyone without the secret.

``redacted_thinking`` blocks hold another provider's encrypted thinking, which Parley
cannot read or check, so they are refused the same way.

The secret is ``auth.signing_secret``. Without one, each process makes a random one
when it starts and keeps it in memory only (no secret is ever written to the data
directory): its blocks verify until it restarts, and only on it. A deployment of
several processes, or one whose conversations outlive a restart, sets the secret.
Only reasoning models' requests are checked: a model that does not think drops replayed
thinking unread (a conversation begun with hosted Claude can go on here), and models
behind a passthrough backend get the blocks as they are, for their upstream to check.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from parley.errors import InvalidRequestError
from parley.wire.content import MessageParam, RedactedThinkingBlockParam, ThinkingBlockParam

_LABEL = b"parley-thinking-v1\x00"


class ThinkingSigner:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    @classmethod
    def for_deployment(cls, configured: str | None) -> ThinkingSigner:
        """The configured secret, or this process's own."""
        return cls(configured.encode() if configured else secrets.token_bytes(32))

    def sign(self, thinking: str) -> str:
        digest = hmac.new(self._secret, _LABEL + thinking.encode(), hashlib.sha256).digest()
        return base64.b64encode(digest).decode()

    def verify(self, thinking: str, signature: str) -> bool:
        return hmac.compare_digest(self.sign(thinking), signature)

    def check(self, messages: list[MessageParam]) -> None:
        """Raises the API's 400 for the first thinking block not signed here."""
        for index, message in enumerate(messages):
            for position, block in enumerate(message.content):
                path = f"messages.{index}.content.{position}"
                if isinstance(block, RedactedThinkingBlockParam):
                    raise InvalidRequestError(
                        f"{path}: `redacted_thinking` blocks cannot be verified here: Parley "
                        "never writes them; leave out thinking another provider returned"
                    )
                if isinstance(block, ThinkingBlockParam) and not self.verify(
                    block.thinking, block.signature
                ):
                    raise InvalidRequestError(f"{path}: Invalid `signature` in `thinking` block")
