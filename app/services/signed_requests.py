"""Signed requests relayed like consent changes: a customer invalidating its outstanding signatures, a
brand setting what the recorder may charge it (its allowance and maximum price per customer).

Both follow the consent path: the API hands out EIP-712 typed data (app/chain/eip712.py), the signer
signs it with its wallet, the API checks the signature off chain and the relayer sends it.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from app import clock
from app.chain.eip712 import recover_signer, typed_data
from app.chain.gateway import ChainGateway
from app.chain.registry import SignatureTiming
from app.config import Settings
from app.errors import ChainRefused, Conflict, InvalidInput, InvalidSignature, NotFound, SignatureExpired
from app.models.signed import SignedKind, SignedRequest, SignedStatus
from app.services.signatures import await_signing_time, chain_time, fresh_timing

MAX_UINT96 = 2**96 - 1


@dataclass(frozen=True)
class Prepared:
    request: SignedRequest
    typed_data: dict[str, Any]


def _prepare(
    session: Session, chain: ChainGateway, kind: SignedKind, primary: str, signer: str, message: dict[str, Any]
) -> Prepared:
    document = typed_data(primary, message, chain_id=chain.chain_id, registry=chain.registry.address)
    request = SignedRequest(
        id=str(uuid.uuid4()),
        kind=kind,
        signer=signer,
        nonce=message["nonce"],
        deadline=message["deadline"],
        typed_data=json.dumps(document),
    )
    session.add(request)
    session.commit()
    session.refresh(request)
    return Prepared(request, document)


def prepare_invalidation(session: Session, settings: Settings, chain: ChainGateway, customer: str) -> Prepared:
    """Typed data refusing every signature the customer made up to now (the signing time is the cutoff)."""
    signing = fresh_timing(chain, settings, customer)
    message = {"signer": customer, "wordPos": 0, "mask": 0, "cutoff": signing["signedAt"], **signing}
    return _prepare(session, chain, SignedKind.INVALIDATE, "Invalidate", customer, message)


def prepare_access_limits(
    session: Session, settings: Settings, chain: ChainGateway, brand: str, *, allowance: int, max_price: int
) -> Prepared:
    """Typed data for the brand's access limits: the total the recorder may still charge, the most per customer."""
    for name, value in (("allowance", allowance), ("max_price", max_price)):
        if not 0 <= value <= MAX_UINT96:
            raise InvalidInput(f"{name} must be between 0 and {MAX_UINT96} (uint96, CASH smallest units)")
    signing = fresh_timing(chain, settings, brand)
    message = {"brand": brand, "allowance": allowance, "maxPrice": max_price, **signing}
    return _prepare(session, chain, SignedKind.ACCESS_LIMITS, "AccessLimits", brand, message)


@dataclass(frozen=True)
class AccessLimits:
    """What the recorder may still charge a brand, the most per customer, and when the brand set them."""

    allowance: int
    max_price: int
    changed_at: datetime | None


def access_limits(chain: ChainGateway, brand: str) -> AccessLimits:
    """The brand's limits on chain: what the recorder may still charge, the most per customer, when set."""
    limits = chain.registry.access_limits_of(brand)
    return AccessLimits(
        limits.allowance, limits.max_price, clock.from_unix(limits.changed_at) if limits.changed_at else None
    )


def submit(session: Session, chain: ChainGateway, signer: str, request_id: str, signature: str) -> SignedRequest:
    """Checks the signature off chain, relays it, records the outcome."""
    request = session.get(SignedRequest, request_id)
    if request is None or request.signer != signer:
        raise NotFound(f"no signature request {request_id} of yours; ask for typed data first")
    if request.status == SignedStatus.RELAYED:
        raise Conflict(f"this request was relayed already in transaction {request.tx_hash}", tx_hash=request.tx_hash)
    if chain_time(chain) > request.deadline:
        deadline = clock.from_unix(request.deadline).isoformat()
        raise SignatureExpired(f"the signature request expired at {deadline}; ask for new typed data and sign again")
    document = json.loads(request.typed_data)
    raw = bytes.fromhex(signature.removeprefix("0x"))
    try:
        recovered = recover_signer(document, raw)
    except Exception:  # noqa: BLE001 - any unrecoverable signature is the caller's error
        raise InvalidSignature("the signature cannot be recovered for these typed data") from None
    if recovered != signer:
        raise InvalidSignature(f"signature is not yours: it was made by {recovered}, not {signer}", signer=recovered)
    m = document["message"]
    registry, timing = chain.registry, SignatureTiming.of(m)
    await_signing_time(chain, int(m["signedAt"]))
    try:
        if request.kind == SignedKind.INVALIDATE:
            word_pos, mask, cutoff = int(m["wordPos"]), int(m["mask"]), int(m["cutoff"])
            sent = registry.invalidate_by_sig(m["signer"], word_pos, mask, cutoff, timing, raw)
        else:
            sent = registry.set_access_limits_by_sig(m["brand"], int(m["allowance"]), int(m["maxPrice"]), timing, raw)
    except ChainRefused as refused:
        raise Conflict(
            f"the registry refused the signed request ({refused.detail.get('error')}); ask for new typed data",
            refusal=refused.detail,
        ) from refused
    request.status = SignedStatus.RELAYED
    request.relayed_at = clock.utcnow()
    request.tx_hash, request.block_number = sent.tx_hash, sent.block_number
    session.add(request)
    session.commit()
    session.refresh(request)
    return request
