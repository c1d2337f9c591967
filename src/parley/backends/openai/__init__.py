"""``backend = "openai"``: OpenAI-compatible upstreams (``backend``), and the
translation to and from ``/v1/chat/completions`` (``chat_completions``)."""

from parley.backends.openai.backend import OpenAIBackend, OpenAIOptions

__all__ = ["OpenAIBackend", "OpenAIOptions"]
