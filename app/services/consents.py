"""Consents: receipts, EIP-712 requests the customer signs, relaying them; never a condition of cashback.

A customer's consent to share data with a brand is their own EIP-712 signature, relayed on chain
by the programme's relayer so the customer pays no gas. Granting writes an off-chain consent
receipt first (ISO/IEC TS 27560 / Kantara Consent Receipt fields) whose keccak256 goes into the
signed terms, so the receipt the customer downloads is provably the one on chain.

Purchase cashback never depends on consent to data sharing (GDPR art. 7(4): a service may not be
made conditional on consent that is not necessary for it). Nothing here is read by the purchase
and reward rules, and nothing here may ever gate them.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, select

from app.chain.contract import BeforeBroadcast, BlockId
from app.chain.eip712 import recover_signer, typed_data
from app.chain.gateway import ChainGateway
from app.chain.registry import ConsentChangeKind, GrantTerms, SignatureTiming
from app.chain.signatures import signs_typed_data
from app.chain.transactions import Sent
from app.clock import utcnow
from app.config import Settings
from app.domain import Purpose, category_names
from app.errors import (
    Conflict,
    ConsentNotFound,
    InvalidInput,
    InvalidSignature,
    NotFound,
    SignatureExpired,
)
from app.models.accounts import Brand, Customer
from app.models.consents import (
    ChangeStatus,
    ConsentAction,
    ConsentChange,
    ConsentReceipt,
    ReceiptStatus,
)
from app.services import relays
from app.services.consent_receipts import build_receipt, canonical_json, notice_hash, receipt_hash_of
from app.services.signatures import await_signing_time, chain_time, fresh_timing

MAX_EXPIRY = 2**40 - 1  # uint40 on chain


# ---------------------------------------------------------------------------------------------
# Reading the chain
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OnChainConsent:
    """A consent as the ConsentRegistry stores it; `categories == 0` means none."""

    categories: int
    granted_at: int
    expires_at: int
    price: int
    receipt_hash: str
    notice_hash: str
    in_force: bool  # the registry's `covers` for these categories, now


def consent_on_chain(
    chain: ChainGateway, customer: str, brand: str, purpose: int, block: BlockId = "latest"
) -> OnChainConsent:
    registry = chain.registry
    held = registry.consent_of(customer, brand, purpose, block=block)
    in_force = bool(held.categories) and registry.covers(customer, brand, purpose, held.categories, block=block)
    return OnChainConsent(
        categories=held.categories,
        granted_at=held.granted_at,
        expires_at=held.expires_at,
        price=held.price,
        receipt_hash=held.receipt_hash,
        notice_hash=held.notice_hash,
        in_force=in_force,
    )


# ---------------------------------------------------------------------------------------------
# Receipts
# ---------------------------------------------------------------------------------------------


def get_receipt(session: Session, customer: Customer, receipt_id: str) -> ConsentReceipt:
    """The customer's own receipt; someone else's is reported as not found."""
    receipt = session.get(ConsentReceipt, receipt_id)
    if receipt is None or receipt.customer_id != customer.id:
        raise ConsentNotFound(f"no consent receipt {receipt_id} of yours")
    return receipt


def _active_receipt(session: Session, customer: Customer, brand: Brand, purpose: int) -> ConsentReceipt | None:
    return session.exec(
        select(ConsentReceipt).where(
            ConsentReceipt.customer_id == customer.id,
            ConsentReceipt.brand_id == brand.id,
            ConsentReceipt.purpose == purpose,
            ConsentReceipt.status == ReceiptStatus.ACTIVE,
        )
    ).first()


# ---------------------------------------------------------------------------------------------
# Asking for a signature
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PreparedChange:
    change: ConsentChange
    typed_data: dict[str, Any]


def resolve_brand(session: Session, brand: int | str) -> Brand:
    """A brand by id or address."""
    if isinstance(brand, int):
        found = session.get(Brand, brand)
    else:
        found = session.exec(select(Brand).where(Brand.address == brand)).first()
    if found is None:
        raise NotFound(f"no brand {brand}")
    return found


def _check_expiry(expires_at: int | None, now: int) -> None:
    """A given end must lie after now: 0 (1970-01-01) means "no end" on chain, so it is never taken as a date."""
    if expires_at is None:
        return
    if expires_at <= now:
        raise InvalidInput(
            "expires_at lies at or before now; give a future time (or, for a grant, no_end: true)", field="expires_at"
        )
    if expires_at > MAX_EXPIRY:
        raise InvalidInput(f"expires_at must be below {MAX_EXPIRY + 1} (unix seconds, uint40)", field="expires_at")


def prepare_change(
    session: Session,
    settings: Settings,
    chain: ChainGateway,
    customer: Customer,
    *,
    action: ConsentAction,
    brand_ref: int | str,
    purpose: int,
    categories: int | None = None,
    expires_at: int | None = None,
    price: int = 0,
) -> PreparedChange:
    """Checks a change against the chain, records it (a grant with its pending receipt), returns typed data.

    Every chain read happens before anything is written, so an unreachable chain leaves no row.
    """
    brand = resolve_brand(session, brand_ref)
    now = utcnow()
    now_s = int(now.timestamp())
    registry = chain.registry
    chain_id = chain.chain_id
    # A grant must be signed after the consent's last revoke, or the registry refuses it.
    revoked_at = registry.revoked_at(customer.address, brand.address, purpose) if action == ConsentAction.GRANT else 0
    signing = fresh_timing(chain, settings, customer.address, after=revoked_at)
    nonce, deadline = signing["nonce"], signing["deadline"]
    base = {"customer": customer.address, "brand": brand.address, "purpose": purpose}
    receipt: ConsentReceipt | None = None

    if action == ConsentAction.GRANT:
        if not categories:
            raise InvalidInput("a grant needs at least one data category")
        _check_expiry(expires_at, now_s)
        if not registry.is_brand(brand.address):
            raise Conflict(f"brand {brand.name} is not registered in the ConsentRegistry; it cannot receive consents")
        receipt_id = str(uuid.uuid4())
        document = build_receipt(
            settings,
            receipt_id=receipt_id,
            customer=customer,
            brand=brand,
            purpose=purpose,
            categories=categories,
            expires_at=expires_at or 0,
            price=price,
            issued_at=now,
            chain_id=chain_id,
            registry=registry.address,
        )
        text = canonical_json(document)
        assert customer.id is not None and brand.id is not None
        receipt = ConsentReceipt(
            id=receipt_id,
            customer_id=customer.id,
            brand_id=brand.id,
            customer_address=customer.address,
            brand_address=brand.address,
            purpose=purpose,
            categories=categories,
            expires_at=expires_at or 0,
            price=str(price),
            notice_version=settings.consent_notice_version,
            notice_hash=notice_hash(settings),
            document=text,
            receipt_hash=receipt_hash_of(text),
            created_at=now,
        )
        message = {
            **base,
            "categories": categories,
            "expiresAt": expires_at or 0,
            "price": price,
            "receiptHash": receipt.receipt_hash,
            "noticeHash": receipt.notice_hash,
        }
    else:
        current = consent_on_chain(chain, customer.address, brand.address, purpose)
        if current.categories == 0:
            raise ConsentNotFound(
                f"you have no consent for brand {brand.name} and purpose {Purpose(purpose).name.lower()} to "
                f"{action.value}"
            )
        receipt = _active_receipt(session, customer, brand, purpose)
        if action == ConsentAction.NARROW:
            _check_expiry(expires_at, now_s)
            categories = current.categories if categories is None else categories
            expires_at = current.expires_at if expires_at is None else expires_at
            if categories & current.categories != categories:
                extra = category_names(categories & ~current.categories)
                raise InvalidInput(
                    f"a narrowing can only take categories away; not in your consent: {', '.join(extra)}"
                )
            if current.expires_at and (expires_at == 0 or expires_at > current.expires_at):
                raise InvalidInput(
                    f"a narrowing cannot extend the expiry beyond {current.expires_at}; grant again to extend"
                )
            if (categories, expires_at) == (current.categories, current.expires_at):
                raise InvalidInput("this narrowing changes nothing: give fewer categories or an earlier expiry")
            message = {**base, "categories": categories, "expiresAt": expires_at}
        else:
            categories, expires_at = None, None
            message = dict(base)

    message |= signing
    document = typed_data(action.value.capitalize(), message, chain_id=chain_id, registry=registry.address)
    assert customer.id is not None and brand.id is not None
    change = ConsentChange(
        id=str(uuid.uuid4()),
        customer_id=customer.id,
        brand_id=brand.id,
        receipt_id=receipt.id if receipt else None,
        action=action.value,
        purpose=purpose,
        categories=categories,
        expires_at=expires_at,
        nonce=nonce,
        deadline=deadline,
        typed_data=json.dumps(document),
        created_at=now,
    )
    if action == ConsentAction.GRANT:
        session.add(receipt)
        session.flush()  # the change refers to the receipt
    session.add(change)
    session.commit()
    session.refresh(change)
    return PreparedChange(change, document)


# ---------------------------------------------------------------------------------------------
# Relaying the signature
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RelayedChange:
    change: ConsentChange
    receipt: ConsentReceipt | None
    consent: OnChainConsent


def get_change(session: Session, customer: Customer, change_id: str) -> ConsentChange:
    change = session.get(ConsentChange, change_id)
    if change is None or change.customer_id != customer.id:
        raise NotFound(f"no consent change {change_id} of yours; ask for typed data first")
    return change


def _hex_bytes(value: str) -> bytes:
    return bytes.fromhex(value.removeprefix("0x"))


def send_signed_change(
    chain: ChainGateway,
    change: ConsentChange,
    document: dict[str, Any],
    signature: bytes,
    *,
    before_broadcast: BeforeBroadcast | None = None,
) -> Sent:
    """Relays the customer's signed grant, narrowing or revoke to the registry."""
    registry, m = chain.registry, document["message"]
    timing = SignatureTiming.of(m)
    customer, brand, purpose = m["customer"], m["brand"], int(m["purpose"])
    if change.action == ConsentAction.GRANT:
        return registry.grant_by_sig(GrantTerms.of(m), timing, signature, before_broadcast=before_broadcast)
    if change.action == ConsentAction.NARROW:
        categories, expires_at = int(m["categories"]), int(m["expiresAt"])
        return registry.narrow_by_sig(
            customer, brand, purpose, categories, expires_at, timing, signature, before_broadcast=before_broadcast
        )
    return registry.revoke_by_sig(customer, brand, purpose, timing, signature, before_broadcast=before_broadcast)


