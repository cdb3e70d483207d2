"""``GET /v1/compare?runs=a,b,c``: KPIs side by side and units whose school differs."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from api.cache import REVALIDATE, Cached, respond, response_cache
from api.deps import Comparer, ServiceDep
from api.routes.common import aggregate_summary, problems
from api.schemas import ComparePublic
from scenarios.compare import compare_runs
from scenarios.errors import FieldError, Invalid
from scenarios.models import FINISHED

router = APIRouter(prefix="/v1", tags=["compare"])

MAX_RUNS = 10
_RUN_ID = re.compile(r"[A-Za-z0-9_-]+")


@router.get(
    "/compare",
    operation_id="compare_runs",
    summary="Compare runs side by side",
    response_model=ComparePublic,
    responses=problems(403, 404),
)
async def compare(
    runs: Annotated[
        str,
        Query(
            description="Comma-separated run ids, 2 to 10; the first is the baseline.",
            # documented for clients and fuzzers; enforced in the handler with a plain message
            json_schema_extra={"pattern": r"^[A-Za-z0-9_-]+(,[A-Za-z0-9_-]+){1,9}$"},
            examples=["run_0f3a9b2c4d5e6f70,run_9a8b7c6d5e4f3a21"],
        ),
    ],
    request: Request,
    service: ServiceDep,
    principal: Comparer,
) -> Response:
    """Every numeric summary figure per run, headline KPIs (travel, overflow, 大班额, moved
    pupils, build cost, CVs, quota), and the units whose school differs from the first run.

    A comparison of finished runs never changes: it is kept in memory, keyed by the run ids in
    the order given (the first is the baseline), and served with an ``ETag``.

    Every reader may compare rotation runs: they enter with their aggregate summary only
    (quota, rotated, backbone share, CVs...; see ``GET /v1/runs/{run_id}``), the same for every
    role, so nothing per teacher appears. The rotation list itself stays hr/admin only."""
    ids = [r.strip() for r in runs.split(",") if r.strip()]
    if not 2 <= len(ids) <= MAX_RUNS:
        raise Invalid(
            "give 2 to 10 run ids separated by commas",
            [FieldError("query/runs", f"got {len(ids)} id(s)")],
        )
    bad = [r for r in ids if not _RUN_ID.fullmatch(r)]
    if bad:
        raise Invalid(
            "give 2 to 10 run ids separated by commas",
            [FieldError("query/runs", f"not a run id: {bad[0]!r}")],
        )
    cache = response_cache(request)
    key = ("compare", *ids)
    hit = cache.get(key)
    if hit is not None:  # the body is the same for every reader: aggregate figures only
        return respond(request, hit)

    def load() -> tuple[bool, Cached]:
        found = service.store.get_runs(ids)
        private = {
            r.id: aggregate_summary(r.summary) for r in found if service.runners.personal(r.kind)
        }
        body = ComparePublic.model_validate(compare_runs(service.store, found, summaries=private))
        entry = Cached(
            body.model_dump_json().encode(), "application/json", tuple(r.kind for r in found)
        )
        return all(r.status in FINISHED for r in found), entry

    finished, entry = await run_in_threadpool(load)
    if not finished:
        return respond(request, entry, REVALIDATE)
    return respond(request, cache.put(key, entry))
