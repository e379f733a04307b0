"""Consents through the API: signed by the customer's key, relayed on chain, receipts hashed on chain."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from eth_utils import keccak
from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlmodel import Session, select
from web3 import Web3

from app.chain.compiler import load_abis
from app.chain.deployment import load_deployment
from app.chain.eip712 import sign_typed_data
from app.chain.errors import as_revert
from app.chain.indexer import catch_up
from app.domain import Category, Purpose
from app.main import create_app
from app.models.consents import ConsentChange, ConsentReceipt
from app.models.mirror import MirrorConsent
from tests.conftest import make_brand, sign_in

MARKETING = int(Purpose.MARKETING)
WANTED = ["interests", "styles", "cart"]  # in the bitmask's order
WANTED_MASK = int(Category.INTERESTS | Category.STYLES | Category.CART)
PRICE = 10**15 + 7  # CASH smallest units per access


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def _registry(w3: Web3, settings):  # type: ignore[no-untyped-def]
    deployment = load_deployment(w3, settings.deployments_dir)
    assert deployment is not None
    return w3.eth.contract(address=Web3.to_checksum_address(deployment.registry), abi=load_abis()["ConsentRegistry"])


def _sign(account, document: dict) -> str:  # type: ignore[no-untyped-def]
    return "0x" + sign_typed_data(account.key, document).hex()


def _typed(client, headers, **body):  # type: ignore[no-untyped-def]
    if body.get("action") == "grant" and "expires_at" not in body:
        body.setdefault("no_end", True)
    return client.post("/consents/typed-data", json=body, headers=headers)


def _submit(client, headers, account, typed: dict):  # type: ignore[no-untyped-def]
    body = {"request_id": typed["request_id"], "signature": _sign(account, typed["typed_data"])}
    return client.post("/consents", json=body, headers=headers)


def _grant_terms(message: dict) -> tuple:  # type: ignore[type-arg]
    """The GrantTerms tuple of a signed Grant message (wide integers arrive as decimal strings), for grantBySig."""
    parties = (message["customer"], message["brand"])
    numbers = (int(message[k]) for k in ("purpose", "categories", "expiresAt", "price"))
    hashes = (bytes.fromhex(message[k][2:]) for k in ("receiptHash", "noticeHash"))
    return (*parties, *numbers, *hashes)


def _rfc3339(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def _grant(client, headers, account, brand: dict, categories=WANTED, **extra):  # type: ignore[no-untyped-def]
    typed = _typed(
        client,
        headers,
        action="grant",
        brand=brand["id"],
        purpose="marketing",
        categories=categories,
        price=PRICE,
        **extra,
    )
    assert typed.status_code == 200, typed.text
    relayed = _submit(client, headers, account, typed.json())
    assert relayed.status_code == 200, relayed.text
    return typed.json(), relayed.json()


def _rows(client) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    with Session(client.app.state.engine) as session:
        receipts = session.exec(select(func.count()).select_from(ConsentReceipt)).one()
        changes = session.exec(select(func.count()).select_from(ConsentChange)).one()
    return receipts, changes


def _receipt_row(client, receipt_id: str) -> ConsentReceipt:  # type: ignore[no-untyped-def]
    with Session(client.app.state.engine) as session:
        receipt = session.get(ConsentReceipt, receipt_id)
        assert receipt is not None
        return receipt


def _change_row(client, request_id: str) -> ConsentChange:  # type: ignore[no-untyped-def]
    with Session(client.app.state.engine) as session:
        change = session.get(ConsentChange, request_id)
        assert change is not None
        return change


# ---------------------------------------------------------------------------------------------
# The round trip
# ---------------------------------------------------------------------------------------------


def _assert_mirror_matches_chain(client, settings, registry, customer: str, brand: str) -> None:  # type: ignore[no-untyped-def]
    """The indexer's consent row equals what the registry holds (after catching up)."""
    catch_up(settings, engine=client.app.state.engine, gateway=client.app.state.gateway)
    on_chain = registry.functions.consentOf(customer, brand, MARKETING).call()
    with Session(client.app.state.engine) as session:
        row = session.get(MirrorConsent, (customer, brand, MARKETING))
    assert row is not None
    assert (row.categories, row.expires_at, row.price) == (on_chain[0], on_chain[2], on_chain[3])
    assert row.receipt_hash == "0x" + on_chain[4].hex()


