"""``GET /metrics``: the process's Prometheus metrics (``parley.metrics``).

``metrics.access`` decides who may read them: admin keys only (the default; Prometheus
sends one as ``authorization: Bearer``), anyone, or no one (404). Backends' queue
depth and busy slots are read from their ``health()`` as the scrape arrives.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import Response

from parley.errors import NotFoundError
from parley.http.deps import ServicesDep, presented_key
from parley.metrics import CONTENT_TYPE

router = APIRouter()


@router.get("/metrics")
async def metrics(request: Request, svc: ServicesDep) -> Response:
    access = svc.settings.metrics.access
    if access == "off":
        raise NotFoundError("The requested resource could not be found.")
    if access == "admin":
        key, header = presented_key(request)
        await svc.keys.verify(key, admin=True, header=header)
    models = svc.catalog.models
    healths = await asyncio.gather(*(m.backend.health() for m in models))
    for model, health in zip(models, healths, strict=True):
        if health.queued is not None:
            svc.metrics.queue_depth.labels(model.id).set(health.queued)
        if health.busy is not None:
            svc.metrics.busy_slots.labels(model.id).set(health.busy)
    return Response(svc.metrics.exposition(), media_type=CONTENT_TYPE)
