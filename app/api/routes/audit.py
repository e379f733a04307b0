"""Audit routes: run the independent verifier and read its latest report (JSON or HTML page)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from app import audit
from app.api.deps import AuditorDep, ChainDep, SettingsDep
from app.api.schemas import DocumentedRoute, errors
from app.audit import render_html
from app.errors import NotFound

router = APIRouter(prefix="/audit", tags=["audit"], route_class=DocumentedRoute, responses=errors(404))


@router.post("/verify")
def verify_ledger(*, request: Request, settings: SettingsDep, chain: ChainDep, _: AuditorDep) -> dict[str, Any]:
    """Re-derives the ledger from the chain and the committed records; stores the report (auditor or operator)."""
    report, _path = audit.verify(settings, engine=request.app.state.engine, gateway=chain)
    return report


@router.get(
    "/reports/latest",
    response_model=None,
    responses={204: {"description": "No audit has run yet: POST /audit/verify (or `ledger audit verify`) first"}},
)
def read_latest_report(*, settings: SettingsDep, _: AuditorDep) -> dict[str, Any] | Response:
    """The newest stored audit report as JSON, or 204 before the first audit (auditor or operator)."""
    # Before the first audit there is nothing to report yet; the route itself exists, so not 404.
    found = audit.latest_report(audit.reports_dir(settings))
    return Response(status_code=204) if found is None else found[0]


@router.get("/reports/latest.html", response_class=HTMLResponse)
def read_latest_report_page(*, settings: SettingsDep, _: AuditorDep) -> HTMLResponse:
    """The newest stored audit report as an HTML page with its figures (auditor or operator)."""
    found = audit.latest_report(audit.reports_dir(settings))
    if found is None:
        raise NotFound("no audit report yet: POST /audit/verify (or run `ledger audit verify`) first")
    html_file = found[1].with_suffix(".html")
    return HTMLResponse(html_file.read_text(encoding="utf-8") if html_file.exists() else render_html(found[0]))