def submit_change(
    session: Session, chain: ChainGateway, customer: Customer, change_id: str, signature: str
) -> RelayedChange:
    """Checks the customer's signature off chain, relays it, and only then records the outcome."""
    change = get_change(session, customer, change_id)
    relays.refuse_resubmit(change)
    if chain_time(chain) > change.deadline:  # the registry judges deadlines by the block's time
        deadline = datetime.fromtimestamp(change.deadline, UTC).isoformat()
        raise SignatureExpired(f"the signature request expired at {deadline}; ask for new typed data and sign again")
    document = json.loads(change.typed_data)
    raw = _hex_bytes(signature)
    if not signs_typed_data(chain, customer.address, document, raw):  # an EOA's, or an ERC-1271 wallet's
        try:
            signer = recover_signer(document, raw)
        except Exception:  # noqa: BLE001 - any unrecoverable signature is the caller's error
            raise InvalidSignature("the signature cannot be recovered for these typed data") from None
        raise InvalidSignature(
            f"signature is not yours: it was made by {signer}, you are signed in as {customer.address}",
            signer=signer,
        )
    relays.claim(session, change, signature)
    try:
        return _relay(session, chain, customer, change, document, raw)
    except BaseException:
        relays.release(session, change)
        raise
    finally:
        relays.done(change)