def test_grant_narrow_revoke_round_trip(
    client, settings, w3, dev_accounts, customer_headers, brand_and_headers
) -> None:
    customer, (brand, _) = dev_accounts[0], brand_and_headers
    registry = _registry(w3, settings)
    expires = int((datetime.now(UTC) + timedelta(days=30)).timestamp())

    # Grant: typed data carries the pending receipt's hash and the notice hash.
    typed = _typed(
        client,
        customer_headers,
        action="grant",
        brand=brand["address"],
        purpose="marketing",
        categories=WANTED,
        expires_at=expires,
        price=PRICE,
    )
    assert typed.status_code == 200, typed.text
    grant = typed.json()
    message = grant["typed_data"]["message"]
    assert grant["typed_data"]["primaryType"] == "Grant"
    assert message["customer"] == customer.address and message["brand"] == brand["address"]
    # Integers of more than 53 bits (by their EIP-712 type) are decimal strings; uint8 and uint40 stay numbers.
    assert (message["purpose"], message["categories"], message["price"]) == (MARKETING, str(WANTED_MASK), str(PRICE))
    assert message["receiptHash"] == grant["receipt_hash"] and message["nonce"] == grant["nonce"] == "0"
    assert message["expiresAt"] == expires and isinstance(message["deadline"], str)
    assert grant["deadline"] == _rfc3339(int(message["deadline"]))
    assert _receipt_row(client, grant["receipt_id"]).status == "pending"

    relayed = _submit(client, customer_headers, customer, grant)
    assert relayed.status_code == 200, relayed.text
    body = relayed.json()
    assert body["receipt_status"] == "active" and body["tx_hash"].startswith("0x") and body["block_number"] > 0
    assert body["consent"]["categories"] == WANTED  # in bit order
    assert body["consent"]["expires_at"] == _rfc3339(expires) and body["consent"]["price"] == str(PRICE)
    assert body["consent"]["in_force"] is True
    assert registry.functions.covers(customer.address, brand["address"], MARKETING, WANTED_MASK).call()
    on_chain = registry.functions.consentOf(customer.address, brand["address"], MARKETING).call()
    assert on_chain[0] == WANTED_MASK and on_chain[2] == expires and on_chain[3] == PRICE
    assert "0x" + on_chain[4].hex() == grant["receipt_hash"]
    assert _receipt_row(client, grant["receipt_id"]).grant_tx_hash == body["tx_hash"]
    _assert_mirror_matches_chain(client, settings, registry, customer.address, brand["address"])

    # The downloaded receipt is the very document whose hash the registry holds.
    download = client.get(f"/consents/{grant['receipt_id']}/receipt", headers=customer_headers)
    assert download.status_code == 200
    assert download.headers["content-disposition"].startswith("attachment;")
    assert grant["receipt_id"] in download.headers["content-disposition"]
    assert keccak(download.content) == on_chain[4]
    document = json.loads(download.content)
    assert document["consentReceiptID"] == grant["receipt_id"]
    assert document["piiPrincipalId"] == customer.address
    assert document["jurisdiction"] == "KR" and document["collectionMethod"] == "eip712-signature"
    assert document["notice"]["version"] == settings.consent_notice_version
    assert document["notice"]["hash"] == "0x" + on_chain[5].hex()
    assert document["services"][0]["purposes"][0]["piiCategory"] == WANTED
    assert document["price"]["amount"] == str(PRICE) and document["expiresAt"] == expires
    assert [c["piiController"] for c in document["piiControllers"]] == [settings.consent_controller, "Acme"]
    assert document["withdrawalMethod"]

    listed = client.get("/consents", headers=customer_headers).json()
    assert [c["receipt_id"] for c in listed] == [grant["receipt_id"]]
    assert listed[0]["receipt_on_chain"] is True and listed[0]["on_chain"]["in_force"] is True

    # Narrow to interests only: the registry no longer covers styles.
    typed = _typed(
        client,
        customer_headers,
        action="narrow",
        brand=brand["id"],
        purpose="marketing",
        categories=["interests"],
    )
    assert typed.status_code == 200, typed.text
    narrow = typed.json()
    assert narrow["typed_data"]["primaryType"] == "Narrow" and narrow["nonce"] == "1"
    assert narrow["receipt_id"] == grant["receipt_id"]
    relayed = _submit(client, customer_headers, customer, narrow)
    assert relayed.status_code == 200, relayed.text
    assert relayed.json()["consent"]["categories"] == ["interests"]
    assert registry.functions.covers(customer.address, brand["address"], MARKETING, int(Category.INTERESTS)).call()
    assert not registry.functions.covers(customer.address, brand["address"], MARKETING, int(Category.STYLES)).call()
    _assert_mirror_matches_chain(client, settings, registry, customer.address, brand["address"])

    # Revoke: as easy as granting; the receipt is withdrawn with time and transaction.
    typed = _typed(client, customer_headers, action="revoke", brand=brand["id"], purpose="marketing")
    assert typed.status_code == 200, typed.text
    revoke = typed.json()
    relayed = _submit(client, customer_headers, customer, revoke)
    assert relayed.status_code == 200, relayed.text
    assert relayed.json()["receipt_status"] == "withdrawn"
    assert relayed.json()["consent"]["categories"] == [] and relayed.json()["consent"]["in_force"] is False
    assert not registry.functions.covers(customer.address, brand["address"], MARKETING, int(Category.INTERESTS)).call()
    assert registry.functions.consentOf(customer.address, brand["address"], MARKETING).call()[0] == 0
    _assert_mirror_matches_chain(client, settings, registry, customer.address, brand["address"])
    receipt = _receipt_row(client, grant["receipt_id"])
    assert receipt.status == "withdrawn" and receipt.withdrawn_at is not None
    assert receipt.withdrawal_tx_hash == relayed.json()["tx_hash"]

    assert client.get("/consents", headers=customer_headers).json() == []
    withdrawn = client.get("/consents", params={"status": "withdrawn"}, headers=customer_headers).json()
    assert [c["receipt_id"] for c in withdrawn] == [grant["receipt_id"]]
    detail = client.get(f"/consents/{grant['receipt_id']}", headers=customer_headers).json()
    assert [(c["action"], c["status"]) for c in detail["changes"]] == [
        ("grant", "relayed"),
        ("narrow", "relayed"),
        ("revoke", "relayed"),
    ]


