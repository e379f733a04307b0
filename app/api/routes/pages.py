"""The pages (customer wallet, brand console, auditor view), their vendor scripts and small read-only helpers.

The pages are static HTML/CSS/JS modules under app/pages/static, with no build step. Front-end
packages come from npm (node_modules, installed with the toolchain) and are served from here, never
from a CDN. The helper routes give the pages what no other route has: the chain coordinates they
sign against, a public brand list to grant consent to, a transaction view, and two auditor
aggregates over the epoch tables.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse, RedirectResponse, Response

from app.api.deps import AuditorDep, ChainDep, SessionDep, SettingsDep
from app.api.schemas import INT64_MAX, DocumentedRoute, errors
from app.api.schemas.brands import BrandRef
from app.api.schemas.pages import EpochRewardsTotal, PagesConfig, SegmentGrid, TransactionView
from app.domain import Category, Purpose
from app.errors import InvalidInput, NotFound
from app.pages.contract_errors import page_module
from app.paths import REPO_ROOT
from app.services import brands, epoch_views

router = APIRouter(tags=["pages"], route_class=DocumentedRoute, responses=errors(404))

STATIC_DIR = Path(__file__).resolve().parents[2] / "pages" / "static"
_NPM = REPO_ROOT / "node_modules"
VENDOR = {
    "ethers.umd.min.js": _NPM / "ethers" / "dist" / "ethers.umd.min.js",
    "chart.umd.min.js": _NPM / "chart.js" / "dist" / "chart.umd.min.js",
    # The API docs (/docs): Swagger UI as pinned in package.json, never from a CDN.
    "swagger-ui-bundle.js": _NPM / "swagger-ui-dist" / "swagger-ui-bundle.js",
    "swagger-ui.css": _NPM / "swagger-ui-dist" / "swagger-ui.css",
}
_MEDIA = {".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
_NO_CACHE = {"Cache-Control": "no-cache"}


# -- pages and their files --------------------------------------------------------------------


def require_front_end_packages() -> None:
    """Refuses to start without the npm packages the pages are made of (a page would load blank)."""
    missing = [str(path) for path in VENDOR.values() if not path.is_file()]
    if missing:
        raise RuntimeError(
            "the pages' front-end packages are not installed (missing " + ", ".join(missing) + "): "
            "run scripts/setup.sh, which runs `npm ci` from package-lock.json"
        )


def _page(name: str) -> FileResponse:
    return FileResponse(STATIC_DIR / f"{name}.html", media_type="text/html", headers=_NO_CACHE)


@router.get("/wallet", include_in_schema=False)
def wallet_page() -> FileResponse:
    """The customer wallet."""
    return _page("wallet")


@router.get("/brand", include_in_schema=False)
def brand_page() -> FileResponse:
    """The brand console."""
    return _page("brand")


@router.get("/auditor", include_in_schema=False)
def auditor_page() -> FileResponse:
    """The auditor view."""
    return _page("auditor")


@router.get("/docs", include_in_schema=False)
def docs_page() -> FileResponse:
    """The OpenAPI docs (Swagger UI from npm, its start-up in docs.js: no inline script)."""
    return _page("docs")


@router.get("/pages", include_in_schema=False)
def pages_index() -> RedirectResponse:
    return RedirectResponse("/wallet")


# Declared before page_file: this one page file is generated, not read from the folder.
@router.get("/static/pages/contract-errors.js", include_in_schema=False)
def contract_errors_module() -> Response:
    """The contracts' custom errors with their wording, generated from the compiled ABIs."""
    return Response(page_module(), media_type="text/javascript", headers=_NO_CACHE)


@router.get("/static/pages/{name}", include_in_schema=False)
def page_file(*, name: str) -> FileResponse:
    """One of the pages' own files (flat folder, known extensions only)."""
    path = (STATIC_DIR / name).resolve()
    if path.parent != STATIC_DIR.resolve() or path.suffix not in _MEDIA or not path.is_file():
        raise NotFound(f"no page file {name!r}")
    return FileResponse(path, media_type=_MEDIA[path.suffix], headers=_NO_CACHE)


@router.get("/static/vendor/{name}", include_in_schema=False)
def vendor_file(*, name: str) -> FileResponse:
    """ethers, chart.js and Swagger UI as installed from npm."""
    path = VENDOR.get(name)
    if path is None or not path.is_file():
        raise NotFound(f"no vendor file {name!r}: run scripts/setup.sh to install the front-end packages")
    return FileResponse(path, media_type=_MEDIA[path.suffix], headers={"Cache-Control": "max-age=3600"})


# -- what the pages need to know --------------------------------------------------------------


@lru_cache(maxsize=8)
def _decimals(token: str, chain: ChainDep) -> int:
    return chain.token.decimals()


@router.get("/pages/config")
def read_pages_config(*, settings: SettingsDep, chain: ChainDep) -> PagesConfig:
    """Chain id, contract addresses and vocabulary the pages sign and display against (anyone)."""
    d = chain.deployment
    return PagesConfig(
        chain_id=chain.chain_id,
        registry=d.registry,
        distributor=d.distributor,
        token=d.token,
        token_decimals=_decimals(d.token, chain),
        api_base="",
        environment=settings.environment,
        dev_wallet_allowed=settings.environment in ("local", "test"),
        purposes=[p.name.lower() for p in Purpose],
        categories=[c.name.lower() for c in Category if c.name],
        tx_url="/pages/tx/{hash}",
    )


@router.get("/pages/brands")
def read_listed_brands(*, session: SessionDep) -> list[BrandRef]:
    """Registered brands (id, name, address: public facts) a customer can grant consent to (anyone)."""
    return [BrandRef.model_validate(b, from_attributes=True) for b in brands.listed_brands(session)]


_TX_HASH = re.compile(r"0x[0-9a-fA-F]{64}")


@router.get("/pages/tx/{tx_hash}")
def read_transaction(*, tx_hash: str, chain: ChainDep) -> TransactionView:
    """A transaction's receipt on the programme's chain, what the pages link to (anyone)."""
    if not _TX_HASH.fullmatch(tx_hash):
        raise InvalidInput("a transaction hash is 0x followed by 64 hex digits")
    receipt = chain.receipt(tx_hash)
    if receipt is None:
        raise NotFound(f"no transaction {tx_hash} on this chain (never sent, or lost in a restart or reorg)")
    return TransactionView(
        hash=tx_hash,
        status="succeeded" if receipt.succeeded else "reverted",
        block_number=receipt.block_number,
        from_address=receipt.sender,
        to_address=receipt.to,
        gas_used=receipt.gas_used,
        logs=receipt.log_count,
    )


# -- auditor aggregates -----------------------------------------------------------------------


@router.get("/pages/auditor/segment-grid")
def read_segment_grid(
    *,
    session: SessionDep,
    _: AuditorDep,
    epoch: Annotated[int | None, Query(ge=1, le=INT64_MAX, description="Default: the latest computed epoch")] = None,
) -> SegmentGrid:
    """Customers per (R, F) cell and per segment at an epoch's end (auditor or operator)."""
    return SegmentGrid.model_validate(epoch_views.segment_grid(session, epoch), from_attributes=True)


@router.get("/pages/auditor/rewards-per-epoch")
def read_rewards_per_epoch(*, session: SessionDep, _: AuditorDep) -> list[EpochRewardsTotal]:
    """Rewards of every computed epoch split by source (auditor or operator)."""
    return [EpochRewardsTotal.model_validate(t, from_attributes=True) for t in epoch_views.rewards_per_epoch(session)]
