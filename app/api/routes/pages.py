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
from pydantic import BaseModel, Field
from sqlalchemy import func
from sqlmodel import col, select

from app.api.deps import AuditorDep, ChainDep, SessionDep, SettingsDep
from app.api.schemas import INT64_MAX, DocumentedRoute, Timestamp, errors
from app.domain import Category, Purpose
from app.errors import InvalidInput, NotFound
from app.models.accounts import Brand
from app.models.epochs import Epoch, EpochReward, EpochScore, EpochStatus
from app.pages.contract_errors import page_module
from app.paths import REPO_ROOT

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


class PagesConfig(BaseModel):
    chain_id: int
    registry: str = Field(description="ConsentRegistry: the EIP-712 verifying contract")
    distributor: str = Field(description="RewardDistributor: where a customer's own wallet claims")
    token: str
    token_symbol: str = "CASH"
    token_decimals: int
    api_base: str = Field(description="Prefix of the API routes ('' when the pages are served by the API)")
    environment: str
    dev_wallet_allowed: bool = Field(description="The built-in development wallet is offered (local stack only)")
    purposes: list[str]
    categories: list[str]
    tx_url: str = Field(description="Link template for a transaction, `{hash}` replaced")


@lru_cache(maxsize=8)
def _decimals(token: str, chain: ChainDep) -> int:
    return int(chain.call(chain.token.functions.decimals()))


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


class BrandListed(BaseModel):
    id: int
    name: str
    address: str


@router.get("/pages/brands")
def read_listed_brands(*, session: SessionDep) -> list[BrandListed]:
    """Registered brands (id, name, address: public facts) a customer can grant consent to (anyone)."""
    rows = session.exec(select(Brand).order_by(Brand.name)).all()  # type: ignore[arg-type]
    return [BrandListed(id=b.id or 0, name=b.name, address=b.address) for b in rows]


class TransactionView(BaseModel):
    hash: str
    status: str
    block_number: int
    from_address: str
    to_address: str | None
    gas_used: int
    logs: int


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
        status="succeeded" if receipt["status"] == 1 else "reverted",
        block_number=receipt["blockNumber"],
        from_address=receipt["from"],
        to_address=receipt.get("to"),
        gas_used=receipt["gasUsed"],
        logs=len(receipt["logs"]),
    )


# -- auditor aggregates -----------------------------------------------------------------------


class GridCell(BaseModel):
    r: int
    f: int
    customers: int
    segments: list[str]


class SegmentGrid(BaseModel):
    epoch: int | None = Field(description="None: no epoch computed yet")
    scheme: str | None
    max_score: int
    cells: list[GridCell]
    segments: dict[str, int] = Field(description="Customers per segment")


@router.get("/pages/auditor/segment-grid")
def read_segment_grid(
    *,
    session: SessionDep,
    _: AuditorDep,
    epoch: Annotated[int | None, Query(ge=1, le=INT64_MAX, description="Default: the latest computed epoch")] = None,
) -> SegmentGrid:
    """Customers per (R, F) cell and per segment at an epoch's end (auditor or operator)."""
    if epoch is None:
        epoch = session.exec(select(func.max(EpochScore.epoch))).one()
    row = session.get(Epoch, epoch) if epoch is not None else None
    if epoch is None or row is None:
        return SegmentGrid(epoch=None, scheme=None, max_score=3, cells=[], segments={})
    s = EpochScore
    counted = session.exec(
        select(s.r, s.f, s.segment, func.count()).where(s.epoch == epoch).group_by(col(s.r), col(s.f), col(s.segment))
    ).all()
    cells: dict[tuple[int, int], GridCell] = {}
    segments: dict[str, int] = {}
    for r, f, segment, n in counted:
        cell = cells.setdefault((r, f), GridCell(r=r, f=f, customers=0, segments=[]))
        cell.customers += n
        cell.segments.append(segment)
        segments[segment] = segments.get(segment, 0) + n
    max_score = 5 if row.scheme == "quintile" else 3
    return SegmentGrid(
        epoch=epoch,
        scheme=row.scheme,
        max_score=max_score,
        cells=sorted(cells.values(), key=lambda c: (c.r, c.f)),
        segments=dict(sorted(segments.items())),
    )


class EpochRewardsTotal(BaseModel):
    epoch: int
    status: str
    as_of: Timestamp
    from_block: int = Field(description="Accesses in blocks from_block..to_block are paid in this epoch")
    to_block: int
    accounts: int
    purchase_cashback: str = Field(description="CASH smallest units, decimal string")
    access_earnings: str
    earned: str


@router.get("/pages/auditor/rewards-per-epoch")
def read_rewards_per_epoch(*, session: SessionDep, _: AuditorDep) -> list[EpochRewardsTotal]:
    """Rewards of every computed epoch split by source (auditor or operator)."""
    epochs = session.exec(select(Epoch).order_by(Epoch.number)).all()  # type: ignore[arg-type]
    out = []
    for e in epochs:
        if e.status == EpochStatus.OPEN:
            continue
        rewards = session.exec(select(EpochReward).where(EpochReward.epoch == e.number)).all()
        # Amounts are stored as decimal strings of uint256: summed as Python ints, never floats.
        out.append(
            EpochRewardsTotal(
                epoch=e.number,
                status=e.status,
                as_of=e.as_of,
                from_block=e.from_block,
                to_block=e.to_block,
                accounts=len(rewards),
                purchase_cashback=str(sum(int(r.purchase_cashback) for r in rewards)),
                access_earnings=str(sum(int(r.access_earnings) for r in rewards)),
                earned=str(sum(int(r.earned) for r in rewards)),
            )
        )
    return out