def _relay(
    session: Session,
    chain: ChainGateway,
    customer: Customer,
    change: ConsentChange,
    document: dict[str, Any],
    raw: bytes,
) -> RelayedChange:
    registry = chain.registry
    if registry.is_nonce_used(customer.address, change.nonce):
        already = _find_relayed(chain, change, customer.address)
        if already is not None:
            # Relayed before and the answer was lost (a crash, a dropped connection): record it now.
            tx_hash, block_number = already
            return _record_relayed(session, chain, change, document, tx_hash, block_number)
        raise Conflict(
            f"the signature's nonce {change.nonce} was invalidated (or used by another change): ask for new "
            "typed data and sign again",
            nonce=change.nonce,
        )
    await_signing_time(chain, int(document["message"]["signedAt"]))
    errors = registry.errors
    try:
        sent = send_signed_change(chain, change, document, raw, before_broadcast=relays.keeper(session, change))
    except errors.InvalidSignature as refused:
        raise InvalidSignature(
            "the registry refused the signature (InvalidSignature): it does not match these terms and "
            "the customer's current nonce",
            error=refused.name,
        ) from refused
    except errors.SignatureExpired as refused:
        raise SignatureExpired(
            "the registry refused the signature (SignatureExpired): its deadline has passed; sign again",
            error=refused.name,
        ) from refused
    except (errors.GrantSignedBeforeRevoke, errors.SignatureInvalidated, errors.NonceAlreadyUsed) as refused:
        # A later act of the customer outran this signature.
        if isinstance(refused, errors.GrantSignedBeforeRevoke):
            why = "the consent was revoked after this grant was signed, and a revoke wins"
        elif isinstance(refused, errors.SignatureInvalidated):
            why = "you invalidated your signatures made up to a time after this one was made"
        else:
            why = "its nonce was used or invalidated"
        raise Conflict(
            f"the registry refused the signature ({refused.name}): {why}; ask for new typed data and sign again",
            error=refused.name,
            refusal=refused.detail,
        ) from refused

    return _record_relayed(session, chain, change, document, sent.tx_hash, sent.block_number)


