"""Brand earning rules through the epochs on a real anvil and SQLite: the extra bps paid per purchase category and
tier, funded by the brand, the versions committed, the next epoch's version, and the audit re-deriving it all (a
rule row or an item's category changed after the epoch fails `audit verify`; an erased customer's still passes)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from app.analytics.rules import default_rules
from app.audit import Verifier
from app.chain.gateway import ChainGateway
from app.models.accounts import Brand, Customer
from app.models.brand_rates import EpochBrandRateLine, EpochBrandRules
from app.models.epochs import EpochDebit, EpochReward, EpochScore
from app.models.purchases import PurchaseItem
from app.services import brand_rates, privacy
from app.services.brand_rates import RuleRow
from app.services.epochs import EpochRunner
from tests import factories

pytestmark = pytest.mark.chain

UNITS = 10**18
SCALE = UNITS // 10_000
T0 = datetime(2026, 1, 1, tzinfo=UTC)
RULES = default_rules()
TIERS = {t.name: t.cashback_bps for t in RULES.tiers}
BASE, BASE_BPS = RULES.tiers[-1].name, RULES.tiers[-1].cashback_bps  # nobody is graded before epoch 1
# Version 1: shoes earn more at every tier (the most the bounds allow at the top), bags a little at the base tier.
SHOES = {
    name: min(RULES.brand_rates.max_extra_bps, RULES.brand_rates.max_total_bps - bps) for name, bps in TIERS.items()
}
BAGS = 30


def bought(engine, customer: int, brand: int, day: int, amount: int, ref: str, *items: tuple[str | None, int, int]):
    """A purchase with its items (category, quantity, unit price); returns its id."""
    purchase_id = factories.purchase(engine, customer, brand, T0 + timedelta(days=day), amount, ref)
    with Session(engine) as session:
        for k, (category, quantity, price) in enumerate(items):
            session.add(PurchaseItem(purchase_id=purchase_id, item_id=f"{ref}-{k}", category=category,
                                     quantity=quantity, unit_price=price))  # fmt: skip
        session.commit()
    return purchase_id


def create(engine, brand_id: int, rows: list[RuleRow]) -> brand_rates.RulesVersion:
    with Session(engine) as session:
        brand = session.get(Brand, brand_id)
        assert brand is not None
        return brand_rates.create_version(session, brand, rows)


def epoch_root(settings, engine) -> dict:
    report = Verifier(settings, engine, ChainGateway(settings)).run()
    return next(c for c in report["checks"] if c["check"] == "epoch_root")


def test_brand_rates_pay_per_category_and_tier_from_the_next_epoch_and_the_audit_re_derives_them(
    settings, engine, w3, deployment_of, operator, dev_accounts
) -> None:
    d = deployment_of(settings)
    alice, bob, acme_key, mall_key = dev_accounts[0], dev_accounts[1], dev_accounts[5], dev_accounts[6]
    acme = factories.funded_brand(engine, w3, d, operator, acme_key, "Acme", 10**6 * UNITS)
    mall = factories.funded_brand(engine, w3, d, operator, mall_key, "Mall", 10**6 * UNITS)
    a, b = factories.customer(engine, alice.address), factories.customer(engine, bob.address)
    first = create(engine, acme, [RuleRow("shoes", t, x) for t, x in SHOES.items()] + [RuleRow("bags", BASE, BAGS)])
    assert first.effective_epoch == 1

    # Epoch 1. Alice's shoes hold most of her basket's value; bob's basket is a tie between bags and shoes, so
    # bags (first by name); bob's purchase without items, a category outside the programme and Mall (no rules)
    # earn the tier rate only.
    alice_shoes = bought(engine, a, acme, 1, 100_000, "a1", ("shoes", 2, 30_000), ("bags", 1, 40_000))
    bob_tie = bought(engine, b, acme, 2, 50_000, "b1", ("bags", 1, 25_000), ("shoes", 1, 25_000), (None, 1, 99_000))
    bought(engine, b, acme, 3, 10_000, "b2")
    bought(engine, a, acme, 4, 7_000, "a2", ("socks", 1, 7_000))
    bought(engine, a, mall, 5, 20_000, "a3", ("shoes", 1, 20_000))
    runner = EpochRunner(settings, engine, ChainGateway(settings))
    one = runner.run(T0 + timedelta(days=30)).epoch
    extra_1 = {alice_shoes: SHOES[BASE], bob_tie: BAGS}
    with Session(engine) as session:
        earned = {
            r.account: r.purchase_cashback for r in session.exec(select(EpochReward).where(EpochReward.epoch == 1))
        }
        assert earned[alice.address.lower()] == (100_000 * (BASE_BPS + SHOES[BASE]) + 27_000 * BASE_BPS) * SCALE
        assert earned[bob.address.lower()] == (50_000 * (BASE_BPS + BAGS) + 10_000 * BASE_BPS) * SCALE
        debits = {r.brand: r.purchase_cashback for r in session.exec(select(EpochDebit).where(EpochDebit.epoch == 1))}
        acme_address = acme_key.address.lower()
        assert debits[acme_address] == (167_000 * BASE_BPS + 100_000 * SHOES[BASE] + 50_000 * BAGS) * SCALE
        assert debits[mall_key.address.lower()] == 20_000 * BASE_BPS * SCALE  # Mall funds no extra
        lines = session.exec(select(EpochBrandRateLine).where(EpochBrandRateLine.epoch == 1)).all()
        assert {(x.purchase_id, x.category, x.tier, x.extra_bps) for x in lines} == {
            (alice_shoes, "shoes", BASE, SHOES[BASE]),
            (bob_tie, "bags", BASE, BAGS),
        }
        assert [(r.brand_id, r.version) for r in session.exec(select(EpochBrandRules))] == [(acme, 1)]
    manifest = json.loads(one.manifest or "{}")["brand_rates"]
    rows = [{"category": "shoes", "extra_bps": x, "tier": t} for t, x in SHOES.items()]
    rows = sorted(
        [*rows, {"category": "bags", "extra_bps": BAGS, "tier": BASE}], key=lambda r: (r["category"], r["tier"])
    )
    document = [{"brand": acme_address, "effective_epoch": 1, "rows": rows, "version": 1}]
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"))
    assert manifest["hash"] == "0x" + hashlib.sha256(canonical.encode()).hexdigest()
    assert manifest["versions"] == [{"brand": acme_address, "version": 1}] and manifest["lines"] == 2
    assert manifest["extra"] == str(
        sum(won * extra_1[p] for p, won in ((alice_shoes, 100_000), (bob_tie, 50_000))) * SCALE
    )
    factories.pass_challenge_window(w3, int(one.finalises_at.timestamp()))

    # Version 2, made after epoch 1: shoes only, +10 at every tier, from epoch 2 on; at the customers' new tiers.
    second = create(engine, acme, [RuleRow("shoes", t, 10) for t in TIERS])
    assert second.effective_epoch == 2
    alice_2 = bought(engine, a, acme, 40, 200_000, "a4", ("shoes", 1, 200_000))
    bought(engine, b, acme, 41, 30_000, "b3", ("bags", 1, 30_000))  # bags earn nothing extra any more
    two = runner.run(T0 + timedelta(days=60)).epoch
    with Session(engine) as session:
        tier = {s.customer_id: s for s in session.exec(select(EpochScore).where(EpochScore.epoch == 1))}
        reward = session.get(EpochReward, (2, alice.address.lower()))
        assert reward is not None
        assert reward.purchase_cashback == 200_000 * (tier[a].cashback_bps + 10) * SCALE
        (line,) = session.exec(select(EpochBrandRateLine).where(EpochBrandRateLine.epoch == 2)).all()
        assert (line.purchase_id, line.tier, line.extra_bps) == (alice_2, tier[a].tier, 10)
        assert [
            (r.brand_id, r.version) for r in session.exec(select(EpochBrandRules).where(EpochBrandRules.epoch == 2))
        ] == [(acme, 2)]
    assert json.loads(two.manifest or "{}")["brand_rates"]["versions"] == [{"brand": acme_address, "version": 2}]
    factories.pass_challenge_window(w3, int(two.finalises_at.timestamp()))

    # The audit re-derives both epochs; erasing bob (his items go) changes nothing it can check.
    assert epoch_root(settings, engine)["status"] == "ok"
    with Session(engine) as session:
        customer = session.get(Customer, b)
        assert customer is not None
        privacy.erase(session, customer)
    check = epoch_root(settings, engine)
    assert check["status"] == "ok", check["discrepancies"]

    # A rule row changed after its epoch: the committed hash no longer matches and the root moves.
    with engine.begin() as con:
        con.execute(
            text("UPDATE brand_earning_rule_rows SET extra_bps = extra_bps + 1 WHERE category = 'shoes' AND tier = :t "
                 "AND rules_id = (SELECT id FROM brand_earning_rules WHERE version = 1)"),
            {"t": BASE},
        )  # fmt: skip
    check = epoch_root(settings, engine)
    assert check["status"] == "failed"
    fields = {(x["epoch"], x["record"].get("field")) for x in check["discrepancies"]}
    assert {(1, "brand_rates.hash"), (1, "root")} <= fields, fields
    assert (2, "brand_rates.hash") not in fields  # epoch 2 used version 2, untouched
    with engine.begin() as con:
        con.execute(text("UPDATE brand_earning_rule_rows SET extra_bps = extra_bps - 1 WHERE extra_bps = :x"),
                    {"x": SHOES[BASE] + 1})  # fmt: skip
    assert epoch_root(settings, engine)["status"] == "ok"

    # An item's category changed after its epoch: the purchase's line is named and the lines hash fails.
    with engine.begin() as con:
        con.execute(text("UPDATE purchase_items SET category = 'bags' WHERE purchase_id = :p"), {"p": alice_shoes})
    check = epoch_root(settings, engine)
    named = {(x["epoch"], x["record"].get("field"), x["record"].get("purchase_id")) for x in check["discrepancies"]}
    assert {(1, "brand_rates.lines_hash", None), (1, "brand rate line", alice_shoes)} <= named, named