def test_new_grant_supersedes_the_previous_receipt(
    client, settings, w3, dev_accounts, customer_headers, brand_and_headers
) -> None:
    customer, (brand, _) = dev_accounts[0], brand_and_headers
    first, _ = _grant(client, customer_headers, customer, brand, categories=["interests"])
    second, _ = _grant(client, customer_headers, customer, brand, categories=["interests", "styles"])
    assert _receipt_row(client, first["receipt_id"]).status == "superseded"
    listed = client.get("/consents", headers=customer_headers).json()
    assert [c["receipt_id"] for c in listed] == [second["receipt_id"]]
    on_chain = _registry(w3, settings).functions.consentOf(customer.address, brand["address"], MARKETING).call()
    assert "0x" + on_chain[4].hex() == second["receipt_hash"]


# ---------------------------------------------------------------------------------------------
# Signatures: replays, other keys, expiry, chain refusals
# ---------------------------------------------------------------------------------------------


def test_replayed_signature_refused(
    client, settings, w3, dev_accounts, relayer, customer_headers, brand_and_headers
) -> None:
    customer, (brand, _) = dev_accounts[0], brand_and_headers
    grant, relayed = _grant(client, customer_headers, customer, brand)
    signature = _sign(customer, grant["typed_data"])

    again = client.post(
        "/consents",
        json={"request_id": grant["request_id"], "signature": signature},
        headers=customer_headers,
    )
    assert again.status_code == 409
    assert "relayed already" in again.json()["message"] and relayed["tx_hash"] in again.json()["message"]

    # The registry itself refuses the same signature: its nonce has moved on.
    m = grant["typed_data"]["message"]
    terms = _grant_terms(m)
    with pytest.raises(Exception) as refused:
        _registry(w3, settings).functions.grantBySig(terms, int(m["deadline"]), bytes.fromhex(signature[2:])).call(
            {"from": relayer.address}
        )
    revert = as_revert(refused.value)
    assert revert is not None and revert.name == "InvalidSignature"

    # Two requests signed for the same nonce: only the first one counts.
    first = _typed(
        client,
        customer_headers,
        action="narrow",
        brand=brand["id"],
        purpose="marketing",
        categories=["interests"],
    ).json()
    second = _typed(client, customer_headers, action="revoke", brand=brand["id"], purpose="marketing").json()
    assert first["nonce"] == second["nonce"]
    assert _submit(client, customer_headers, customer, first).status_code == 200
    stale = _submit(client, customer_headers, customer, second)
    assert stale.status_code == 409
    assert "nonce" in stale.json()["message"] and "new typed data" in stale.json()["message"]
    assert _change_row(client, second["request_id"]).status == "pending"