_EVENTS: dict[ConsentAction, ConsentChangeKind] = {
    ConsentAction.GRANT: "granted",
    ConsentAction.NARROW: "narrowed",
    ConsentAction.REVOKE: "revoked",
}


def _find_relayed(chain: ChainGateway, change: ConsentChange, customer: str) -> tuple[str, int] | None:
    """(tx hash, block) of the registry event that used this change's nonce, if it is this very change."""
    kind = _EVENTS[ConsentAction(change.action)]
    for found in chain.registry.consent_changes(kind, customer, from_block=chain.deployment.block):
        if found.nonce != change.nonce or found.purpose != change.purpose:
            continue
        if change.action == ConsentAction.GRANT:
            message = json.loads(change.typed_data)["message"]
            if found.receipt_hash != message["receiptHash"].lower():
                continue
        return found.tx_hash, found.block
    return None


def _record_relayed(
    session: Session, chain: ChainGateway, change: ConsentChange, document: dict[str, Any], tx_hash: str, block: int
) -> RelayedChange:
    """Records a change as mined in `tx_hash`; once at CONFIRMATIONS depth it is relayed (in force) and its
    receipt updated (active, superseded, withdrawn); until then it stays sent (relays.reconcile promotes it)."""
    customer_address = document["message"]["customer"]
    consent = consent_on_chain(chain, customer_address, document["message"]["brand"], change.purpose, block)
    now = utcnow()
    change.tx_hash = tx_hash
    change.block_number = block
    change.relayed_at = change.relayed_at or now
    confirmed = chain.confirmed(block)
    change.status = ChangeStatus.RELAYED if confirmed else ChangeStatus.SENT
    receipt = session.get(ConsentReceipt, change.receipt_id) if change.receipt_id else None
    if confirmed and receipt is not None and change.action == ConsentAction.GRANT:
        for previous in session.exec(
            select(ConsentReceipt).where(
                ConsentReceipt.customer_id == change.customer_id,
                ConsentReceipt.brand_id == change.brand_id,
                ConsentReceipt.purpose == change.purpose,
                ConsentReceipt.status == ReceiptStatus.ACTIVE,
            )
        ):
            previous.status = ReceiptStatus.SUPERSEDED
        receipt.status = ReceiptStatus.ACTIVE
        receipt.activated_at = receipt.activated_at or now
        receipt.grant_tx_hash = tx_hash
    elif confirmed and receipt is not None and change.action == ConsentAction.REVOKE:
        receipt.status = ReceiptStatus.WITHDRAWN
        receipt.withdrawn_at = receipt.withdrawn_at or now
        receipt.withdrawal_tx_hash = tx_hash
    session.commit()
    session.refresh(change)
    if receipt is not None:
        session.refresh(receipt)
    return RelayedChange(change, receipt, consent)
