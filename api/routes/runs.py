"""Runs: status and progress, a live event stream, cancellation, and results."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterable, Callable
from typing import Annotated, Literal

import anyio
from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.sse import EventSourceResponse, ServerSentEvent

from api.cache import REVALIDATE, Cached, respond, response_cache
from api.deps import AuditDep, Reader, ServiceDep, SettingsDep
from api.routes.common import (
    check_kind_access,
    check_run_access,
    problems,
    public_progress,
    run_public,
    sees_full,
)
from api.schemas import AssignmentPublic, RunPublic, RunsPublic
from api.security import PERSONAL, RUN_PERMISSION, Principal
from scenarios.errors import Conflict, NotFound
from scenarios.models import FINISHED, Run
from scenarios.service import ScenarioService

router = APIRouter(prefix="/v1/runs", tags=["runs"])

CSV = "text/csv; charset=utf-8"
JSON = "application/json"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _readable_run(run_id: str, service: ScenarioService, principal: Principal) -> Run:
    run = service.store.get_run(run_id)
    check_run_access(run, principal, service)
    return run


def _result_file(run: Run, name: str, service: ScenarioService) -> tuple[str, bytes]:
    if run.status != "done" and not (run.status == "cancelled" and service.store.run_files(run.id)):
        raise Conflict(f"run '{run.id}' is {run.status}: results are available once it is done")
    found = service.run_file(run, name)
    if found is None:
        raise NotFound(f"run '{run.id}' ({run.kind}) has no {name}")
    return found


@router.get("", operation_id="list_runs", summary="List runs")
def list_runs(
    service: ServiceDep,
    principal: Reader,
    status: Annotated[
        Literal["queued", "running", "done", "failed", "cancelled"] | None, Query()
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> RunsPublic:
    """Runs, newest first. Rotation runs are listed for every reader; without teacher access
    (roles other than hr and admin) they come in the aggregate view (see ``get_run``)."""
    rows, count = service.store.list_runs(
        kinds=list(service.runners.kinds()),
        statuses=[status] if status else None,
        limit=limit,
        offset=offset,
    )
    return RunsPublic(data=[run_public(r, service, principal) for r in rows], count=count)


@router.get(
    "/{run_id}",
    operation_id="get_run",
    summary="Run status, progress, summary",
    response_model=RunPublic,
    responses=problems(403, 404),
)
async def get_run(
    run_id: str, request: Request, service: ServiceDep, principal: Reader
) -> Response:
    """Status (queued, running, done, failed, cancelled), progress (best objective, bound,
    gap, elapsed) and, when done, ``summary``: the same JSON as the CLI's summary.json.

    A finished run never changes: it is served from memory with an ``ETag`` (send it back in
    ``If-None-Match`` for a 304); a run in progress is read from the store every time.

    Rotation runs hold teacher personal data: roles other than hr and admin get the
    aggregate view — allow-listed summary keys (counts, quota, shares, CVs, solver figures),
    allow-listed settings, numeric progress, an empty ``files`` list, and ``error`` replaced by
    a fixed text without ``error_details``. Their downloads stay hr/admin only."""
    cache = response_cache(request)
    # one cache entry per view, so a full (hr) body is never served to another role
    key = ("run", run_id, "full" if principal.can(PERSONAL) else "aggregate")
    hit = cache.get(key)
    if hit is not None:
        return respond(request, hit)

    def load() -> tuple[bool, Cached]:
        run = service.store.get_run(run_id)
        body = run_public(run, service, principal).model_dump_json().encode()
        return run.status in FINISHED, Cached(body, JSON, (run.kind,))

    finished, entry = await run_in_threadpool(load)
    if not finished:
        return respond(request, entry, REVALIDATE)
    return respond(request, cache.put(key, entry))


@router.get(
    "/{run_id}/events",
    operation_id="stream_run_events",
    summary="Progress as Server-Sent Events until the run ends",
    response_class=EventSourceResponse,
    responses=problems(403, 404),
)
async def stream_run_events(
    run_id: str, request: Request, service: ServiceDep, settings: SettingsDep, principal: Reader
) -> AsyncIterable[ServerSentEvent]:
    """Events: ``status`` when the status changes, ``progress`` when progress changes, and a
    final ``end`` with the whole run; the stream then closes. Rotation runs: the aggregate
    view (as in ``get_run``) for roles other than hr and admin."""
    run = await anyio.to_thread.run_sync(service.store.get_run, run_id)
    full = sees_full(run, principal, service)
    last_status, last_progress, seq = None, None, 0
    while True:
        if run.status != last_status:
            last_status, seq = run.status, seq + 1
            yield ServerSentEvent(event="status", id=str(seq), data={"status": run.status})
        progress = run.progress if full else public_progress(run.progress)
        if progress and progress != last_progress:
            last_progress, seq = progress, seq + 1
            yield ServerSentEvent(event="progress", id=str(seq), data=progress)
        if run.status in FINISHED:
            public = await anyio.to_thread.run_sync(run_public, run, service, principal)
            yield ServerSentEvent(event="end", id=str(seq + 1), data=public.model_dump(mode="json"))
            return
        if await request.is_disconnected():
            return
        await anyio.sleep(settings.sse_poll_interval)
        run = await anyio.to_thread.run_sync(service.store.get_run, run_id)


@router.delete(
    "/{run_id}",
    operation_id="cancel_run",
    summary="Cancel a run",
    status_code=202,
    responses=problems(403, 404, 409),
)
def cancel_run(run_id: str, service: ServiceDep, principal: Reader, audit: AuditDep) -> RunPublic:
    """A queued run is cancelled at once; a running one is asked to stop and keeps the best
    plan found (status becomes ``cancelled``). A finished run: 409."""
    run = _readable_run(run_id, service, principal)
    principal.require(RUN_PERMISSION.get(run.kind, PERSONAL))
    run = service.cancel_run(run_id)
    audit("cancel_run", "run", run_id)
    return run_public(run, service)


async def _result(
    request: Request,
    service: ScenarioService,
    principal: Principal,
    run_id: str,
    key: tuple[str, ...],
    build: Callable[[Run], Cached],
    *,
    personal: bool = False,
) -> Cached:
    """A finished run's result, from the response cache or built (and kept) in a worker thread.

    The checks run in the original order on a miss (404 run, 403 access, [403 personal data],
    409 not done, 404 no such file); on a hit the run exists, is finished and has the file,
    so only the caller's access is checked.
    """
    cache = response_cache(request)
    hit = cache.get(("result", run_id, *key))
    if hit is not None:
        check_kind_access(hit.kinds, principal, service)
        if personal:
            principal.require(PERSONAL)
        return hit

    def load() -> Cached:
        run = _readable_run(run_id, service, principal)
        if personal:
            principal.require(PERSONAL)
        return build(run)

    return cache.put(("result", run_id, *key), await run_in_threadpool(load))


def _file_entry(
    service: ScenarioService, name: str, attachment: bool = False, vary: bool = False
) -> Callable[[Run], Cached]:
    """Builds the cache entry of one stored file (``vary``: the route picks the format by the
    Accept header when the query does not say)."""

    def build(run: Run) -> Cached:
        media, content = _result_file(run, name, service)
        headers = _attachment(run.id, name) if attachment else {}
        if vary:
            headers["Vary"] = "Accept"
        return Cached(content, media, (run.kind,), headers)

    return build


@router.get(
    "/{run_id}/assignment",
    operation_id="get_run_assignment",
    summary="The plan: each unit's school (CSV or JSON)",
    responses={
        200: {
            "content": {"application/json": {}, "text/csv": {}},
            "description": "assignment.csv as the CLI writes it, or its rows as JSON.",
        },
        **problems(403, 404, 409),
    },
)
async def get_run_assignment(
    run_id: str,
    request: Request,
    service: ServiceDep,
    principal: Reader,
    audit: AuditDep,
    format: Annotated[
        Literal["csv", "json"] | None,
        Query(description="csv or json; default from the Accept header, else json."),
    ] = None,
) -> Response:
    """The CLI's assignment.csv, as CSV or as JSON rows."""
    fmt = format or ("csv" if "text/csv" in request.headers.get("accept", "") else "json")

    def build(run: Run) -> Cached:
        _media, content = _result_file(run, "assignment.csv", service)
        vary = {"Vary": "Accept"}
        if fmt == "csv":
            return Cached(
                content, CSV, (run.kind,), {**_attachment(run.id, "assignment.csv"), **vary}
            )
        reader = csv.DictReader(io.StringIO(content.decode("utf-8-sig")))
        rows = list(reader)
        body = AssignmentPublic(columns=list(reader.fieldnames or []), data=rows, count=len(rows))
        return Cached(body.model_dump_json().encode(), JSON, (run.kind,), vary)

    entry = await _result(request, service, principal, run_id, ("assignment", fmt), build)
    audit.download("download_assignment", "run", run_id)
    return respond(request, entry)