def test_signature_of_another_key_refused(
    client, settings, w3, dev_accounts, customer_headers, brand_and_headers
) -> None:
    customer, intruder, (brand, _) = dev_accounts[0], dev_accounts[1], brand_and_headers
    typed = _typed(
        client,
        customer_headers,
        action="grant",
        brand=brand["id"],
        purpose="marketing",
        categories=WANTED,
        price=PRICE,
    ).json()
    rows = _rows(client)
    response = _submit(client, customer_headers, intruder, typed)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_signature"
    assert "signature is not yours" in response.json()["message"]
    assert _rows(client) == rows
    assert _receipt_row(client, typed["receipt_id"]).status == "pending"
    assert _change_row(client, typed["request_id"]).status == "pending"
    registry = _registry(w3, settings)
    assert registry.functions.consentOf(customer.address, brand["address"], MARKETING).call()[0] == 0
    assert registry.functions.nonces(customer.address).call() == 0


def test_expired_signature_request_refused(settings, dev_accounts, admin_headers) -> None:
    expired_settings = settings.model_copy(update={"consent_signature_ttl_seconds": -1})
    with TestClient(create_app(expired_settings)) as client:
        brand, _ = make_brand(client, admin_headers, dev_accounts[5], name="Acme")
        headers = sign_in(client, dev_accounts[0])
        typed = _typed(
            client, headers, action="grant", brand=brand["id"], purpose="analytics", categories=["segment"]
        ).json()
        response = _submit(client, headers, dev_accounts[0], typed)
        assert response.status_code == 400
        assert response.json()["error"] == "signature_expired"
        assert "expired" in response.json()["message"] and "sign again" in response.json()["message"]
        assert _receipt_row(client, typed["receipt_id"]).status == "pending"


def test_chain_refusal_names_the_contract_error(
    client, settings, w3, operator, dev_accounts, customer_headers, brand_and_headers
) -> None:
    customer, (brand, _) = dev_accounts[0], brand_and_headers
    typed = _typed(
        client,
        customer_headers,
        action="grant",
        brand=brand["id"],
        purpose="research",
        categories=["purchases"],
    ).json()
    # The operator deregisters the brand between the request and the signature.
    registry = _registry(w3, settings)
    tx = registry.functions.deregisterBrand(brand["address"]).build_transaction(
        {"from": operator.address, "nonce": w3.eth.get_transaction_count(operator.address, "pending")}
    )
    sent = w3.eth.send_raw_transaction(operator.sign_transaction(tx).raw_transaction)
    assert w3.eth.wait_for_transaction_receipt(sent)["status"] == 1

    response = _submit(client, customer_headers, customer, typed)
    assert response.status_code == 409
    body = response.json()
    assert body["error"] == "chain_refused" and body["detail"]["error"] == "BrandNotRegistered"
    assert "BrandNotRegistered" in body["message"]
    assert _receipt_row(client, typed["receipt_id"]).status == "pending"


# ---------------------------------------------------------------------------------------------
# Rules checked before asking for a signature
# ---------------------------------------------------------------------------------------------


def test_narrow_and_revoke_without_consent_are_404(client, customer_headers, brand_and_headers) -> None:
    brand, _ = brand_and_headers
    for body in ({"action": "narrow", "categories": ["interests"]}, {"action": "revoke"}):
        response = _typed(client, customer_headers, brand=brand["id"], purpose="marketing", **body)
        assert response.status_code == 404
        assert "no consent" in response.json()["message"]
    assert _rows(client) == (0, 0)


