"""Audit check: every recorded access was covered by consent at its block (a pure replay of the registry's events)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from app.audit.chain import ChainEvent
from app.audit.checks import where
from app.audit.report import CheckResult


def check_consents(result: CheckResult, events: list[ChainEvent], block_time: Callable[[int], int]) -> None:
    """Replays registry events in chain order; every AccessRecorded customer must be covered at that moment."""
    consents: dict[tuple[str, str, int], dict[str, int]] = {}
    brands: dict[str, bool] = {}
    batches = accesses = value = 0
    kinds: dict[str, int] = defaultdict(int)
    for e in events:
        if e.contract != "ConsentRegistry":
            continue
        a = e.args
        if e.name in ("BrandRegistered", "BrandDeregistered"):
            brands[a["brand"].lower()] = e.name == "BrandRegistered"
        elif e.name in ("ConsentGranted", "ConsentNarrowed", "ConsentRevoked"):
            kinds[e.name] += 1
            key = (a["customer"].lower(), a["brand"].lower(), int(a["purpose"]))
            if e.name == "ConsentGranted":
                consents[key] = {
                    "categories": int(a["categories"]),
                    "expires_at": int(a["expiresAt"]),
                    "price": int(a["price"]),
                    "granted_block": e.block,
                }
            elif e.name == "ConsentNarrowed" and key in consents:
                consents[key] |= {"categories": int(a["categories"]), "expires_at": int(a["expiresAt"])}
            elif e.name == "ConsentNarrowed":
                result.fail(where(e), "a consent in force", None, "a narrowing of a consent never granted")
            else:  # a revoke with no consent in force is legitimate: it bars grants signed before it
                consents.pop(key, None)
        elif e.name == "AccessRecorded":
            batches += 1
            brand, purpose, categories = a["brand"].lower(), int(a["purpose"]), int(a["categories"])
            customers, prices = list(a["customers"]), [int(p) for p in a["prices"]]
            if not brands.get(brand, False):
                result.fail(
                    where(e, brand=a["brand"]),
                    "a registered brand",
                    "not registered",
                    f"brand {a['brand']} was not registered at block {e.block}",
                )
            if categories == 0:
                result.fail(where(e), "categories != 0", 0, "an access to no category")
            if len(customers) != len(prices) or sum(prices) != int(a["total"]):
                result.fail(where(e), str(sum(prices)), str(a["total"]), "the batch total is not the sum of its prices")
            now = block_time(e.block)
            for position, (customer, price) in enumerate(zip(customers, prices, strict=False)):
                accesses += 1
                value += price
                record = where(e, position=position, customer=customer, brand=a["brand"], purpose=purpose)
                c = consents.get((customer.lower(), brand, purpose))
                if c is None:
                    result.fail(
                        record,
                        "a consent in force",
                        None,
                        f"no consent of {customer} to {a['brand']} for purpose {purpose} at block {e.block}",
                    )
                    continue
                if c["categories"] & categories != categories:
                    result.fail(
                        record,
                        f"categories within {c['categories']:#x}",
                        f"{categories:#x}",
                        f"categories {categories:#x} asked, consent (granted at block "
                        f"{c['granted_block']}) covers only {c['categories']:#x}",
                    )
                if c["expires_at"] and c["expires_at"] <= now:
                    result.fail(
                        record,
                        f"expiry after {now}",
                        c["expires_at"],
                        f"consent expired at {c['expires_at']}, block {e.block} is at {now}",
                    )
                if price != c["price"]:
                    result.fail(
                        record,
                        str(c["price"]),
                        str(price),
                        "the price recorded differs from the consent's price at that moment",
                    )
    result.figures = {
        "access_batches": batches,
        "customer_accesses": accesses,
        "access_value": value,
        "grants": kinds["ConsentGranted"],
        "narrowings": kinds["ConsentNarrowed"],
        "revocations": kinds["ConsentRevoked"],
        "consents_in_force": len(consents),
        "brands_registered": sum(brands.values()),
    }
    result.summary = (
        f"{accesses} customer accesses in {batches} batches replayed against {sum(kinds.values())} consent "
        f"events: {len(result.discrepancies)} not covered"
    )
