"""Applies decoded chain events to the mirror tables, in chain order, keeping the derived current state in step."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlmodel import Session, SQLModel, col, select
from web3 import Web3

from app.chain.events import ChainEvent, decode_claim, decode_debits
from app.models.mirror import (
    MirrorAccess,
    MirrorBrand,
    MirrorBrandEvent,
    MirrorBudgetEvent,
    MirrorClaim,
    MirrorConsent,
    MirrorConsentEvent,
    MirrorEpoch,
    MirrorEpochDebit,
    MirrorEpochOutcome,
    MirrorPayment,
    MirrorSkippedAccess,
    MirrorTransfer,
)

ZERO_HASH = "0x" + "00" * 32
CONSENT_EVENTS = ("ConsentGranted", "ConsentNarrowed", "ConsentRevoked")
PREFETCH_BATCH = 500  # customers per IN (...) query: under SQLite's and PostgreSQL's parameter limits


def _hex(value: Any) -> str:
    return Web3.to_hex(value).lower()


class Applier:
    """Writes one chunk's events into a session, in chain order, keeping derived state in step."""

    def __init__(self, session: Session):
        self.session = session
        self._state: dict[tuple[type[SQLModel], tuple[Any, ...]], Any] = {}

    def _get(self, model: type[SQLModel], key: tuple[Any, ...]) -> Any:
        cache_key = (model, key)
        if cache_key not in self._state:
            self._state[cache_key] = self.session.get(model, key)
        return self._state[cache_key]

    def _put(self, model: type[SQLModel], key: tuple[Any, ...], row: Any) -> None:
        self._state[(model, key)] = row
        self.session.add(row)

    def apply(self, event: ChainEvent) -> None:
        handler = HANDLERS.get((event.contract, event.name))
        if handler is not None:
            handler(self, event.args, event)

    def apply_all(self, events: list[ChainEvent]) -> None:
        """Applies a chunk's events in order: the consents they touch are read in a few queries first, and
        nothing is flushed until the chunk's transaction commits (a chunk of 100,000 grants stays linear)."""
        self._prefetch_consents(events)
        with self.session.no_autoflush:
            for event in events:
                self.apply(event)

    def _prefetch_consents(self, events: list[ChainEvent]) -> None:
        keys = {
            (e.args["customer"], e.args["brand"], int(e.args["purpose"]))
            for e in events
            if e.contract == "ConsentRegistry" and e.name in CONSENT_EVENTS
        }
        keys -= {key for model, key in self._state if model is MirrorConsent}
        customers = sorted({customer for customer, _, _ in keys})
        for start in range(0, len(customers), PREFETCH_BATCH):
            chunk = customers[start : start + PREFETCH_BATCH]
            rows = self.session.exec(select(MirrorConsent).where(col(MirrorConsent.customer).in_(chunk))).all()
            for row in rows:
                self._state.setdefault((MirrorConsent, (row.customer, row.brand, row.purpose)), row)
        for key in keys:
            self._state.setdefault((MirrorConsent, key), None)

    # ConsentRegistry

    def brand_changed(self, args: dict[str, Any], ref: ChainEvent, registered: bool) -> None:
        brand = args["brand"]
        kind = "registered" if registered else "deregistered"
        self.session.add(MirrorBrandEvent(**ref.columns(), kind=kind, brand=brand))
        row = self._get(MirrorBrand, (brand,))
        if row is None:
            row = MirrorBrand(
                brand=brand,
                registered=registered,
                first_registered_block=ref.block_number,
                updated_block=ref.block_number,
                updated_log_index=ref.log_index,
            )
            self._put(MirrorBrand, (brand,), row)
            return
        row.registered = registered
        row.updated_block, row.updated_log_index = ref.block_number, ref.log_index
        self.session.add(row)

    def consent_event(self, kind: str, args: dict[str, Any], ref: ChainEvent) -> None:
        customer, brand, purpose = args["customer"], args["brand"], int(args["purpose"])
        self.session.add(
            MirrorConsentEvent(
                **ref.columns(),
                kind=kind,
                customer=customer,
                brand=brand,
                purpose=purpose,
                categories=args.get("categories"),
                expires_at=args.get("expiresAt"),
                price=args.get("price"),
                receipt_hash=_hex(args["receiptHash"]) if "receiptHash" in args else None,
                notice_hash=_hex(args["noticeHash"]) if "noticeHash" in args else None,
                signed_at=args.get("signedAt", args.get("revokedAt")),
                nonce=int(args["nonce"]),
            )
        )
        key = (customer, brand, purpose)
        row = self._get(MirrorConsent, key)
        if row is None:
            # A revoke is recorded even where no consent is in force: it bars grants signed until then.
            if kind == "narrowed":
                raise RuntimeError(f"mirror out of step: {kind} {key} was never granted; rebuild")
            row = MirrorConsent(
                customer=customer,
                brand=brand,
                purpose=purpose,
                status="active",
                categories=0,
                granted_at=0,
                expires_at=0,
                price=0,
                receipt_hash=ZERO_HASH,
                notice_hash=ZERO_HASH,
                nonce=0,
                updated_block=0,
                updated_log_index=0,
                updated_tx_hash=ZERO_HASH,
            )
            self._put(MirrorConsent, key, row)
        if kind == "granted":
            row.status = "active"
            row.categories = int(args["categories"])
            row.granted_at = int(ref.block_time.timestamp())
            row.expires_at = int(args["expiresAt"])
            row.price = int(args["price"])
            row.receipt_hash = _hex(args["receiptHash"])
            row.notice_hash = _hex(args["noticeHash"])
        elif kind == "narrowed":
            row.categories = int(args["categories"])
            row.expires_at = int(args["expiresAt"])
        else:  # revoked: the contract deletes the consent, so its terms read back as zero
            row.status = "revoked"
            row.categories = row.granted_at = row.expires_at = row.price = 0
            row.receipt_hash = row.notice_hash = ZERO_HASH
        row.nonce = int(args["nonce"])
        row.updated_block, row.updated_log_index, row.updated_tx_hash = (
            ref.block_number,
            ref.log_index,
            ref.tx_hash,
        )
        self.session.add(row)

    def access_recorded(self, args: dict[str, Any], ref: ChainEvent) -> None:
        customers, prices = list(args["customers"]), list(args["prices"])
        for position, (customer, price) in enumerate(zip(customers, prices, strict=True)):
            self.session.add(
                MirrorAccess(
                    **ref.columns(),
                    position=position,
                    brand=args["brand"],
                    purpose=int(args["purpose"]),
                    request_id=_hex(args["requestId"]),
                    categories=int(args["categories"]),
                    customer=customer,
                    price=int(price),
                    batch_size=len(customers),
                    batch_total=int(args["total"]),
                )
            )

    def access_skipped(self, args: dict[str, Any], ref: ChainEvent) -> None:
        for position, (customer, reason) in enumerate(zip(args["customers"], args["reasons"], strict=True)):
            self.session.add(
                MirrorSkippedAccess(
                    **ref.columns(),
                    position=position,
                    brand=args["brand"],
                    purpose=int(args["purpose"]),
                    request_id=_hex(args["requestId"]),
                    customer=customer,
                    reason=int(reason),
                )
            )

    # RewardDistributor

    def budget_event(self, kind: str, args: dict[str, Any], ref: ChainEvent) -> None:
        counterparty = {"funded": args.get("funder"), "deposited": args.get("from"), "withdrawn": args.get("to")}
        self.session.add(
            MirrorBudgetEvent(
                **ref.columns(),
                kind=kind,
                brand=args["brand"],
                counterparty=args["brand"] if kind == "returned" else counterparty.get(kind),
                amount=int(args["amount"]),
                reserved=int(args["reserved"]) if "reserved" in args else None,
                reference=_hex(args["reference"]) if "reference" in args else None,
            )
        )

    def epoch_published(self, args: dict[str, Any], ref: ChainEvent) -> None:
        epoch, root, commitment, total = (
            int(args["epoch"]),
            _hex(args["root"]),
            _hex(args["commitment"]),
            int(args["total"]),
        )
        self.session.add(
            MirrorEpoch(
                **ref.columns(),
                epoch=epoch,
                root=root,
                commitment=commitment,
                total=total,
                finalises_at=int(args["finalisesAt"]),
            )
        )
        for position, (brand, from_reserve, from_budget) in enumerate(decode_debits(args)):
            self.session.add(
                MirrorEpochDebit(
                    block_number=ref.block_number,
                    log_index=ref.log_index,
                    position=position,
                    epoch=epoch,
                    brand=brand,
                    amount=from_reserve + from_budget,
                    from_reserve=from_reserve,
                    from_budget=from_budget,
                )
            )

    def epoch_outcome(self, kind: str, args: dict[str, Any], ref: ChainEvent) -> None:
        self.session.add(
            MirrorEpochOutcome(
                **ref.columns(),
                kind=kind,
                epoch=int(args["epoch"]),
                root=_hex(args["root"]),
                total=int(args["total"]) if "total" in args else None,
                auditor=args.get("auditor"),
            )
        )

    def claimed(self, args: dict[str, Any], ref: ChainEvent) -> None:
        account, amount, cumulative = decode_claim(args)
        self.session.add(MirrorClaim(**ref.columns(), account=account, amount=amount, cumulative_amount=cumulative))

    # CashbackToken

    def transfer(self, args: dict[str, Any], ref: ChainEvent) -> None:
        self.session.add(
            MirrorTransfer(**ref.columns(), from_address=args["from"], to_address=args["to"], amount=int(args["value"]))
        )

    # PaymentRouter

    def paid(self, args: dict[str, Any], ref: ChainEvent) -> None:
        self.session.add(
            MirrorPayment(
                **ref.columns(),
                payer=args["payer"],
                brand=args["brand"],
                amount=int(args["amount"]),
                reference=_hex(args["paymentRef"]),
            )
        )


