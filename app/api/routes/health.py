"""Liveness and the chain's reachability (anyone)."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import ChainDep
from app.api.schemas import DocumentedRoute

router = APIRouter(tags=["health"], route_class=DocumentedRoute)


@router.get("/health")
def read_health(*, chain: ChainDep) -> dict[str, object]:
    """The API is up; says whether the chain answers (anyone)."""
    return {"status": "ok", "chain": "up" if chain.is_available() else "unavailable"}
