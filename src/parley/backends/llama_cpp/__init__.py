"""The embedded backend: GGUF models on llama.cpp through ``llama-cpp-python``.

``model.py`` loads weights and tokenizes, ``prompt.py`` renders conversations with
the model's chat template, ``grammar.py`` builds constraints for tool calls and JSON
output, ``output.py`` turns sampled tokens into events, ``engine.py`` runs the decode
loop on its own thread, and ``backend.py`` is the async ``Backend`` in front of it.
"""

from parley.backends.llama_cpp.backend import LlamaCppBackend, LlamaCppOptions

__all__ = ["LlamaCppBackend", "LlamaCppOptions"]
