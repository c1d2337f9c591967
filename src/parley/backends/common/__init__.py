"""Pieces several backends share, so no backend imports another: chat templates
(``chat_template``), GGUF vocabularies (``gguf``), tokenizing on Parley's machine for
upstreams that cannot count (``local_tokenizer``), tool-call and stop-sequence parsing
(``toolcalls``, ``stops``), and upstream replicas (``upstream``).

Nothing here imports a backend; backends import from here and ``base`` only.
"""
