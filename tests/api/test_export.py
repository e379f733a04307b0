"""The export (`GET /me/export`, GDPR art. 20): every table holding the customer's data is in it, each with the
customer's rows exactly as the database holds them, and no one else's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import Table, func, or_, select
from sqlmodel import Session, SQLModel

import app.models  # noqa: F401  (every table registered on SQLModel.metadata)
from app.chain.transactions import Sender
from app.models.accounts import Customer
from app.models.auto_claims import ClaimBatch, ClaimLine
from app.models.brand_rates import EpochBrandRateLine
from app.models.crm import Campaign, CampaignMember, Redemption
from app.models.payments import PaymentQuote
from app.models.purchases import InterestEvent, Purchase, PurchaseItem, PurchaseRefund, PurchaseVoid
from app.models.types import UintString
from app.models.upkeep import EpochUpkeepLine, UpkeepEvent
from app.services.data_export import EXPORTED, NOT_EXPORTED
from tests import factories
from tests.conftest import sign_in

# The rule for "a table holding a customer's data", read off the schema rather than off the export:
# a column that is a foreign key to customers.id or is named customer_id (epoch tables keep the id without
# a foreign key), or a column that holds a wallet address under one of these names (the mirror and the
# epochs know customers only by address); and, transitively, a table whose foreign key points at a row
# of such a table (a purchase's items and voids belong to the purchase's customer). Tables deliberately
# left out (NOT_EXPORTED, with the reason in app/services/data_export.py) hand nothing down: brands.address
# is a brand's own address, and a brand's offers are not a customer's data.
ADDRESS_COLUMNS = frozenset(
    {"address", "customer", "customer_address", "account", "signer", "payer", "from_address", "to_address"}
)


def _direct(table: Table) -> bool:
    return table.name == "customers" or any(
        c.name == "customer_id"
        or c.name in ADDRESS_COLUMNS
        or any(fk.target_fullname == "customers.id" for fk in c.foreign_keys)
        for c in table.columns
    )


def customer_tables() -> set[str]:
    found = {t.name for t in SQLModel.metadata.sorted_tables if _direct(t)}
    while True:
        parents = found - set(NOT_EXPORTED)
        more = {
            t.name
            for t in SQLModel.metadata.sorted_tables
            if any(fk.column.table.name in parents for c in t.columns for fk in c.foreign_keys)
        }
        if more <= found:
            return found
        found |= more


def test_every_table_holding_a_customers_data_is_exported_or_excluded_with_a_reason() -> None:
    tables = customer_tables()
    # The rule finds what it must (else it could pass by finding nothing).
    assert {"customers", "purchases", "purchase_items", "mirror_accesses", "epoch_rewards", "epoch_scores"} <= tables
    assert "offers" not in tables and "access_requests" not in tables  # a brand's, not a customer's
    missing = tables - set(EXPORTED) - set(NOT_EXPORTED)
    assert not missing, f"tables holding a customer's data but neither exported nor excluded with a reason: {missing}"
    assert set(EXPORTED) <= tables, "exported tables the rule does not see as a customer's (fix the rule or the list)"
    assert set(NOT_EXPORTED) <= tables and not set(NOT_EXPORTED) & set(EXPORTED)


def _rows_of(session: Session, table: Table, customer: Customer) -> list[tuple]:
    """The customer's rows of `table` by the rule above, independently of the export's own queries."""
    where = []
    for c in table.columns:
        if c.name == "customer_id" or (table.name == "customers" and c.name == "id"):
            where.append(c == customer.id)
        elif c.name in ADDRESS_COLUMNS:
            where.append(func.lower(c) == customer.address.lower())
        for fk in c.foreign_keys:
            parent = fk.column.table
            if parent.name != "customers" and parent.name in EXPORTED and parent.name != table.name:
                keys = [r[0] for r in _rows_of(session, parent, customer)]
                where.append(c.in_(keys))
    key = list(table.primary_key.columns)
    return [tuple(r) for r in session.execute(select(*key).where(or_(*where)).order_by(*key)).all()]


@pytest.mark.chain
def test_export_holds_every_row_of_the_customer_as_the_database_does(
    client, settings, w3, deployment_of, operator, relayer, dev_accounts
) -> None:
    engine = client.app.state.engine
    ledger = factories.build_ledger(settings, engine, w3, deployment_of(settings), operator, relayer, dev_accounts)
    bob = ledger.bob
    headers = sign_in(client, bob)
    assert client.patch("/me/personal", json={"name": "Bob", "phone": "+82 10 1234 5678"}, headers=headers).is_success
    with Session(engine) as session:
        me = session.execute(select(Customer).where(Customer.address == bob.address)).scalar_one()
        me_id = me.id
        brand_id = session.execute(select(Purchase.brand_id).where(Purchase.customer_id == me.id)).scalars().first()
        first, second = (
            session.execute(select(Purchase.id).where(Purchase.customer_id == me.id).order_by(Purchase.id))
            .scalars()
            .all()
        )
        item = PurchaseItem(purchase_id=first, item_id="sku-1", category="shoes", style="minimal", unit_price=50_000)
        session.add(item)
        session.add(PurchaseVoid(purchase_id=second, reason="returned", voided_by="operator"))
        session.add(PurchaseRefund(purchase_id=first, customer_id=me.id, brand_id=brand_id, external_id="r-1",
                                   refunded_at=datetime.now(UTC), amount=1_000))  # fmt: skip
        session.add(PaymentQuote(reference="0x" + "0e" * 32, customer_id=me.id, brand_id=brand_id,
                                 payer=bob.address, amount=10**18, nonce=0, deadline=2**40))  # fmt: skip
        session.commit()
    at = datetime.now(UTC) - timedelta(days=1)
    factories.interest_event(engine, me_id, brand_id, at, "cart_abandon", "bags", "vintage", "bob-e-1")
    factories.interest_event(engine, 1, brand_id, at, "view", "bags", "vintage", "someone-else")  # alice's
    offer_id = factories.delivered_offer(engine, brand_id, "coupon", [me_id, 1], at, coupon_code="BOB10")
    with Session(engine) as session:
        session.add(Redemption(offer_id=offer_id, customer_id=me_id, purchase_id=first))
        made = factories.offer(engine, brand_id)
        campaign = Campaign(
            brand_id=brand_id, offer_id=made.id, rule_id=factories.rule(engine, brand_id, made.id).id, name="C",
            holdout_bps=1000, metric="conversion", starts_at=at, ends_at=at + timedelta(days=1),
            campaign_key="0x" + "01" * 32, salt="0x" + "02" * 32, params_hash="0x" + "03" * 32,
            commitment="0x" + "04" * 32,
        )  # fmt: skip
        session.add(campaign)
        session.commit()
        session.add(CampaignMember(campaign_id=campaign.id, customer_id=me_id, bucket=17, holdout=True))
        session.add(CampaignMember(campaign_id=campaign.id, customer_id=1, bucket=18, holdout=False))
        session.commit()
    token, _, _ = factories.contracts(w3, deployment_of(settings))
    Sender(w3, bob).send(token.functions.transfer(ledger.alice.address, 1))  # a transfer from bob, not only to him
    factories.api_grant(client, bob, brand_id, ["interests"])  # a consent receipt and its signed change
    headers = sign_in(client, bob)
    assert client.put("/me/auto-claim", json={"enabled": True}, headers=headers).is_success
    with Session(engine) as session:  # an automatic claim the relayer made for bob (the job's own tests run it)
        batch = ClaimBatch(epoch=1, tx_hash="0x" + "ab" * 32, raw=b"\x01", accounts=f'["{bob.address.lower()}"]')
        session.add(batch)
        session.flush()
        session.add(ClaimLine(epoch=1, account=bob.address.lower(), batch_id=batch.id, amount=5, paid=True))
        # A brand's own extra rate on bob's purchase (the epoch tests compute them), and one on someone else's.
        for purchase_id, customer_id in ((first, me_id), (10**6, 1)):
            line = EpochBrandRateLine(epoch=1, purchase_id=purchase_id, customer_id=customer_id, brand_id=brand_id,
                                      category="shoes", tier="bronze", extra_bps=50)  # fmt: skip
            session.add(line)
        # what an epoch decided for bob's upkeep event of the PATCH above (the epoch's own tests compute it)
        event = session.execute(select(UpkeepEvent).where(UpkeepEvent.customer_id == me_id)).scalars().first()
        assert event is not None
        session.add(EpochUpkeepLine(epoch=1, event_id=event.id, customer_id=me_id, field=event.field,
                                    kind=event.kind, reason="paid", paid=10**18))  # fmt: skip
        session.commit()

    response = client.get("/me/export", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"].startswith("attachment;")
    archive = response.json()
    assert archive["address"] == bob.address and archive["exported_at"].endswith("Z")
    assert archive["profile"]["contact"]["name"] == "Bob"
    assert archive["not_exported"] == NOT_EXPORTED
    exported = {t["table"]: t["rows"] for t in archive["tables"]}
    assert set(exported) == customer_tables() - set(NOT_EXPORTED)  # the running route, not only the list

    with Session(engine) as session:
        me = session.get(Customer, me_id)
        assert me is not None
        for name, rows in exported.items():
            table = SQLModel.metadata.tables[name]
            key = [c.name for c in table.primary_key.columns]
            expected = _rows_of(session, table, me)
            got = [tuple(_as_stored(table, k, r[k]) for k in key) for r in rows]
            assert sorted(got) == sorted(expected), f"{name}: exported {got}, the database holds {expected}"
            for row in rows:
                for column, value in row.items():
                    if isinstance(table.c[column].type, UintString):
                        assert isinstance(value, str) and value.isdigit(), (name, column, value)
                    assert not isinstance(value, int) or abs(value) < 2**53, (name, column, value)
                    if isinstance(table.c[column].type, sa.DateTime) and value is not None:
                        assert value.endswith("Z"), (name, column, value)
        # Enough of the scenario reached the export for the comparison above to mean something.
        for name in EXPORTED:
            if name not in ("signed_requests", "mirror_skipped_accesses", "epoch_carries", "epoch_offer_lines",
                            "epoch_offer_rewards", "behaviour_changes",
                            "payments"):  # fmt: skip  # payments: mirrored from the chain (tests/api/test_payments.py)
                assert exported[name], f"the scenario left {name} empty for bob"
        assert "token_hash" not in exported["customer_sessions"][0]
        (purchase,) = [r for r in exported["purchases"] if r["id"] == first]
        assert purchase["amount"] == 50_000 and purchase["purchased_at"].endswith("Z")
        cumulative = [r["cumulative"] for r in exported["epoch_rewards"]]
        assert cumulative and all(isinstance(c, str) for c in cumulative)
        receipt = exported["consent_receipts"][0]
        assert receipt["receipt_hash"].startswith("0x") and receipt["document"]  # the document whose hash is on chain
        assert all(r["tx_hash"].startswith("0x") for r in exported["mirror_accesses"])
        assert {r["customer_id"] for r in exported["deliveries"]} == {me.id}
        assert {r["from_address"].lower() for r in exported["mirror_transfers"]} > {bob.address.lower()}
        assert {r["customer"].lower() for r in exported["mirror_consents"]} == {bob.address.lower()}
        count = session.execute(select(func.count()).select_from(InterestEvent)).scalar_one()
        assert len(exported["interest_events"]) < count  # alice's event stayed out


def _as_stored(table: Table, column: str, value: object) -> object:
    """An exported key back in the database's type (wide integers come as strings, times as RFC 3339)."""
    kind = table.c[column].type
    if isinstance(value, str) and isinstance(kind, UintString | sa.Integer):
        return int(value)
    if isinstance(value, str) and isinstance(kind, sa.DateTime):
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value


