"""Issue 14 item 5: spending CASH at a brand with a signed permit, relayed in one transaction; the catalogue."""

from __future__ import annotations

import pytest
from eth_account import Account
from sqlmodel import Session, select

from app.chain.transactions import Sender
from app.models.mirror import MirrorPayment
from app.models.payments import PaymentQuote
from tests import factories
from tests.api.json_rules import assert_json_rules
from tests.conftest import make_brand, sign_in

pytestmark = pytest.mark.chain

CASH = 10**18


@pytest.fixture()
def shop(client, settings, w3, deployment_of, operator, admin_headers, dev_accounts):
    """A brand (dev key 5) and a customer (dev key 0) holding 100 CASH, signed in."""
    d = deployment_of(settings)
    brand, brand_headers = make_brand(client, admin_headers, dev_accounts[5], name="Acme")
    customer = dev_accounts[0]
    factories.cash_holder(w3, d, operator, dev_accounts[5], customer.address, 100 * CASH)
    return d, brand, brand_headers, customer, sign_in(client, customer)


def _balances(w3, d, *addresses: str) -> list[int]:
    token, _, _ = factories.contracts(w3, d)
    return [token.functions.balanceOf(a).call() for a in addresses]


def test_a_signed_permit_pays_the_brand_and_the_brand_sees_it(client, w3, engine, shop, dev_accounts) -> None:
    d, brand, brand_headers, customer, headers = shop
    cid = factories.customer(engine, customer.address)
    factories.purchase(engine, cid, brand["id"], factories.clock.utcnow(), 45_000, "ORDER-7")
    before = _balances(w3, d, customer.address, brand["address"])
    body = factories.signed_payment(
        client, headers, customer, brand_id=brand["id"], amount=str(30 * CASH), purchase_external_id="ORDER-7"
    )
    paid = client.post("/me/payments", headers=headers, json=body)
    assert paid.status_code == 200, paid.text
    p = paid.json()
    assert p["amount"] == str(30 * CASH) and p["purchase_external_id"] == "ORDER-7" and p["brand_name"] == "Acme"
    assert p["paid_at"].endswith("Z")
    after = _balances(w3, d, customer.address, brand["address"])
    assert after == [before[0] - 30 * CASH, before[1] + 30 * CASH]
    assert w3.eth.get_transaction_receipt(p["tx_hash"])["from"] != customer.address  # relayed: no gas for them

    mine = client.get("/me/payments", headers=headers).json()
    received = client.get("/brands/me/payments", headers=brand_headers).json()
    assert [m["tx_hash"] for m in mine] == [r["tx_hash"] for r in received] == [p["tx_hash"]]
    assert received[0]["purchase_external_id"] == "ORDER-7" and received[0]["reference"] == body["reference"]
    assert_json_rules(received)
    again = client.post("/me/payments", headers=headers, json=body)
    assert again.status_code == 409, again.text

    # The brand puts what it received back into its budget with its own key (approve + deposit).
    token, _, distributor = factories.contracts(w3, d)
    budget = distributor.functions.budgetOf(brand["address"]).call()
    owner = Sender(w3, dev_accounts[5])
    owner.send(token.functions.approve(d.distributor, 30 * CASH))
    owner.send(distributor.functions.deposit(brand["address"], 30 * CASH))
    assert distributor.functions.budgetOf(brand["address"]).call() == budget + 30 * CASH


def test_bad_payments_are_refused_before_sending_and_write_nothing(client, w3, engine, shop, dev_accounts) -> None:
    d, brand, _, customer, headers = shop
    before = _balances(w3, d, customer.address, brand["address"])
    quote = {"brand_id": brand["id"], "amount": str(10 * CASH)}

    unknown = client.post("/me/payments/quote", headers=headers, json={"brand_id": 999, "amount": "1"})
    assert unknown.status_code == 404 and "brand 999" in unknown.json()["message"]
    broke = client.post("/me/payments/quote", headers=headers, json={**quote, "amount": str(101 * CASH)})
    assert broke.status_code == 422 and broke.json()["error"] == "insufficient_cash"
    for bad in ({**quote, "amount": "0"}, {**quote, "amount": 1.5}, {"amount": "1"}, {**quote, "extra": 1}):
        refused = client.post("/me/payments/quote", headers=headers, json=bad)
        assert refused.status_code == 422, (bad, refused.text)
    no_order = client.post("/me/payments/quote", headers=headers, json={**quote, "purchase_external_id": "NOPE"})
    assert no_order.status_code == 404

    body = factories.signed_payment(client, headers, customer, **quote)
    wrong_amount = client.post("/me/payments", headers=headers, json={**body, "amount": str(11 * CASH)})
    assert wrong_amount.status_code == 422 and "not" in wrong_amount.json()["message"]
    stranger = Account.create()
    forged = factories.signed_payment(client, headers, stranger, **quote)
    for key in ("permit_signature", "payment_signature"):
        wrong_signer = client.post("/me/payments", headers=headers, json={**body, key: forged[key]})
        assert wrong_signer.status_code == 400 and wrong_signer.json()["error"] == "invalid_signature", key
    other = sign_in(client, dev_accounts[1])
    assert client.post("/me/payments", headers=other, json=body).status_code == 404  # not their quote

    with Session(engine) as session:
        deadline = session.get(PaymentQuote, body["reference"]).deadline
    factories.move_chain_to(w3, deadline + 1)
    late = client.post("/me/payments", headers=headers, json=body)
    assert late.status_code == 400 and late.json()["error"] == "signature_expired"

    assert _balances(w3, d, customer.address, brand["address"]) == before
    with Session(engine) as session:
        assert session.exec(select(MirrorPayment)).all() == []


def test_a_catalogue_reward_is_bought_by_the_same_payment(client, w3, engine, shop) -> None:
    d, brand, brand_headers, customer, headers = shop
    created = client.post(
        "/brands/me/rewards-catalogue",
        headers=brand_headers,
        json={"title": "Tote bag", "description": "Canvas, one size", "price": str(25 * CASH)},
    )
    assert created.status_code == 201, created.text
    item = created.json()
    assert (
        client.post(
            "/brands/me/rewards-catalogue", headers=brand_headers, json={"title": "x", "price": "0"}
        ).status_code
        == 422
    )
    listed = client.get("/rewards-catalogue", headers=headers).json()
    assert [(e["title"], e["brand_name"], e["price"]) for e in listed] == [("Tote bag", "Acme", str(25 * CASH))]
    wrong = client.post("/me/payments/quote", headers=headers, json={"catalogue_item_id": item["id"], "amount": "1"})
    assert wrong.status_code == 422 and "costs" in wrong.json()["message"]

    body = factories.signed_payment(client, headers, customer, catalogue_item_id=item["id"])
    paid = client.post("/me/payments", headers=headers, json=body)
    assert paid.status_code == 200, paid.text
    assert paid.json()["catalogue_item_title"] == "Tote bag" and paid.json()["amount"] == str(25 * CASH)
    (line,) = client.get("/brands/me/payments", headers=brand_headers).json()
    assert line["catalogue_item_id"] == item["id"]
