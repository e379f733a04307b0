"""The audit of monetary offers: every epoch's offer lines re-derived with offers_reference.py, not the job's SQL.

Epoch by epoch (in the order `audit verify` recomputes them), from the offers and deliveries the store
holds and the purchases the epoch covers, the plain-Python reference gives each qualifying line and
what the offer's budget paid for it; the budget already spent and the fixed bonuses already paid are
the audit's own running totals, never the job's. The lines must hash to the manifest's
`offers.lines_hash` and equal the stored `epoch_offer_lines` (a tampered line is named with its
offer, customer and purchase); what they paid joins each (account, brand)'s purchase cashback in the
re-derived root.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, select

from app.analytics import offers_reference as reference
from app.audit.checks import Fail, differing
from app.audit.records import PurchaseRecord
from app.audit.records import naive_utc as utc_naive
from app.models.accounts import Brand
from app.models.crm import MONETARY_KINDS, Delivery, Offer
from app.models.offer_payouts import EpochOfferLine


class OfferRederivation:
    """The offers' side of the epoch audit; call `epoch` once per published epoch, in order."""

    def __init__(self, engine: Engine, *, scale: int):
        self.scale = scale
        with Session(engine) as session:
            brands = {b.id: b.address.lower() for b in session.exec(select(Brand))}
            self.offers = [o for o in session.exec(select(Offer)) if o.kind in MONETARY_KINDS]
            self.brand_of = {o.id: brands[o.brand_id] for o in self.offers}
            monetary = {o.id for o in self.offers}
            self.deliveries = [
                (d.offer_id, d.customer_id, utc_naive(d.delivered_at))
                for d in session.exec(select(Delivery))
                if d.offer_id in monetary
            ]
            self.stored: dict[int, dict[tuple[int, int], tuple[int, int, int]]] = defaultdict(dict)
            for row in session.exec(select(EpochOfferLine)):
                self.stored[row.epoch][(row.offer_id, row.purchase_id)] = (row.customer_id, row.owed, row.paid)
        self.spent: dict[int, int] = defaultdict(int)
        self.bonus_paid: set[tuple[int, int]] = set()

    def epoch(
        self, number: int, manifest: dict[str, Any], covered: Sequence[PurchaseRecord], as_of: datetime, fail: Fail
    ) -> dict[tuple[str, str], int]:
        """The epoch's offer bonuses per (account, brand), after checking its commitment and stored lines."""
        offers = [
            reference.Offer(
                offer_id=o.id,  # type: ignore[arg-type]
                brand_id=o.brand_id,
                kind=o.kind,
                bps=o.bps or 0,
                bonus_units=o.bonus_units or 0,
                budget_units=o.budget_units,
                valid_from=utc_naive(o.valid_from),
                valid_until=min(utc_naive(o.valid_until), utc_naive(o.ended_at or o.valid_until)),
                spent_before=self.spent[o.id],  # type: ignore[index]
            )
            for o in self.offers
        ]
        purchases = [reference.Purchase(p.id, p.customer_id, p.brand_id, p.purchased_at, p.amount) for p in covered]
        lines = reference.offer_lines(
            offers,
            [d for d in self.deliveries if d[2] <= as_of],
            purchases,
            self.bonus_paid,
            scale=self.scale,
        )
        kinds = {o.offer_id: o.kind for o in offers}
        for line in lines:
            self.spent[line.offer_id] += line.paid
            if kinds[line.offer_id] == "fixed_bonus":
                self.bonus_paid.add((line.offer_id, line.customer_id))
        self._check(number, manifest, lines, fail)
        account_of = {p.id: p.customer for p in covered}
        paid: dict[tuple[str, str], int] = defaultdict(int)
        for line in lines:
            if line.paid:
                paid[(account_of[line.purchase_id], self.brand_of[line.offer_id])] += line.paid
        return dict(paid)

    def _check(self, number: int, manifest: dict[str, Any], lines: list[reference.Line], fail: Fail) -> None:
        recomputed = _lines_hash(lines)
        committed = (manifest.get("offers") or {}).get("lines_hash")
        if committed is None and lines:
            fail(
                {"field": "offers"},
                "no offer lines",
                f"{len(lines)} lines",
                f"epoch {number} commits to no offer lines, yet offers pay",
            )
        elif committed is not None and committed != recomputed:
            fail(
                {"field": "offers.lines_hash"},
                committed,
                recomputed,
                f"the offer lines re-derived for epoch {number} do not hash to the manifest's",
            )
        stored = self.stored.get(number, {})
        derived = {(x.offer_id, x.purchase_id): (x.customer_id, x.owed, x.paid) for x in lines}
        for offer_id, purchase_id in differing(stored, derived, what="offer lines", epoch=number, fail=fail):
            want, have = derived.get((offer_id, purchase_id)), stored.get((offer_id, purchase_id))
            customer = (want or have or (None,))[0]
            fail(
                {"offer_id": offer_id, "customer_id": customer, "purchase_id": purchase_id},
                _line(want),
                _line(have),
                f"offer {offer_id}'s line for customer {customer}, purchase {purchase_id} in epoch {number}: the store "
                f"holds {_line(have)}, the re-derivation gives {_line(want)}",
            )


def _lines_hash(lines: list[reference.Line]) -> str:
    """The committed `offers.lines_hash`, written apart from the epoch job's (docs/crm.md): sha256 of one
    `offer_id|customer_id|purchase_id|owed|paid` line per offer line, in (offer, purchase id) order."""
    ordered = sorted(lines, key=lambda x: (x.offer_id, x.purchase_id))
    text = "\n".join(f"{x.offer_id}|{x.customer_id}|{x.purchase_id}|{x.owed}|{x.paid}" for x in ordered)
    return "0x" + hashlib.sha256(text.encode()).hexdigest()


def _line(value: tuple[int, int, int] | None) -> str:
    return "no line" if value is None else f"owed {value[1]}, paid {value[2]}"
