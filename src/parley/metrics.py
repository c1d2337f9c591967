"""What operators watch: Prometheus metrics of one Parley process (``prometheus-client``).

Each app owns a ``Metrics`` with its own registry (so several apps in one process, as
in the tests, never share counters); ``GET /metrics`` serves it in the text format.
Every process of a deployment exposes its own; Prometheus scrapes each, as it does
any replicated service.

- ``parley_http_requests_total{route,method,status}`` and
  ``parley_http_request_duration_seconds{route,method}``: every request, by route
  template (``/v1/messages/batches/{batch_id}``), so ids never become labels;
- ``parley_messages_total{model,outcome}`` (``finished``, ``cut_short``, ``failed``),
  ``parley_time_to_first_token_seconds{model}``, ``parley_tokens_total{model,type}``
  (``input``, ``output``, ``cache_read``, ``cache_write``): generation, interactive
  and batch;
- ``parley_queue_depth{model}``, ``parley_busy_slots{model}``: set from each
  backend's ``health()`` as ``/metrics`` is scraped;
- ``parley_batch_requests_total{result}`` and ``parley_batch_requests_running``;
- ``parley_limit_rejections_total{limit}``: 429s and spend-limit refusals;
- the process itself (resident memory, open file descriptors, CPU seconds).

A label set is bounded: routes are templates, models come from the configuration,
the other labels from fixed vocabularies.
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_LATENCY = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        r = self.registry
        self.http_requests = Counter(
            "parley_http_requests",
            "HTTP requests answered.",
            ["route", "method", "status"],
            registry=r,
        )
        self.http_duration = Histogram(
            "parley_http_request_duration_seconds",
            "Time to answer an HTTP request (a stream: until it ends).",
            ["route", "method"],
            buckets=_LATENCY,
            registry=r,
        )
        self.messages = Counter(
            "parley_messages", "Generations, by how they ended.", ["model", "outcome"], registry=r
        )
        self.first_token = Histogram(
            "parley_time_to_first_token_seconds",
            "From the request reaching the model to its first content.",
            ["model"],
            buckets=_LATENCY,
            registry=r,
        )
        self.tokens = Counter("parley_tokens", "Tokens in and out.", ["model", "type"], registry=r)
        self.batch_requests = Counter(
            "parley_batch_requests", "Batch requests this process finished.", ["result"], registry=r
        )
        self.batch_running = Gauge(
            "parley_batch_requests_running", "Batch requests running in this process.", registry=r
        )
        self.queue_depth = Gauge(
            "parley_queue_depth", "Requests waiting for the model.", ["model"], registry=r
        )
        self.busy_slots = Gauge(
            "parley_busy_slots", "Sequences the model is generating now.", ["model"], registry=r
        )
        self.rejections = Counter(
            "parley_limit_rejections",
            "Requests refused by a rate or spend limit.",
            ["limit"],
            registry=r,
        )

    def record_tokens(
        self, model: str, *, input: int, output: int, cache_read: int, cache_write: int
    ) -> None:
        for kind, count in (
            ("input", input),
            ("output", output),
            ("cache_read", cache_read),
            ("cache_write", cache_write),
        ):
            if count:
                self.tokens.labels(model, kind).inc(count)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
