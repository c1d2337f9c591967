"""``GET /metrics``: what operators watch, in Prometheus's text format."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support import ADMIN_KEY, API_KEY, V1, raw_client

BODY = {"model": "scripted", "max_tokens": 5, "messages": [{"role": "user", "content": "a b c"}]}


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def test_requests_tokens_and_latencies_are_counted(scripted_app: Any) -> None:
    async with scripted_app() as app, raw_client(app) as http:
        for _ in range(3):
            assert (await http.post("/v1/messages", headers=V1, json=BODY)).status_code == 200
        streamed = await http.post("/v1/messages", headers=V1, json={**BODY, "stream": True})
        assert streamed.status_code == 200
        await http.get("/v1/messages/batches/msgbatch_missing", headers=V1)
        scraped = await http.get("/metrics", headers={"authorization": f"Bearer {ADMIN_KEY}"})
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain")
    found = samples(scraped.text)
    route = (("method", "POST"), ("route", "/v1/messages"), ("status", "200"))
    assert found[("parley_http_requests_total", route)] == 4
    missing = (("method", "GET"), ("route", "/v1/messages/batches/{batch_id}"), ("status", "404"))
    assert found[("parley_http_requests_total", missing)] == 1  # ids never become labels
    assert found[("parley_messages_total", (("model", "scripted"), ("outcome", "finished")))] == 4
    assert found[("parley_tokens_total", (("model", "scripted"), ("type", "output")))] == 12
    assert found[("parley_time_to_first_token_seconds_count", (("model", "scripted"),))] == 4
    assert ("process_resident_memory_bytes", ()) in found
    assert ("process_open_fds", ()) in found


async def test_rejections_are_counted(scripted_app: Any) -> None:
    tier = {"tier": "t", "tiers": {"t": {"default": {"requests_per_minute": 1}}}}
    async with scripted_app(rate_limits=tier) as app, raw_client(app) as http:
        codes = [
            (await http.post("/v1/messages", headers=V1, json=BODY)).status_code for _ in range(3)
        ]
        scraped = await http.get("/metrics", headers={"x-api-key": ADMIN_KEY})
    assert codes == [200, 429, 429]
    assert samples(scraped.text)[("parley_limit_rejections_total", (("limit", "rate"),))] == 2


@pytest.mark.parametrize(
    ("access", "key", "status"),
    [
        ("admin", None, 401),
        ("admin", API_KEY, 403),
        ("admin", ADMIN_KEY, 200),
        ("open", None, 200),
        ("off", ADMIN_KEY, 404),
    ],
)
async def test_who_may_read_them(
    scripted_app: Any, access: str, key: str | None, status: int
) -> None:
    headers = {"x-api-key": key} if key else {}
    async with scripted_app(metrics={"access": access}) as app, raw_client(app) as http:
        response = await http.get("/metrics", headers=headers)
    assert response.status_code == status
    if status != 200:
        assert response.json()["type"] == "error"


@pytest.mark.slow
async def test_the_models_queue_and_slots(model_app: Any) -> None:
    async with raw_client(model_app) as http:
        body = {**BODY, "model": "smollm2-135m-instruct", "max_tokens": 2}
        assert (await http.post("/v1/messages", headers=V1, json=body)).status_code == 200
        scraped = await http.get("/metrics", headers={"x-api-key": ADMIN_KEY})
    found = samples(scraped.text)
    model = (("model", "smollm2-135m-instruct"),)
    assert found[("parley_queue_depth", model)] == 0
    assert found[("parley_busy_slots", model)] == 0  # its answer is done
    assert found[("parley_tokens_total", (*model, ("type", "output")))] >= 2
