"""Message Batches: the service behind the Batches API (``service``) and the worker
that runs batch requests through the Messages pipeline (``worker``)."""
