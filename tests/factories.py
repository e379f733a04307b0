"""Plain factory functions for tests: customers, brands with funded budgets, purchases, consents, accesses."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from eth_account.signers.local import LocalAccount
from sqlalchemy import Engine
from sqlmodel import Session, select
from web3 import Web3

from app.chain import eip712
from app.chain.compiler import compile_contracts
from app.chain.deployment import Deployment
from app.chain.transactions import Sender, Sent
from app.models.accounts import Brand, Customer
from app.models.purchases import Purchase


def contracts(w3: Web3, d: Deployment):
    """(token, registry, distributor) bound to a deployment."""
    abis = {name: a.abi for name, a in compile_contracts().items()}
    return (
        w3.eth.contract(address=d.token, abi=abis["CashbackToken"]),
        w3.eth.contract(address=d.registry, abi=abis["ConsentRegistry"]),
        w3.eth.contract(address=d.distributor, abi=abis["RewardDistributor"]),
    )


def customer(engine: Engine, address: str) -> int:
    with Session(engine) as session:
        found = session.exec(select(Customer).where(Customer.address == address)).first()
        if found is None:
            found = Customer(address=address)
            session.add(found)
            session.commit()
            session.refresh(found)
        assert found.id is not None
        return found.id


def funded_brand(
    engine: Engine,
    w3: Web3,
    d: Deployment,
    operator: LocalAccount,
    account: LocalAccount,
    name: str,
    budget: int,
    *,
    allowance: int | None = None,
    max_price: int = 2**96 - 1,
) -> int:
    """A brand registered on chain and in the database, its budget funded with `budget` CASH units, and
    access limits for the recorder set by its own key (allowance: the whole budget unless given)."""
    _, registry, distributor = contracts(w3, d)
    ops = Sender(w3, operator)
    if not registry.functions.isBrand(account.address).call():
        ops.send(registry.functions.registerBrand(account.address))
    ops.send(distributor.functions.fund(account.address, budget, b"\x0f" * 32))
    limits = (min(budget, 2**96 - 1) if allowance is None else allowance, max_price)
    Sender(w3, account).send(registry.functions.setAccessLimits(limits))
    with Session(engine) as session:
        brand = session.exec(select(Brand).where(Brand.address == account.address)).first()
        if brand is None:
            brand = Brand(name=name, address=account.address)
            session.add(brand)
            session.commit()
            session.refresh(brand)
        assert brand.id is not None
        return brand.id


def purchase(engine: Engine, customer_id: int, brand_id: int, at: datetime, amount: int, external_id: str) -> int:
    with Session(engine) as session:
        row = Purchase(
            customer_id=customer_id, brand_id=brand_id, external_id=external_id, purchased_at=at, amount=amount
        )
        session.add(row)
        session.commit()
        assert row.id is not None
        return row.id


def grant_by_signature(
    w3: Web3,
    d: Deployment,
    relayer: LocalAccount,
    customer: LocalAccount,
    brand: str,
    purpose: int,
    categories: int,
    price: int,
) -> None:
    """The customer signs a Grant with their own key; the relayer sends it."""
    _, registry, _ = contracts(w3, d)
    terms = {
        "customer": customer.address,
        "brand": brand,
        "purpose": purpose,
        "categories": categories,
        "expiresAt": 0,
        "price": price,
        "receiptHash": b"\x01" * 32,
        "noticeHash": b"\x02" * 32,
    }
    timing = signature_timing(w3)
    doc = eip712.typed_data("Grant", {**terms, **timing}, chain_id=w3.eth.chain_id, registry=d.registry)
    Sender(w3, relayer).send(
        registry.functions.grantBySig(
            tuple(terms.values()), eip712.timing(timing), eip712.sign_typed_data(customer.key, doc)
        )
    )


def signature_timing(w3: Web3, *, lifetime: int = 3600) -> dict[str, int]:
    """signedAt (the chain's clock), a random unordered nonce and a deadline, as the API picks them."""
    signed_at = int(w3.eth.get_block("latest")["timestamp"])
    return {"signedAt": signed_at, "nonce": secrets.randbits(52), "deadline": signed_at + lifetime}


def record_access(
    w3: Web3,
    d: Deployment,
    sender: LocalAccount,
    brand: str,
    purpose: int,
    categories: int,
    customers: list[str],
    max_prices: list[int] | None = None,
) -> Sent:
    """Records an access batch sent by `sender` (the recorder or the brand itself), at most the given prices."""
    _, registry, _ = contracts(w3, d)
    prices = max_prices if max_prices is not None else [2**96 - 1] * len(customers)
    return Sender(w3, sender).send(
        registry.functions.recordAccess(brand, purpose, categories, customers, prices, secrets.token_bytes(32))
    )


def interest_event(
    engine: Engine,
    customer_id: int,
    brand_id: int,
    at: datetime,
    kind: str,
    category: str,
    style: str,
    external_id: str,
) -> None:
    from app.models.purchases import InterestEvent

    with Session(engine) as session:
        session.add(
            InterestEvent(
                customer_id=customer_id,
                brand_id=brand_id,
                external_id=external_id,
                kind=kind,
                item_id=f"item-{external_id}",
                category=category,
                style=style,
                occurred_at=at,
            )
        )
        session.commit()


def purchase_row(n: int, brand: int | str, customer: str, /, **changes: object) -> dict:
    """An ingestion row for one purchase (JSON shape); a change set to None drops the field."""
    row: dict[str, object] = {
        "customer": customer,
        "brand": brand,
        "external_id": f"o-{n}",
        "purchased_at": "2024-05-01T12:00:00+09:00",
        "amount": 59_000,
        "items": [{"item_id": "sku-1", "category": "shoes", "style": "casual", "quantity": 1, "unit_price": 59_000}],
    }
    row.update(changes)
    return {k: v for k, v in row.items() if v is not None}


def event_row(n: int, brand: int | str, customer: str, kind: str, /, **changes: object) -> dict:
    """An ingestion row for one interest event (JSON shape); a change set to None drops the field."""
    row: dict[str, object] = {
        "customer": customer,
        "brand": brand,
        "external_id": f"e-{n}",
        "kind": kind,
        "item_id": "sku-1",
        "occurred_at": "2024-05-01T03:00:00Z",
    }
    row.update(changes)
    return {k: v for k, v in row.items() if v is not None}


def ndjson(*rows: dict | str) -> bytes:
    """JSON lines of the rows (strings are taken as already written lines)."""
    import json

    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows).encode()