_Handler = Callable[[Applier, dict[str, Any], ChainEvent], None]
HANDLERS: dict[tuple[str, str], _Handler] = {
    ("ConsentRegistry", "BrandRegistered"): lambda a, args, ref: a.brand_changed(args, ref, True),
    ("ConsentRegistry", "BrandDeregistered"): lambda a, args, ref: a.brand_changed(args, ref, False),
    ("ConsentRegistry", "ConsentGranted"): lambda a, args, ref: a.consent_event("granted", args, ref),
    ("ConsentRegistry", "ConsentNarrowed"): lambda a, args, ref: a.consent_event("narrowed", args, ref),
    ("ConsentRegistry", "ConsentRevoked"): lambda a, args, ref: a.consent_event("revoked", args, ref),
    ("ConsentRegistry", "AccessRecorded"): Applier.access_recorded,
    ("ConsentRegistry", "AccessSkipped"): Applier.access_skipped,
    ("RewardDistributor", "BudgetFunded"): lambda a, args, ref: a.budget_event("funded", args, ref),
    ("RewardDistributor", "BudgetDeposited"): lambda a, args, ref: a.budget_event("deposited", args, ref),
    ("RewardDistributor", "BudgetWithdrawn"): lambda a, args, ref: a.budget_event("withdrawn", args, ref),
    ("RewardDistributor", "BudgetReserved"): lambda a, args, ref: a.budget_event("reserved", args, ref),
    ("RewardDistributor", "ReserveReleased"): lambda a, args, ref: a.budget_event("released", args, ref),
    ("RewardDistributor", "RetiredBudgetReturned"): lambda a, args, ref: a.budget_event("returned", args, ref),
    ("RewardDistributor", "EpochPublished"): Applier.epoch_published,
    ("RewardDistributor", "EpochVetoed"): lambda a, args, ref: a.epoch_outcome("vetoed", args, ref),
    ("RewardDistributor", "EpochFinalized"): lambda a, args, ref: a.epoch_outcome("finalized", args, ref),
    ("RewardDistributor", "Claimed"): Applier.claimed,
    ("CashbackToken", "Transfer"): Applier.transfer,
    ("PaymentRouter", "Paid"): Applier.paid,
}
"""Events the mirror keeps; the rest (roles, pauses, approvals) are read and skipped."""
