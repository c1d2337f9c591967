"""OpenAI's chat-completions protocol, as the official ``openai`` clients speak it.

``wire`` holds the request models, ``convert`` maps a request to
``MessageCreateParams`` and a Claude ``Message`` to a ``chat.completion``, ``chunks``
turns the Claude stream into ``chat.completion.chunk`` events, and ``envelope`` writes
Parley's errors in OpenAI's shape.
"""