@router.get(
    "/{run_id}/catchments.geojson",
    operation_id="get_run_catchments",
    summary="Catchment polygons (GeoJSON)",
    responses={200: {"content": {"application/geo+json": {}}}, **problems(403, 404, 409)},
)
async def get_run_catchments(
    run_id: str, request: Request, service: ServiceDep, principal: Reader, audit: AuditDep
) -> Response:
    """The CLI's catchments.geojson."""
    name = "catchments.geojson"
    entry = await _result(
        request, service, principal, run_id, ("file", name), _file_entry(service, name)
    )
    audit.download("download_catchments", "run", run_id)
    return respond(request, entry)


@router.get(
    "/{run_id}/map.png",
    operation_id="get_run_map",
    summary="Map of the plan (PNG)",
    responses={200: {"content": {"image/png": {}}}, **problems(403, 404, 409)},
)
async def get_run_map(
    run_id: str, request: Request, service: ServiceDep, principal: Reader, audit: AuditDep
) -> Response:
    """The CLI's map.png."""
    entry = await _result(
        request, service, principal, run_id, ("file", "map.png"), _file_entry(service, "map.png")
    )
    audit.download("download_map", "run", run_id)
    return respond(request, entry)


@router.get(
    "/{run_id}/rotation",
    operation_id="get_run_rotation",
    summary="The rotation list (CSV or XLSX; hr and admin only)",
    responses={
        200: {
            "content": {"text/csv": {}, XLSX: {}},
            "description": "rotation.csv or rotation.xlsx.",
        },
        **problems(403, 404, 409),
    },
)
async def get_run_rotation(
    run_id: str,
    request: Request,
    service: ServiceDep,
    principal: Reader,
    audit: AuditDep,
    format: Annotated[
        Literal["csv", "xlsx"] | None,
        Query(description="csv or xlsx; default from the Accept header, else csv."),
    ] = None,
) -> Response:
    """The rotation list with a reason on every line (teacher personal data)."""
    fmt = format or ("xlsx" if XLSX in request.headers.get("accept", "") else "csv")
    name = f"rotation.{fmt}"
    entry = await _result(
        request,
        service,
        principal,
        run_id,
        ("rotation", fmt),
        _file_entry(service, name, attachment=True, vary=True),
        personal=True,
    )
    audit.download("download_rotation", "run", run_id, format=fmt)
    return respond(request, entry)


@router.get(
    "/{run_id}/files/{name}",
    operation_id="get_run_file",
    summary="Any stored output file of a run",
    responses={200: {"content": {"application/octet-stream": {}}}, **problems(403, 404, 409)},
)
async def get_run_file(
    run_id: str,
    name: str,
    request: Request,
    service: ServiceDep,
    principal: Reader,
    audit: AuditDep,
) -> Response:
    """One of the files listed in the run's ``files`` (summary.json, diff.csv, decisions.csv...).
    Every file of a rotation run is hr/admin only (403 for other roles)."""
    entry = await _result(
        request,
        service,
        principal,
        run_id,
        ("file", name, "attachment"),
        _file_entry(service, name, attachment=True),
    )
    audit.download("download_file", "run", run_id, file=name)
    return respond(request, entry)


def _attachment(run_id: str, name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{run_id}-{name}"'}