def pass_challenge_window(w3: Web3, finalises_at: int) -> None:
    """Waits (really: the session's anvil is shared, so its clock is never moved) until a block lies past
    `finalises_at`, mining empty blocks to move the chain's clock with the wall clock."""
    import time

    while int(w3.eth.get_block("latest")["timestamp"]) <= finalises_at:
        time.sleep(0.25)
        w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]


class SaltedTree:
    """An OpenZeppelin StandardMerkleTree over (account, cumulative, salt) leaves (app/chain/merkle.py), for
    tests that publish epochs by hand."""

    def __init__(self, owed: dict[str, int]):
        from app.chain.merkle import Leaf, build_tree

        self.owed = owed
        self.salts = {a: secrets.token_bytes(32) for a in owed}
        self.tree = build_tree([Leaf(a.lower(), owed[a], self.salts[a]) for a in owed])
        self.root: bytes = self.tree.root

    def claim_args(self, account: str) -> tuple[str, int, bytes, list[bytes]]:
        """(account, cumulative, salt, proof) for RewardDistributor.claim."""
        return account, self.owed[account], self.salts[account], self.tree.proof(account.lower())


def publish_and_finalize(
    w3: Web3, d: Deployment, operator: LocalAccount, epoch: int, root: bytes, debits: list[tuple[str, int, int]]
) -> Sent:
    """The operator publishes a root with its (brand, fromReserve, fromBudget) debits; after the challenge
    window anyone finalises it, and it becomes the claimable root."""
    _, _, distributor = contracts(w3, d)
    sent = Sender(w3, operator).send(distributor.functions.publishEpoch(epoch, root, bytes([epoch]) * 32, debits))
    pass_challenge_window(w3, distributor.functions.pendingEpoch().call()[2])
    Sender(w3, operator).send(distributor.functions.finalizeEpoch())
    return sent


def signed_grant(client, headers: dict[str, str], account: LocalAccount, brand_id: int, **terms: object):  # type: ignore[no-untyped-def]
    """Asks the API for a grant's typed data (cart, marketing, no end unless `terms` say otherwise) and signs
    it with `account`'s key: (typed-data answer, the body to POST to /consents)."""
    request = {"action": "grant", "brand": brand_id, "purpose": "marketing", "categories": ["cart"], "no_end": True}
    typed = client.post("/consents/typed-data", json=request | terms, headers=headers)
    assert typed.status_code == 200, typed.text
    document = typed.json()
    signature = "0x" + eip712.sign_typed_data(account.key, document["typed_data"]).hex()
    return document, {"request_id": document["request_id"], "signature": signature}


