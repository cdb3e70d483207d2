"""The FastAPI application factory.

``create_app(settings)`` builds an app whose state (store, service, executor, keys) is created
at start-up in the lifespan and released at shutdown; nothing lives in module globals, so tests
and the CLI can create as many apps as they like (``uvicorn --factory api.app:create_app``).

Start-up: open the store and apply migrations, fail runs left queued or running by a previous
process ("interrupted by a service restart"), start the worker pool, set up the admin key.
Shutdown: stop runs, write the audit entries still queued (``scenarios.audit``), close the store.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.cache import ResponseCache
from api.routes import ROUTERS
from api.security import KeyRing, Unauthorized, generate_key
from api.settings import Settings
from scenarios.datasets import DistrictLoader
from scenarios.errors import Conflict, Forbidden, Invalid, NotFound, ScenarioError, TooLarge
from scenarios.runs.executor import ThreadExecutor
from scenarios.runs.runners import RunnerRegistry
from scenarios.service import Limits, ScenarioService
from scenarios.store import Store

log = logging.getLogger("schoolplan.api")

PROBLEM_JSON = "application/problem+json"
_SLUGS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "content-too-large",
    422: "validation",
    500: "internal",
}
_STATUS: dict[type[ScenarioError], int] = {
    NotFound: 404,
    Conflict: 409,
    Invalid: 422,
    Forbidden: 403,
    TooLarge: 413,
}


def _version() -> str:
    try:
        return version("schoolplan")
    except PackageNotFoundError:
        return "0+unknown"


def problem(
    status: int,
    detail: str,
    instance: str,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """An RFC 9457 ``application/problem+json`` response."""
    body = {
        "type": f"urn:schoolplan:problem:{_SLUGS.get(status, str(status))}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": instance,
        "errors": errors or [],
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def too_large_detail(limit: int) -> str:
    """The 413 message."""
    return f"request body exceeds the upload limit of {limit:,} bytes"


class BodyLimitMiddleware:
    """Refuse request bodies over ``limit`` bytes with a 413 problem, before reading them all.

    A declared ``Content-Length`` over the limit is refused at once; otherwise bytes are
    counted as they arrive and the request fails as soon as the count passes the limit.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            response = problem(413, too_large_detail(self.limit), scope["path"])
            await response(scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise StarletteHTTPException(413, too_large_detail(self.limit))
            return message

        await self.app(scope, limited, send)


def _field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = list(loc)
    if parts and parts[0] == "body":
        parts = parts[1:]
    return "/".join(str(p) for p in parts) or "body"


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(ScenarioError)
    async def scenario_error(request: Request, exc: ScenarioError) -> JSONResponse:
        status = next((s for cls, s in _STATUS.items() if isinstance(exc, cls)), 400)
        errors = [{"path": e.path, "message": e.message} for e in exc.errors]
        return problem(status, exc.detail, request.url.path, errors)

    @app.exception_handler(Unauthorized)
    async def unauthorized(request: Request, exc: Unauthorized) -> JSONResponse:
        return problem(401, exc.detail, request.url.path, headers={"WWW-Authenticate": "Bearer"})

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"path": _field_path(e["loc"]), "message": e["msg"]} for e in exc.errors()]
        return problem(422, "the request is not valid", request.url.path, errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no such endpoint: {request.url.path}"
        elif exc.status_code == 405:
            detail = f"method {request.method} is not allowed on {request.url.path}"
        headers = dict(exc.headers) if exc.headers else None
        return problem(exc.status_code, detail, request.url.path, headers=headers)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        error_id = uuid.uuid4().hex[:12]
        log.error("error id %s on %s %s", error_id, request.method, request.url.path, exc_info=exc)
        return problem(
            500,
            f"internal error (error id {error_id}); the details are in the service log",
            request.url.path,
            error_id=error_id,
        )


def create_app(
    settings: Settings | None = None,
    *,
    runners: RunnerRegistry | None = None,
    loader: DistrictLoader | None = None,
) -> FastAPI:
    """Build the API app.

    Parameters
    ----------
    settings : Settings, optional
        Default: from ``SCHOOLPLAN_*`` environment variables.
    runners : RunnerRegistry, optional
        Solvers by kind; default the real ones (tests pass fakes).
    loader : DistrictLoader, optional
        District validation and loading; default ``planner.io``.
    """
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(_start, app, settings, runners, loader)
        try:
            yield
        finally:
            await asyncio.to_thread(_stop, app)

    app = FastAPI(
        title="schoolplan API",
        version=_version(),
        summary="Store districts and what-if scenarios, run solves as jobs, compare runs.",
        description=(
            "Catchments, school layout and teacher rotation for county education bureaus. "
            "Authenticate with `Authorization: Bearer <key>`; errors are RFC 9457 "
            "`application/problem+json`. See docs/api.md for the role matrix."
        ),
        lifespan=lifespan,
        responses={
            401: {"model": _problem_model(), "description": "No or unknown API key."},
            422: {"model": _problem_model(), "description": "Invalid request, with field paths."},
            500: {"model": _problem_model(), "description": "Internal error, with an error id."},
        },
    )
    app.state.settings = settings
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    app.add_middleware(BodyLimitMiddleware, limit=settings.max_upload_bytes)
    _install_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document, with every error response as ``application/problem+json``."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    from fastapi.openapi.utils import get_openapi

    spec = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        description=app.description,
        routes=app.routes,
    )
    problem_ref = {"$ref": "#/components/schemas/Problem"}
    for path in spec.get("paths", {}).values():
        for op in path.values():
            for code, resp in op.get("responses", {}).items():
                if code.isdigit() and int(code) >= 400:
                    resp["content"] = {PROBLEM_JSON: {"schema": problem_ref}}
    schemas = spec.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    app.openapi_schema = spec
    return spec


