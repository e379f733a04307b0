"""The audit of brands' earning rules: per epoch the versions in force, their committed hash, each purchase's extra bps.

Written apart from the epoch job's SQL (app/services/epoch_brand_rates.py): the versions in force are the
newest of each brand with `effective_epoch` at most the epoch; their canonical JSON (by brand address, rows
by category and tier) must hash to the manifest's `brand_rates.hash`, so a rule row changed after the epoch
is found; each covered purchase's category is recomputed from its items (the category holding the most value,
quantity × unit price, a tie to the name first) and its customer's tier is the audit's own rescoring. An
erased customer's items are gone: the category the epoch stored for that purchase (`epoch_brand_rate_lines`,
committed by `brand_rates.lines_hash`) stands in for them. The extra bps join the purchase's rate in the
re-derived cashback (app/audit/rederive.py `reward_lines(extra=...)`).
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from app.audit.checks import Fail, differing
from app.audit.records import PurchaseRecord
from app.models.accounts import Brand, Customer
from app.models.brand_rates import BrandEarningRuleRow, BrandEarningRules, EpochBrandRateLine
from app.models.purchases import Purchase, PurchaseItem


@dataclass(frozen=True)
class Version:
    brand: str  # lower-case address
    brand_id: int
    version: int
    effective_epoch: int
    rows: dict[tuple[str, str], int]  # (category, tier) -> extra bps


class BrandRateRederivation:
    """The brand rates' side of the epoch audit; `epoch` gives each covered purchase's extra bps."""

    def __init__(self, engine: Engine, *, base_tier: str):
        self.base_tier = base_tier
        with Session(engine) as session:
            brands = {b.id: b.address.lower() for b in session.exec(select(Brand))}
            rows: dict[int, dict[tuple[str, str], int]] = defaultdict(dict)
            for r in session.exec(select(BrandEarningRuleRow)):
                rows[r.rules_id][(r.category, r.tier)] = r.extra_bps
            self.versions = [
                Version(brands[v.brand_id], v.brand_id, v.version, v.effective_epoch, rows[v.id])  # type: ignore[index]
                for v in session.exec(select(BrandEarningRules))
            ]
            values: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
            for purchase_id, category, quantity, unit_price in session.exec(
                select(PurchaseItem.purchase_id, PurchaseItem.category, PurchaseItem.quantity, PurchaseItem.unit_price)
            ):
                if category is not None:
                    values[purchase_id][category] += int(quantity) * int(unit_price)
            self.categories = {p: min(v.items(), key=lambda kv: (-kv[1], kv[0]))[0] for p, v in values.items() if v}
            self.erased_purchases = set(
                session.exec(
                    select(Purchase.id)
                    .join(Customer, col(Customer.id) == Purchase.customer_id)
                    .where(col(Customer.erased_at).is_not(None))
                )
            )
            self.stored: dict[int, dict[int, tuple[str, str, int]]] = defaultdict(dict)
            for line in session.exec(select(EpochBrandRateLine)):
                self.stored[line.epoch][line.purchase_id] = (line.category, line.tier, line.extra_bps)

    def in_force(self, number: int) -> list[Version]:
        """Per brand, the newest version whose effective epoch is at most `number`, by brand address."""
        newest: dict[int, Version] = {}
        for v in self.versions:
            if v.effective_epoch <= number and (v.brand_id not in newest or v.version > newest[v.brand_id].version):
                newest[v.brand_id] = v
        return sorted(newest.values(), key=lambda v: v.brand)

    def epoch(
        self,
        number: int,
        manifest: dict[str, Any],
        covered: Sequence[PurchaseRecord],
        tiers: dict[int, str],
        fail: Fail,
    ) -> dict[int, int]:
        """purchase id -> extra bps of the epoch's covered purchases, after checking what the epoch committed."""
        committed = manifest.get("brand_rates")
        versions = self.in_force(number)
        if committed is None:  # an epoch computed before brand rates existed applied none
            if versions:
                fail({"field": "brand_rates"}, "no brand rates", f"{len(versions)} versions in force", "")
            return {}
        document = _document(versions)
        found = "0x" + hashlib.sha256(document.encode("utf-8")).hexdigest()
        if found != committed.get("hash"):
            listing = ", ".join(f"{v.brand} version {v.version}" for v in versions) or "none"
            fail(
                {"field": "brand_rates.hash"},
                committed.get("hash"),
                found,
                f"the brand earning rules the store holds for epoch {number} ({listing}) do not hash to the "
                "committed brand_rates.hash: a rule version or row was changed after the epoch",
            )
        listed = [{"brand": v.brand, "version": v.version} for v in versions]
        if listed != committed.get("versions"):
            fail({"field": "brand_rates.versions"}, committed.get("versions"), listed, "other versions in force")
        stored = self.stored.get(number, {})
        by_brand = {v.brand_id: v for v in versions}
        lines: dict[int, tuple[str, str, int]] = {}
        for p in covered:
            version = by_brand.get(p.brand_id)
            if version is None:
                continue
            category = self.categories.get(p.id)
            if category is None and p.id in self.erased_purchases and p.id in stored:
                category = stored[p.id][0]  # erased items: the committed line's category
            tier = tiers.get(p.customer_id, self.base_tier)
            extra = version.rows.get((category, tier)) if category is not None else None
            if extra:
                lines[p.id] = (category, tier, extra)  # type: ignore[assignment]
        found_hash = _lines_hash(lines)
        if found_hash != committed.get("lines_hash"):
            fail(
                {"field": "brand_rates.lines_hash", "lines": len(lines)},
                committed.get("lines_hash"),
                found_hash,
                f"the purchases earning a brand's own rate in epoch {number}, re-derived, do not hash to the "
                "committed brand_rates.lines_hash",
            )
        for purchase_id in differing(stored, lines, what="brand rate lines", epoch=number, fail=fail):
            fail(
                {"purchase_id": purchase_id, "field": "brand rate line"},
                _line(stored.get(purchase_id)),
                _line(lines.get(purchase_id)),
                f"purchase {purchase_id} in epoch {number}: the store holds {_line(stored.get(purchase_id))}, "
                f"the re-derivation gives {_line(lines.get(purchase_id))}",
            )
        return {purchase_id: extra for purchase_id, (_, _, extra) in lines.items()}


def _document(versions: list[Version]) -> str:
    """The canonical JSON the epoch commits to (docs/epochs.md), built here from the store's rows."""
    listing = [
        {
            "brand": v.brand,
            "effective_epoch": v.effective_epoch,
            "rows": [{"category": c, "extra_bps": x, "tier": t} for (c, t), x in sorted(v.rows.items())],
            "version": v.version,
        }
        for v in versions
    ]
    return json.dumps(listing, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _lines_hash(lines: dict[int, tuple[str, str, int]]) -> str:
    text = "\n".join(f"{p}|{c}|{t}|{x}" for p, (c, t, x) in sorted(lines.items()))
    return "0x" + hashlib.sha256(text.encode()).hexdigest()


def _line(value: tuple[str, str, int] | None) -> str:
    return "no extra rate" if value is None else f"{value[0]} / {value[1]}: +{value[2]} bps"
