"""API keys (admin only): create one for a role (shown once), list, revoke."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.deps import Admin, AuditDep, ServiceDep
from api.routes.common import problems
from api.schemas import KeyCreate, KeyCreated, KeyPublic, KeysPublic

router = APIRouter(prefix="/v1/keys", tags=["keys"])


@router.post(
    "",
    operation_id="create_key",
    summary="Create an API key",
    status_code=201,
    responses=problems(403),
)
def create_key(body: KeyCreate, request: Request, _: Admin, audit: AuditDep) -> KeyCreated:
    """A new key for a role. The key is in this response only; the service keeps its hash."""
    record, key = request.app.state.keys.create(body.name, body.role, audit.principal.key_id)
    audit("create_key", "key", record.id, role=record.role, name=record.name)
    return KeyCreated.model_validate({**KeyPublic.model_validate(record).model_dump(), "key": key})


@router.get("", operation_id="list_keys", summary="List API keys")
def list_keys(service: ServiceDep, _: Admin) -> KeysPublic:
    """Every key record (never the keys)."""
    rows = service.store.list_keys()
    return KeysPublic(data=[KeyPublic.model_validate(r) for r in rows], count=len(rows))


@router.delete(
    "/{key_id}",
    operation_id="revoke_key",
    summary="Revoke an API key",
    responses=problems(403, 404, 409),
)
def revoke_key(key_id: str, request: Request, _: Admin, audit: AuditDep) -> KeyPublic:
    """The key stops working at once."""
    record = request.app.state.keys.revoke(key_id)
    audit("revoke_key", "key", key_id)
    return KeyPublic.model_validate(record)
