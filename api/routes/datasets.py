"""Datasets: upload a district folder as a zip, list and read their metadata.

The content itself is never served back: it may hold teacher personal data.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Response, UploadFile
from fastapi.concurrency import run_in_threadpool

from api.deps import AuditDep, Reader, ServiceDep, Uploader
from api.routes.common import problems
from api.schemas import DatasetPublic, DatasetsPublic

router = APIRouter(prefix="/v1/datasets", tags=["datasets"])


@router.post(
    "",
    operation_id="create_dataset",
    summary="Upload a district folder (zip)",
    status_code=201,
    responses={
        200: {"model": DatasetPublic, "description": "The same content was already stored."},
        **problems(403, 413),
    },
)
async def create_dataset(
    response: Response,
    service: ServiceDep,
    principal: Uploader,
    audit: AuditDep,
    file: Annotated[UploadFile, File(description="The district folder as a .zip.")],
    name: Annotated[
        str, Form(max_length=200, description="Display name (default: the district's).")
    ] = "",
) -> DatasetPublic:
    """Validate the folder with the CLI's checks and store it, content-hashed.

    Returns **201** for new content and **200** with the existing dataset when the same
    content (after normalisation) is already stored. District errors are a 422 whose
    ``errors`` have ``file/row/column`` paths.
    """
    data = await file.read()
    ds, created = await run_in_threadpool(service.create_dataset, data, name, principal.key_id)
    if created:
        await run_in_threadpool(audit, "create_dataset", "dataset", ds.id, sha256=ds.sha256)
    else:
        response.status_code = 200
    return DatasetPublic.model_validate(ds)


@router.get("", operation_id="list_datasets", summary="List datasets")
def list_datasets(
    service: ServiceDep,
    _: Reader,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> DatasetsPublic:
    """Datasets, newest first."""
    rows, count = service.store.list_datasets(limit, offset)
    return DatasetsPublic(data=[DatasetPublic.model_validate(r) for r in rows], count=count)


@router.get(
    "/{dataset_id}", operation_id="get_dataset", summary="Read a dataset", responses=problems(404)
)
def get_dataset(dataset_id: str, service: ServiceDep, _: Reader) -> DatasetPublic:
    """A dataset's metadata: counts, files, warnings, hash."""
    return DatasetPublic.model_validate(service.store.get_dataset(dataset_id))