def api_grant(client, account: LocalAccount, brand_id: int, categories: list[str], **terms: object) -> str:  # type: ignore[no-untyped-def]
    """The customer signs in, signs a grant through the API (so it has a real receipt) and has it relayed;
    returns the receipt id."""
    from tests.conftest import sign_in

    headers = sign_in(client, account)
    typed, body = signed_grant(client, headers, account, brand_id, categories=categories, **terms)
    relayed = client.post("/consents", json=body, headers=headers)
    assert relayed.status_code == 200, relayed.text
    return str(typed["receipt_id"])


def offer(engine: Engine, brand_id: int, /, **changes: object):  # type: ignore[no-untyped-def]
    """A message offer of the brand valid from a day ago for thirty days (fields overridable)."""
    from datetime import UTC, timedelta

    from app.models.crm import Offer

    now = datetime.now(UTC)
    fields: dict[str, object] = {
        "brand_id": brand_id,
        "name": "Welcome back",
        "kind": "message",
        "terms": "A note from the brand.",
        "body": "We miss you.",
        "valid_from": now - timedelta(days=1),
        "valid_until": now + timedelta(days=30),
    }
    with Session(engine, expire_on_commit=False) as session:
        row = Offer(**(fields | changes))
        session.add(row)
        session.commit()
        session.refresh(row)
        return row


def rule(engine: Engine, brand_id: int, offer_id: int, /, **changes: object):  # type: ignore[no-untyped-def]
    """A rule row (marketing, inbox, date window, everyone) as stored, fields overridable."""
    from app.models.crm import Rule

    fields: dict[str, object] = {
        "brand_id": brand_id,
        "offer_id": offer_id,
        "name": "Rule",
        "audience": '{"everyone":true}',
        "purpose": 1,
        "categories": 0,
        "channel": "inbox",
        "trigger": "date_window",
    }
    with Session(engine, expire_on_commit=False) as session:
        row = Rule(**(fields | changes))
        session.add(row)
        session.commit()
        session.refresh(row)
        return row


def finished_campaign(  # type: ignore[no-untyped-def]
    engine: Engine, settings, brand_id: int, *, customers: int = 120, lead: int = 3, seed: int = 1
):
    """A campaign of the brand run through the service from draft to reveal: `customers` customers of the brand,
    the test arm converting at 45% and the holdout at 10% (seeded), inside a campaign of `lead` seconds that
    starts `lead` seconds from now on the chain's clock. Returns the revealed Campaign row."""
    import random
    import time

    from app.chain.gateway import ChainGateway
    from app.models.crm import CampaignMember
    from app.services import campaigns

    rng = random.Random(seed)
    chain = ChainGateway(settings)
    week_ago = datetime.now(UTC) - timedelta(days=7)
    for i in range(customers):
        cid = customer(engine, Web3.to_checksum_address(secrets.token_bytes(20)))
        purchase(engine, cid, brand_id, week_ago, rng.randint(1_000, 50_000), f"c{seed}-old-{i}")
    with Session(engine, expire_on_commit=False) as session:
        brand = session.get(Brand, brand_id)
        assert brand is not None
        made = offer(engine, brand_id)
        starts = campaigns.chain_clock(chain) + lead
        draft = campaigns.CampaignDraft(
            name=f"Campaign {seed}",
            offer_id=made.id,
            rule_id=rule(engine, brand_id, made.id).id,
            holdout_share=0.3,
            metric="conversion",
            starts_at=datetime.fromtimestamp(starts, UTC),
            ends_at=datetime.fromtimestamp(starts + lead, UTC),
            conversion_days=1,
            guardrails=("spend",),
        )
        campaign = campaigns.commit(session, chain, campaigns.create(session, settings, chain, brand, draft))
        while campaigns.chain_clock(chain) < starts:
            time.sleep(0.2)
        campaigns.start(session, settings, chain, campaign)
        members = session.exec(select(CampaignMember).where(CampaignMember.campaign_id == campaign.id)).all()
        for m in members:
            if rng.random() < (0.10 if m.holdout else 0.45):
                at = datetime.fromtimestamp(starts + 1, UTC)
                purchase(engine, m.customer_id, brand_id, at, rng.randint(5_000, 9_000), f"c{seed}-new-{m.customer_id}")
        while campaigns.chain_clock(chain) < starts + lead:
            time.sleep(0.2)
        return campaigns.finish(session, settings, chain, campaign)
