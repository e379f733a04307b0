"""Brands' extra rates: the epoch job's DuckDB SQL (app/services/epoch_brand_rates.py) equals the pandas reference
(app/analytics/reference.py) on random purchases, items, tiers and rule versions, over a real SQLite store; and the
programme's bounds load, and refuse what they must."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete
from sqlmodel import Session

from app import db
from app.analytics import rewards
from app.analytics.reference import BRAND_EXTRA_COLUMNS, brand_extra_reference
from app.analytics.rules import DEFAULT_RULES_PATH, InvalidRules, default_rules, parse_rules
from app.analytics.store import analytics
from app.config import Settings
from app.models.accounts import Brand, Customer
from app.models.brand_rates import BrandEarningRuleRow, BrandEarningRules
from app.models.epochs import Epoch, EpochScore
from app.models.purchases import Purchase, PurchaseItem
from app.services import epoch_brand_rates

RULES = default_rules()
TIERS = [t.name for t in RULES.tiers]
CATEGORIES = list(RULES.brand_rates.categories[:3]) + ["socks"]  # a few of the programme's and one outside it
AS_OF = datetime(2026, 2, 1, tzinfo=UTC)
EPOCH = 3
VERSION_COLUMNS = ["brand_id", "version", "effective_epoch", "category", "tier", "extra_bps"]

items = st.lists(
    st.tuples(st.sampled_from([*CATEGORIES, None]), st.integers(1, 3), st.sampled_from([0, 1_000, 2_500, 10**12])),
    max_size=4,
)
purchases = st.lists(st.tuples(st.integers(1, 3), st.integers(1, 2), items), min_size=1, max_size=12)
rule_rows = st.dictionaries(
    st.tuples(st.sampled_from(CATEGORIES[:3]), st.sampled_from(TIERS)), st.integers(1, 100), max_size=6
)
versions = st.lists(st.tuples(st.integers(1, 2), st.integers(1, EPOCH + 1), rule_rows), max_size=5)
tiers = st.dictionaries(st.integers(1, 3), st.sampled_from(TIERS))


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Settings:
    s = Settings(environment="test", data_dir=tmp_path_factory.mktemp("brand-rates"), start_anvil=False)
    db.migrate(s)
    return s


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bought=purchases, made=versions, graded=tiers)
def test_the_epochs_extra_rates_equal_the_pandas_reference(store, bought, made, graded) -> None:
    engine = db.make_engine(store.sqlalchemy_url)
    with Session(engine) as session:
        for model in (BrandEarningRuleRow, BrandEarningRules, PurchaseItem, Purchase, EpochScore, Customer, Brand):
            session.execute(delete(model))
        session.add_all(Brand(id=i, name=f"b{i}", address="0x" + f"{i:02x}" * 20) for i in (1, 2))
        session.add_all(Customer(id=i, address="0x" + f"{i + 16:02x}" * 20) for i in (1, 2, 3))
        session.flush()
        item_rows, version_rows = [], []
        for n, (customer, brand, basket) in enumerate(bought, start=1):
            session.add(Purchase(id=n, customer_id=customer, brand_id=brand, external_id=f"o{n}", amount=1_000 + n,
                                 purchased_at=AS_OF - timedelta(days=n)))  # fmt: skip
            for k, (category, quantity, price) in enumerate(basket):
                session.add(PurchaseItem(purchase_id=n, item_id=f"{n}-{k}", category=category, quantity=quantity,
                                         unit_price=price))  # fmt: skip
                item_rows.append((n, category, quantity, price))
        numbers = {1: 0, 2: 0}
        for k, (brand, effective, rows) in enumerate(made, start=1):
            numbers[brand] += 1
            session.add(BrandEarningRules(id=k, brand_id=brand, version=numbers[brand], effective_epoch=effective))
            session.flush()
            for (category, tier), extra in rows.items():
                session.add(BrandEarningRuleRow(rules_id=k, category=category, tier=tier, extra_bps=extra))
                version_rows.append((brand, numbers[brand], effective, category, tier, extra))
        for customer, tier in graded.items():
            score = EpochScore(epoch=EPOCH - 1, customer_id=customer, recency_days=1, frequency=1, monetary_total=1,
                               monetary_avg=1, r=1, f=1, m=1, segment="new", tier=tier, cashback_bps=0)  # fmt: skip
            session.add(score)
        session.commit()
    engine.dispose()

    epoch = Epoch(number=EPOCH, status="open", as_of=AS_OF, max_purchase_id=len(bought), from_block=0, to_block=0,
                  scheme="quintile", rules_hash="")  # fmt: skip
    with analytics(store) as con:
        rewards.load_purchases(con, max_purchase_id=len(bought), as_of=AS_OF, not_voided="TRUE")
        rewards.cover(con, None)
        epoch_brand_rates.compute(con, epoch, RULES)
        found = con.execute(f"SELECT {', '.join(BRAND_EXTRA_COLUMNS)} FROM brand_extra ORDER BY purchase_id").fetchall()
        epoch_brand_rates.drop(con)
    covered = pd.DataFrame(
        [(n, c, b) for n, (c, b, _) in enumerate(bought, start=1)], columns=["id", "customer_id", "brand_id"]
    )
    expected = brand_extra_reference(
        covered,
        pd.DataFrame(item_rows, columns=["purchase_id", "category", "quantity", "unit_price"]),
        pd.DataFrame(version_rows, columns=VERSION_COLUMNS),
        pd.DataFrame(list(graded.items()), columns=["customer_id", "tier"]),
        epoch=EPOCH,
        base_tier=TIERS[-1],
    )
    assert [tuple(int(v) if isinstance(v, int) else v for v in row) for row in found] == [
        tuple(row) for row in expected.itertuples(index=False)
    ]


def test_a_tie_in_value_goes_to_the_first_category_by_name() -> None:
    covered = pd.DataFrame([(1, 1, 1)], columns=["id", "customer_id", "brand_id"])
    basket = pd.DataFrame([(1, "shoes", 1, 500), (1, "bags", 2, 250)], columns=["purchase_id", "category", "quantity",
                                                                              "unit_price"])  # fmt: skip
    rows = pd.DataFrame([(1, 1, 1, c, "bronze", x) for c, x in (("bags", 7), ("shoes", 9))], columns=VERSION_COLUMNS)
    extra = brand_extra_reference(covered, basket, rows, pd.DataFrame(columns=["customer_id", "tier"]), epoch=1,
                                  base_tier="bronze")  # fmt: skip
    assert extra[["category", "extra_bps"]].values.tolist() == [["bags", 7]]


def _programme(**brand_rates: object) -> dict:
    data = tomllib.loads(DEFAULT_RULES_PATH.read_text())
    data["brand_rates"] |= brand_rates
    return data


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"max_extra_bps": 0}, "brand_rates.max_extra_bps: must be 1..10000, got 0"),
        ({"max_total_bps": 250}, "brand_rates.max_total_bps: must be at least the highest tier's rate (300)"),
        ({"categories": ["shoes", "shoes"]}, "brand_rates.categories: names must be unique"),
        ({"categories": ["Shoes"]}, "brand_rates.categories[0]: 'Shoes' must be lower case"),
        ({"categories": []}, "brand_rates.categories: must be a non-empty array"),
        ({"max_rows": 1.5}, "brand_rates.max_rows: must be an integer"),
        ({"extra": 1}, "brand_rates: unknown key(s) extra"),
    ],
)
def test_the_bounds_refuse_what_they_must(changes, words) -> None:
    with pytest.raises(InvalidRules) as refused:
        parse_rules(_programme(**changes))
    assert words in str(refused.value)


def test_the_shipped_bounds_are_integers_within_the_tiers() -> None:
    b = RULES.brand_rates
    assert b.max_total_bps >= RULES.tiers[0].cashback_bps and 0 < b.max_extra_bps <= b.max_total_bps
    assert "brand_rates" in RULES.__dataclass_fields__ and len(set(b.categories)) == len(b.categories)
