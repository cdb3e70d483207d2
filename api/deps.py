"""Dependencies of the routes, as ``Annotated`` aliases.

``ServiceDep`` is the scenario service of this app; ``CurrentUser`` the authenticated caller;
``Reader``, ``Uploader``... a caller whose role holds that permission; ``AuditDep`` appends to
the audit log on the caller's behalf.

The dependencies are ``async`` and do no I/O on the hot path (a key verified recently is found
in memory), so a read served from the response cache never waits for a worker thread; only a
key not yet verified is looked up in the store, in the thread pool.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api import security
from api.security import MISSING_KEY, KeyRing, Principal, Unauthorized
from api.settings import Settings
from scenarios.service import ScenarioService

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="An API key: `Authorization: Bearer sp_...`. Roles: planner, hr, analyst, admin.",
)


async def get_service(request: Request) -> ScenarioService:
    """The app's scenario service (created at start-up)."""
    service: ScenarioService = request.app.state.service
    return service


async def get_settings(request: Request) -> Settings:
    """The app's settings."""
    settings: Settings = request.app.state.settings
    return settings


async def get_principal(
    request: Request,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """The caller, from the bearer key.

    Raises
    ------
    Unauthorized
    """
    if creds is None or not creds.credentials:
        raise Unauthorized(MISSING_KEY)
    keys: KeyRing = request.app.state.keys
    principal = keys.cached(creds.credentials)
    if principal is None:
        principal = await run_in_threadpool(keys.identify, creds.credentials)
    if principal is None:
        raise Unauthorized(security.INVALID_KEY)
    request.state.principal = principal
    return principal


ServiceDep = Annotated[ScenarioService, Depends(get_service)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
CurrentUser = Annotated[Principal, Depends(get_principal)]


def _requires(perm: security.Permission) -> Callable[[Principal], Awaitable[Principal]]:
    async def dep(principal: CurrentUser) -> Principal:
        principal.require(perm)
        return principal

    return dep


Reader = Annotated[Principal, Depends(_requires(security.READ))]
Comparer = Annotated[Principal, Depends(_requires(security.COMPARE))]
Uploader = Annotated[Principal, Depends(_requires(security.UPLOAD))]
ScenarioWriter = Annotated[Principal, Depends(_requires(security.WRITE_SCENARIO))]
Admin = Annotated[Principal, Depends(_requires(security.ADMIN))]


class Auditor:
    """Appends audit entries for the current caller."""

    def __init__(self, service: ScenarioService, principal: Principal) -> None:
        self.service = service
        self.principal = principal

    def __call__(self, action: str, target_type: str, target_id: str, **detail: Any) -> None:
        """Record that the caller did ``action`` on ``target_type`` ``target_id``, written
        before returning (creations, runs, changes, keys). Blocks: call from a sync route."""
        self._record(action, target_type, target_id, detail, wait=True)

    def download(self, action: str, target_type: str, target_id: str, **detail: Any) -> None:
        """Record a read of results; queued and written within the flush interval (no I/O
        here, so async routes may call it)."""
        self._record(action, target_type, target_id, detail, wait=False)

    def _record(
        self, action: str, target_type: str, target_id: str, detail: dict[str, Any], wait: bool
    ) -> None:
        self.service.audit_log.record(
            actor=self.principal.key_id,
            role=self.principal.role,
            action=action,
            target_type=target_type,
            target_id=target_id,
            detail=detail,
            wait=wait,
        )


async def get_auditor(service: ServiceDep, principal: CurrentUser) -> Auditor:
    """An auditor for this request."""
    return Auditor(service, principal)


AuditDep = Annotated[Auditor, Depends(get_auditor)]