def test_narrowing_that_widens_is_refused(client, dev_accounts, customer_headers, brand_and_headers) -> None:
    customer, (brand, _) = dev_accounts[0], brand_and_headers
    expires = int((datetime.now(UTC) + timedelta(days=3)).timestamp())
    _grant(client, customer_headers, customer, brand, categories=["interests"], expires_at=expires)
    rows = _rows(client)
    widen = _typed(
        client,
        customer_headers,
        action="narrow",
        brand=brand["id"],
        purpose="marketing",
        categories=["interests", "contact"],
    )
    assert widen.status_code == 422 and "contact" in widen.json()["message"]
    later = _typed(
        client,
        customer_headers,
        action="narrow",
        brand=brand["id"],
        purpose="marketing",
        expires_at=expires + 3600,
    )
    assert later.status_code == 422 and "extend" in later.json()["message"]
    same = _typed(
        client,
        customer_headers,
        action="narrow",
        brand=brand["id"],
        purpose="marketing",
        categories=["interests"],
    )
    assert same.status_code == 422 and "changes nothing" in same.json()["message"]
    assert _rows(client) == rows


# ---------------------------------------------------------------------------------------------
# Owners, roles, malformed input
# ---------------------------------------------------------------------------------------------


def test_someone_elses_consent_is_404(client, dev_accounts, customer_headers, brand_and_headers) -> None:
    brand, _ = brand_and_headers
    typed = _typed(
        client, customer_headers, action="grant", brand=brand["id"], purpose="marketing", categories=WANTED
    ).json()
    assert client.get(f"/consents/{typed['receipt_id']}/receipt", headers=customer_headers).status_code == 200
    other = sign_in(client, dev_accounts[1])
    assert client.get(f"/consents/{typed['receipt_id']}/receipt", headers=other).status_code == 404
    assert client.get(f"/consents/{typed['receipt_id']}", headers=other).status_code == 404
    stolen = _submit(client, other, dev_accounts[1], typed)
    assert stolen.status_code == 404
    assert client.get("/consents", params={"status": "pending"}, headers=other).json() == []
    assert _change_row(client, typed["request_id"]).status == "pending"


def test_consent_routes_need_a_customer(
    client, customer_headers, brand_and_headers, auditor_headers, admin_headers
) -> None:
    _, brand_headers = brand_and_headers
    receipt_id = "00000000-0000-4000-8000-000000000000"
    calls = [
        ("post", "/consents/typed-data", {"action": "revoke", "brand": 1, "purpose": "marketing"}),
        ("post", "/consents", {"request_id": receipt_id, "signature": "0x" + "11" * 65}),
        ("get", "/consents", None),
        ("get", f"/consents/{receipt_id}", None),
        ("get", f"/consents/{receipt_id}/receipt", None),
    ]
    for method, url, body in calls:
        kwargs = {"json": body} if body is not None else {}
        anonymous = getattr(client, method)(url, **kwargs)
        assert anonymous.status_code == 401, url
        assert "credentials" in anonymous.json()["message"]
        for headers in (brand_headers, auditor_headers, admin_headers):
            response = getattr(client, method)(url, headers=headers, **kwargs)
            assert response.status_code == 403, (url, response.text)
            assert "customer" in response.json()["message"]
    assert _rows(client) == (0, 0)


