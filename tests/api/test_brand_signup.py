"""Brand self-service: sign-up with the wallet (SIWE), the operator's decision, the first key, floor and spending."""

from __future__ import annotations

from eth_account.messages import encode_defunct
from sqlmodel import Session, select

from app.models.accounts import Brand
from app.models.brand_applications import BrandApplication, BrandPriceFloor
from tests.conftest import make_brand


def signed(client, account) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    issued = client.post("/auth/siwe/nonce", json={"address": account.address})
    assert issued.status_code == 200, issued.text
    message = issued.json()["message"]
    return message, "0x" + bytes(account.sign_message(encode_defunct(text=message)).signature).hex()


def sign_up(client, account, name: str = "Acme"):  # type: ignore[no-untyped-def]
    message, signature = signed(client, account)
    return client.post("/brand-applications", json={"name": name, "message": message, "signature": signature})


def rows(client, table) -> list:  # type: ignore[no-untyped-def]
    with Session(client.app.state.engine) as session:
        return list(session.exec(select(table)))


def test_sign_up_approval_and_the_key_shown_once(client, admin_headers, dev_accounts) -> None:
    wallet = dev_accounts[6]
    created = sign_up(client, wallet)
    assert created.status_code == 201, created.text
    application, token = created.json()["application"], created.json()["token"]
    assert application["status"] == "pending" and application["address"] == wallet.address
    assert application["brand_id"] is None and token.startswith("ap_")

    status = client.post("/brand-applications/status", json={"token": token})
    assert status.status_code == 200 and status.json()["status"] == "pending"
    early = client.post("/brand-applications/keys", json={"token": token})
    assert early.status_code == 409 and "approval" in early.json()["message"]

    listed = client.get("/brand-applications", params={"status": "pending"}, headers=admin_headers)
    assert [a["id"] for a in listed.json()] == [application["id"]]
    approved = client.post(f"/brand-applications/{application['id']}/approve", headers=admin_headers)
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved" and approved.json()["brand_id"] is not None
    assert client.app.state.gateway.registry.is_brand(wallet.address)
    again = client.post(f"/brand-applications/{application['id']}/approve", headers=admin_headers)
    assert again.status_code == 409

    key = client.post("/brand-applications/keys", json={"token": token})
    assert key.status_code == 201, key.text
    headers = {"Authorization": f"Bearer {key.json()['key']}"}
    me = client.get("/brands/me", headers=headers)
    assert me.status_code == 200 and me.json()["address"] == wallet.address and me.json()["name"] == "Acme"
    twice = client.post("/brand-applications/keys", json={"token": token})
    assert twice.status_code == 409 and "collected already" in twice.json()["message"]
    assert client.post("/brand-applications/status", json={"token": token}).json()["key_collected"] is True


def test_duplicates_are_refused_and_write_nothing(client, admin_headers, dev_accounts) -> None:
    assert sign_up(client, dev_accounts[6]).status_code == 201
    same_wallet = sign_up(client, dev_accounts[6], name="Other")
    assert same_wallet.status_code == 409 and "pending already" in same_wallet.json()["message"]
    same_name = sign_up(client, dev_accounts[7])
    assert same_name.status_code == 409 and "Acme" in same_name.json()["message"]
    make_brand(client, admin_headers, dev_accounts[5], name="Existing")
    taken = sign_up(client, dev_accounts[5], name="New")
    assert taken.status_code == 409 and "a brand already" in taken.json()["message"]
    assert len(rows(client, BrandApplication)) == 1


