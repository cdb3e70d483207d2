"""``GET /v1/health``: liveness, database kind and which run kinds can be solved."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.deps import ServiceDep
from api.schemas import Health, KindHealth

router = APIRouter(prefix="/v1", tags=["health"])


@router.get("/health", operation_id="get_health", summary="Service health (no key needed)")
def get_health(request: Request, service: ServiceDep) -> Health:
    """Whether the service is up, its database, and which solvers are installed."""
    _, queued = service.store.list_runs(statuses=["queued"], limit=0)
    _, running = service.store.list_runs(statuses=["running"], limit=0)
    kinds = {
        kind: KindHealth(available=reason is None, reason=reason)
        for kind, reason in service.runners.availability().items()
    }
    return Health(
        status="ok",
        version=request.app.version,
        database="sqlite" if service.store.is_sqlite else "postgresql",
        kinds=kinds,
        queued=queued,
        running=running,
    )