def test_export_refuses_everyone_but_the_customer(client, brand_and_headers, auditor_headers) -> None:
    assert client.get("/me/export").status_code == 401
    assert client.get("/me/export", headers=brand_and_headers[1]).status_code == 403
    assert client.get("/me/export", headers=auditor_headers).status_code == 403


@pytest.mark.chain
def test_export_after_erasure_holds_what_the_erasure_kept(client, settings, w3, deployment_of, operator, dev_accounts):
    engine = client.app.state.engine
    alice = dev_accounts[0]
    headers = sign_in(client, alice)
    client.patch("/me/personal", json={"name": "Kim Alice", "region": "Busan"}, headers=headers)
    me_id = factories.customer(engine, alice.address)
    brand = factories.funded_brand(engine, w3, deployment_of(settings), operator, dev_accounts[5], "Acme", 10**24)
    at = datetime.now(UTC) - timedelta(days=1)
    bought = factories.purchase(engine, me_id, brand, at, 80_000, "o-1")
    with Session(engine) as session:
        session.add(PurchaseItem(purchase_id=bought, item_id="sku", category="shoes", style="minimal", unit_price=1))
        session.commit()
    factories.interest_event(engine, me_id, brand, at, "view", "shoes", "minimal", "e-1")
    assert client.delete("/me/data", headers=headers).status_code == 200
    archive = client.get("/me/export", headers=sign_in(client, alice)).json()
    tables = {t["table"]: t["rows"] for t in archive["tables"]}
    (me,) = tables["customers"]
    assert me["name"] is None and me["region"] is None and me["erased_at"].endswith("Z")
    assert [p["amount"] for p in tables["purchases"]] == [80_000]  # amounts and times stay (rewards, audit)
    assert tables["purchase_items"] == [] and tables["interest_events"] == []
    assert archive["profile"]["contact"] == {"name": None, "email": None, "phone": None}