def test_refusal_with_its_reason_and_no_brand(client, admin_headers, dev_accounts) -> None:
    created = sign_up(client, dev_accounts[6]).json()
    number = created["application"]["id"]
    blank = client.post(f"/brand-applications/{number}/refuse", json={"reason": "  "}, headers=admin_headers)
    assert blank.status_code == 422
    refused = client.post(
        f"/brand-applications/{number}/refuse", json={"reason": "not a retailer"}, headers=admin_headers
    )
    assert refused.status_code == 200 and refused.json()["status"] == "refused"
    status = client.post("/brand-applications/status", json={"token": created["token"]}).json()
    assert status["reason"] == "not a retailer" and status["decided_at"] is not None
    assert client.post("/brand-applications/keys", json={"token": created["token"]}).status_code == 409
    assert client.post(f"/brand-applications/{number}/approve", headers=admin_headers).status_code == 409
    assert rows(client, Brand) == []
    assert not client.app.state.gateway.registry.is_brand(dev_accounts[6].address)
    assert sign_up(client, dev_accounts[6]).status_code == 201  # a refused brand may apply again


def test_bad_sign_ups_are_4xx_and_write_nothing(client, admin_headers, dev_accounts) -> None:
    message, signature = signed(client, dev_accounts[6])
    other = "0x" + bytes(dev_accounts[7].sign_message(encode_defunct(text=message)).signature).hex()
    wrong = client.post("/brand-applications", json={"name": "Acme", "message": message, "signature": other})
    assert wrong.status_code == 401
    blank = client.post("/brand-applications", json={"name": "   ", "message": message, "signature": signature})
    assert blank.status_code == 422
    unknown = client.post("/brand-applications/status", json={"token": "ap_nothing"})
    assert unknown.status_code == 401
    missing = client.post("/brand-applications/999/approve", headers=admin_headers)
    assert missing.status_code == 404
    assert rows(client, BrandApplication) == []


def test_price_floor_bounds_and_spending(client, brand_and_headers) -> None:
    _, headers = brand_and_headers
    assert client.get("/brands/me/price-floor", headers=headers).json()["floor"] == "0"
    big = str(2**96 - 1)
    assert client.put("/brands/me/price-floor", json={"floor": big}, headers=headers).json()["floor"] == big
    for bad in [str(2**96), "-1", "1.5", 1.5, "abc", True]:
        refused = client.put("/brands/me/price-floor", json={"floor": bad}, headers=headers)
        assert refused.status_code == 422, (bad, refused.text)
    too_big = client.put("/brands/me/price-floor", json={"floor": str(2**96)}, headers=headers)
    assert "uint96" in too_big.json()["message"]
    (floor,) = rows(client, BrandPriceFloor)
    assert floor.floor == 2**96 - 1
    assert client.put("/brands/me/price-floor", json={"floor": "1000"}, headers=headers).json()["floor"] == "1000"

    spending = client.get("/brands/me/spending", headers=headers)
    assert spending.status_code == 200, spending.text
    body = spending.json()
    assert body["deposited"] == "0" and body["access_spending"] == "0" and body["offer_spending"] == "0"
    assert body["remaining"] == "0"


def test_dev_cash_then_the_brand_deposits_with_its_own_key(client, w3, settings, deployment_of, dev_accounts) -> None:
    """The console's funding, done here as the browser does it: approve and deposit signed by the brand's wallet."""
    from app.services.dev_cash import give_dev_cash
    from tests.factories import Sender, contracts

    wallet = dev_accounts[6]
    created = sign_up(client, wallet).json()
    admin = {"Authorization": f"Bearer {settings.admin_key.get_secret_value()}"}
    client.post(f"/brand-applications/{created['application']['id']}/approve", headers=admin)
    key = client.post("/brand-applications/keys", json={"token": created["token"]}).json()["key"]
    headers = {"Authorization": f"Bearer {key}"}

    amount = 5 * 10**18
    given = give_dev_cash(client.app.state.gateway, wallet.address, amount)
    assert given.balance == amount
    token, _, distributor = contracts(w3, deployment_of(settings))
    own = Sender(w3, wallet)
    own.send(token.functions.approve(distributor.address, amount))
    own.send(distributor.functions.deposit(wallet.address, 3 * 10**18))

    spending = client.get("/brands/me/spending", headers=headers).json()
    assert spending["deposited"] == str(3 * 10**18) and spending["remaining"] == str(3 * 10**18)
    assert spending["access_spending"] == "0" and spending["offer_spending"] == "0"
