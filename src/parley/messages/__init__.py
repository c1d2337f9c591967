"""The Messages pipeline: everything between a validated ``/v1/messages`` body and the
backend, and back.

One request goes through it in this order (``service.MessagesService.prepare``):
``media`` finds every document and image once, ``rules`` checks what the schema cannot
say, ``documents`` loads files and PDFs, ``translate`` builds the neutral
``GenerationRequest``; then ``service`` runs the backend and ``assembler`` turns its
events into the API's stream (``prompt_cache`` does the cache accounting, ``citations``
finds quoted spans). ``passthrough`` forwards to a Claude-API upstream untranslated.
``context`` holds the call context and the prepared message every step passes on.

The package imports no backend but through ``backends.base``; it never imports
``http``.
"""
