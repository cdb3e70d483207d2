"""``GET /v1/audit`` (admin): who created, ran, changed or downloaded what."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import Admin, ServiceDep
from api.routes.common import problems
from api.schemas import AuditEntryPublic, AuditPublic

router = APIRouter(prefix="/v1", tags=["audit"])


@router.get(
    "/audit", operation_id="list_audit", summary="Read the audit log", responses=problems(403)
)
def list_audit(
    service: ServiceDep,
    _: Admin,
    actor: Annotated[str | None, Query(description="Only this API key id.")] = None,
    action: Annotated[str | None, Query(description="Only this action, e.g. create_run.")] = None,
    since: Annotated[
        datetime | None, Query(description="Only entries at or after this time.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> AuditPublic:
    """Entries, newest first (downloads queued for the batched writer are written first)."""
    service.audit_log.flush()
    rows, count = service.store.list_audit(
        limit=limit, offset=offset, actor=actor, action=action, since=since
    )
    return AuditPublic(data=[AuditEntryPublic.model_validate(r) for r in rows], count=count)