_BAD_TYPED_DATA = [
    ({}, "action"),
    ({"action": "delete", "brand": 1, "purpose": "marketing"}, "action"),
    ({"action": "grant", "brand": "0x123", "purpose": "marketing", "categories": ["cart"]}, "brand"),
    ({"action": "grant", "brand": [1], "purpose": "marketing", "categories": ["cart"]}, "brand"),
    ({"action": "grant", "brand": 1, "purpose": "spam", "categories": ["cart"]}, "unknown purpose"),
    ({"action": "grant", "brand": 1, "purpose": 1, "categories": ["cart"]}, "purpose"),
    (
        {"action": "grant", "brand": 1, "purpose": "marketing", "categories": ["telepathy"]},
        "unknown data category",
    ),
    ({"action": "grant", "brand": 1, "purpose": "marketing", "categories": "cart"}, "categories"),
    ({"action": "grant", "brand": 1, "purpose": "marketing", "categories": []}, "at least one"),
    ({"action": "grant", "brand": 1, "purpose": "marketing"}, "categories"),
    ({"action": "grant", "brand": 1, "purpose": "marketing", "categories": ["cart"], "price": -1}, "price"),
    ({"action": "grant", "brand": 1, "purpose": "marketing", "categories": ["cart"], "price": 1.5}, "price"),
    (
        {"action": "grant", "brand": 1, "purpose": "marketing", "categories": ["cart"], "price": "1e18"},
        "price",
    ),
    ({"action": "grant", "brand": 1, "purpose": "marketing", "categories": ["cart"], "price": True}, "price"),
    (
        {"action": "grant", "brand": 1, "purpose": "marketing", "categories": ["cart"], "price": str(2**96)},
        "price",
    ),
    ({"action": "grant", "brand": 2**70, "purpose": "marketing", "categories": ["cart"]}, "2^63-1"),
    ({"action": "grant", "brand": str(2**63), "purpose": "marketing", "categories": ["cart"]}, "2^63-1"),
    (
        {"action": "grant", "brand": 1, "purpose": "marketing", "categories": ["cart"], "price": 2**96},
        "price",
    ),
    (
        {"action": "grant", "brand": 1, "purpose": "marketing", "categories": ["cart"], "expires_at": "soon"},
        "expires_at",
    ),
    (
        {"action": "grant", "brand": 1, "purpose": "marketing", "categories": ["cart"], "expires_at": 1_000},
        "at or before now",
    ),
    (
        {
            "action": "grant",
            "brand": 1,
            "purpose": "marketing",
            "categories": ["cart"],
            "customer": "0x" + "22" * 20,
        },
        "customer",
    ),
    ({"action": "grant", "brand": 999, "purpose": "marketing", "categories": ["cart"], "no_end": True}, "no brand"),
    ({"action": "narrow", "brand": 1, "purpose": "marketing"}, "narrowing needs"),
    ({"action": "narrow", "brand": 1, "purpose": "marketing", "categories": []}, "revoke"),
    ({"action": "revoke", "brand": 1, "purpose": "marketing", "price": 5}, "price"),
    ({"action": "revoke", "brand": 1, "purpose": "marketing", "categories": ["cart"]}, "revocation"),
]


# One client (and one deployment) per table rather than per case: each deployment costs seconds.
def test_typed_data_malformed_input_is_4xx(client, customer_headers, brand_and_headers) -> None:
    for body, says in _BAD_TYPED_DATA:
        response = client.post("/consents/typed-data", json=body, headers=customer_headers)
        assert 400 <= response.status_code < 500, (body, response.text)
        assert says in response.json()["message"], (body, response.json()["message"])
        assert _rows(client) == (0, 0), body
    response = client.post("/consents/typed-data", content=b"grant please", headers=customer_headers)
    assert response.status_code == 422 and response.json()["message"]
    assert _rows(client) == (0, 0)


_BAD_SUBMISSIONS = [
    ({"signature": "0x" + "11" * 65}, 422, "request_id"),
    ({"request_id": "PENDING"}, 422, "signature"),
    ({"request_id": "PENDING", "signature": "0x1234"}, 422, "signature"),
    ({"request_id": "PENDING", "signature": "zz" * 66}, 422, "signature"),
    ({"request_id": "PENDING", "signature": 12345}, 422, "signature"),
    ({"request_id": "PENDING", "signature": "0x" + "11" * 65, "deadline": 5}, 422, "deadline"),
    ({"request_id": "not-a-uuid", "signature": "0x" + "11" * 65}, 422, "request_id"),
    (
        {"request_id": "00000000-0000-4000-8000-000000000000", "signature": "0x" + "11" * 65},
        404,
        "no consent",
    ),
    ({"request_id": "PENDING", "signature": "0x" + "11" * 65}, 400, "signature"),
    ({"request_id": "PENDING", "signature": "0x" + "00" * 65}, 400, "signature"),
]