def _problem_model() -> type:
    from api.schemas import Problem

    return Problem


def _start(
    app: FastAPI,
    settings: Settings,
    runners: RunnerRegistry | None,
    loader: DistrictLoader | None,
) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = Store.open(settings.url())
    limits = Limits(
        max_unpacked_bytes=settings.max_unpacked_bytes,
        hard_limit_factor=settings.hard_limit_factor,
        hard_limit_grace=settings.hard_limit_grace,
        progress_interval=settings.progress_interval,
        audit_flush_interval=settings.audit_flush_interval,
        audit_batch_rows=settings.audit_batch_rows,
    )
    service = ScenarioService(
        store, runners or RunnerRegistry.default(), settings.data_dir, loader=loader, limits=limits
    )
    service.recover()
    executor = ThreadExecutor(service.execute, workers=settings.workers)
    service.executor = executor
    if settings.admin_key is not None:
        admin_key = settings.admin_key.get_secret_value()
    else:
        admin_key = generate_key()
        print(
            f"schoolplan: admin API key for this process (shown once, not stored): {admin_key}",
            file=sys.stderr,
            flush=True,
        )
    app.state.store = store
    app.state.service = service
    app.state.executor = executor
    app.state.keys = KeyRing(store, admin_key, ttl=settings.key_cache_ttl)
    app.state.responses = ResponseCache(settings.response_cache_bytes)


def _stop(app: FastAPI) -> None:
    service: ScenarioService = app.state.service
    executor: ThreadExecutor = app.state.executor
    service.begin_shutdown()
    executor.shutdown(wait=False)
    deadline = time.monotonic() + app.state.settings.shutdown_grace
    while executor.running() and time.monotonic() < deadline:
        time.sleep(0.05)
    if executor.running():
        log.warning("runs still stopping at shutdown: %s", ", ".join(executor.running()))
    service.close()  # writes audit entries still queued
    app.state.store.close()
