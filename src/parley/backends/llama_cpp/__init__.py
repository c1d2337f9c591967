"""The embedded backend: GGUF models on llama.cpp through ``llama-cpp-python``.

The model and its chat template come from ``backends/common`` (``gguf.py``,
``chat_template.py``); here ``grammar.py`` builds constraints for tool calls and JSON
output, ``output.py`` turns sampled tokens into events, ``engine.py`` runs the decode
loop on its own thread (``ram_cache.py`` keeps evicted prompts in host memory),
``attention.py`` chooses flash attention for this CPU, and ``backend.py`` is the async
``Backend`` in front of it all.
"""

from parley.backends.llama_cpp.backend import LlamaCppBackend, LlamaCppOptions

__all__ = ["LlamaCppBackend", "LlamaCppOptions"]