def test_submit_malformed_input_is_4xx(client, customer_headers, brand_and_headers) -> None:
    brand, _ = brand_and_headers
    typed = _typed(
        client, customer_headers, action="grant", brand=brand["id"], purpose="marketing", categories=WANTED
    ).json()
    rows = _rows(client)
    for body, status, says in _BAD_SUBMISSIONS:
        if body.get("request_id") == "PENDING":
            body = {**body, "request_id": typed["request_id"]}
        response = client.post("/consents", json=body, headers=customer_headers)
        assert response.status_code == status, (body, response.text)
        assert says in response.json()["message"], (body, response.json()["message"])
        assert _rows(client) == rows
        assert _receipt_row(client, typed["receipt_id"]).status == "pending"
        assert _change_row(client, typed["request_id"]).status == "pending"


def test_read_routes_malformed_input_is_422(client, customer_headers) -> None:
    for url, params in (
        ("/consents/not-a-uuid/receipt", None),
        ("/consents/42", None),
        ("/consents", {"status": "forgotten"}),
    ):
        response = client.get(url, params=params, headers=customer_headers)
        assert response.status_code == 422, url
        assert response.json()["message"]


# ---------------------------------------------------------------------------------------------
# The chain is down
# ---------------------------------------------------------------------------------------------


def test_chain_unreachable_is_503_and_writes_nothing(
    client, settings, dev_accounts, customer_headers, brand_and_headers
) -> None:
    customer, (brand, _) = dev_accounts[0], brand_and_headers
    pending = _typed(
        client, customer_headers, action="grant", brand=brand["id"], purpose="marketing", categories=WANTED
    ).json()
    rows = _rows(client)
    down = settings.model_copy(update={"rpc_url": "http://127.0.0.1:1"})
    with TestClient(create_app(down)) as offline:
        typed = _typed(
            offline,
            customer_headers,
            action="grant",
            brand=brand["id"],
            purpose="marketing",
            categories=WANTED,
        )
        assert typed.status_code == 503
        assert typed.headers["retry-after"]
        assert "does not answer" in typed.json()["message"]
        assert _rows(client) == rows

        relayed = _submit(offline, customer_headers, customer, pending)
        assert relayed.status_code == 503 and relayed.headers["retry-after"]
        assert _receipt_row(client, pending["receipt_id"]).status == "pending"
        assert _change_row(client, pending["request_id"]).status == "pending"

        listed = offline.get("/consents", params={"status": "pending"}, headers=customer_headers)
        assert listed.status_code == 503 and listed.headers["retry-after"]
        # The receipt itself is off chain: still downloadable.
        assert offline.get(f"/consents/{pending['receipt_id']}/receipt", headers=customer_headers).status_code == 200

    # Once the chain answers again the same signature goes through.
    assert _submit(client, customer_headers, customer, pending).status_code == 200
    assert _receipt_row(client, pending["receipt_id"]).status == "active"


def test_relayed_grant_whose_answer_was_lost_is_recorded_on_retry(
    client, settings, w3, relayer, dev_accounts, customer_headers, brand_and_headers
) -> None:
    from app.chain.transactions import Sender

    customer, (brand, _) = dev_accounts[0], brand_and_headers
    typed = _typed(
        client, customer_headers, action="grant", brand=brand["id"], purpose="marketing", categories=WANTED, price=PRICE
    ).json()
    signature = _sign(customer, typed["typed_data"])
    # The relayer's transaction went through but the API never recorded it (a crash, a lost answer).
    m = typed["typed_data"]["message"]
    terms = _grant_terms(m)
    registry = _registry(w3, settings)
    signed = bytes.fromhex(signature[2:])
    sent = Sender(w3, relayer).send(registry.functions.grantBySig(terms, int(m["deadline"]), signed))
    assert _receipt_row(client, typed["receipt_id"]).status == "pending"

    # The customer (or the wallet page) sends the same signature again: the API finds it on chain.
    resent = client.post(
        "/consents", json={"request_id": typed["request_id"], "signature": signature}, headers=customer_headers
    )
    assert resent.status_code == 200, resent.text
    assert resent.json()["tx_hash"] == sent.tx_hash and resent.json()["receipt_status"] == "active"
    assert _receipt_row(client, typed["receipt_id"]).grant_tx_hash == sent.tx_hash
    # Still counted once.
    again = client.post(
        "/consents", json={"request_id": typed["request_id"], "signature": signature}, headers=customer_headers
    )
    assert again.status_code == 409
