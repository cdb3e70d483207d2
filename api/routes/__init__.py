"""Routers of the API, all under ``/v1``."""

from fastapi import APIRouter

from api.routes import audit, compare, datasets, health, keys, runs, scenarios

ROUTERS: tuple[APIRouter, ...] = (
    health.router,
    datasets.router,
    scenarios.router,
    runs.router,
    compare.router,
    keys.router,
    audit.router,
)
