"""Plain factory functions for tests: customers, brands with funded budgets, purchases, consents, accesses."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from sqlalchemy import Engine, func
from sqlmodel import Session, select
from web3 import Web3
from web3.contract import Contract

from app import clock
from app.audit import Verifier
from app.chain import eip712
from app.chain.compiler import compile_contracts, compile_one, load_abis
from app.chain.deployment import Deployment, load_deployment
from app.chain.errors import ContractRevert
from app.chain.gateway import ChainGateway
from app.chain.indexer import catch_up
from app.chain.keys import RoleKeys
from app.chain.proofs import TreeFiles, claim_many_args
from app.chain.transactions import Sender, Sent
from app.config import Settings
from app.domain import Category, Purpose
from app.main import create_app
from app.models.access import AccessRequest
from app.models.accounts import Brand, Customer
from app.models.purchases import InterestEvent, Purchase
from app.paths import REPO_ROOT
from app.services.epochs import EpochRunner
from app.services.wallet import finalize_due


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


def refund_row(n: int, brand: int | str, purchase_external_id: str, /, **changes: object) -> dict:
    """An ingestion row for one refund (JSON shape); a change set to None drops the field."""
    row: dict[str, object] = {
        "brand": brand,
        "external_id": f"r-{n}",
        "purchase_external_id": purchase_external_id,
        "refunded_at": "2024-05-03T10:00:00+09:00",
        "amount": 20_000,
    }
    row.update(changes)
    return {k: v for k, v in row.items() if v is not None}


def ndjson(*rows: dict | str) -> bytes:
    """JSON lines of the rows (strings are taken as already written lines)."""
    import json

    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows).encode()


def move_chain_to(w3: Web3, moment: int) -> None:
    """Mines a block dated `moment` (unix seconds) unless the chain is already there: the chain's clock is
    moved, never waited for. Every test reads time from the chain (the app judges by it too), so a chain
    ahead of this machine's clock is fine; it is never moved back."""
    if int(w3.eth.get_block("latest")["timestamp"]) < moment:
        w3.provider.make_request("evm_setNextBlockTimestamp", [moment])  # type: ignore[arg-type]
        w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]


def pass_challenge_window(w3: Web3, finalises_at: int) -> None:
    """Moves the chain just past `finalises_at`, so the published root may be finalised."""
    move_chain_to(w3, finalises_at + 1)


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
    sent = Sender(w3, operator).send(
        distributor.functions.publishEpoch(epoch, root, bytes([epoch]) * 32, debits, [], 0)
    )
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


# -- brands' profiles (tests/api/test_profiles.py and its neighbours) ----------------------------


MARKETING = int(Purpose.MARKETING)


PRICE = 10**15 + 3


BUDGET = 10**21


ALL = int(sum(Category))


def people(tag: str, n: int) -> list[LocalAccount]:
    """`n` customer keys, deterministic per tag."""
    return [Account.from_key(keccak(text=f"{tag}-{i}")) for i in range(n)]


def enrol(engine, account: LocalAccount, i: int) -> int:  # type: ignore[no-untyped-def]
    """A customer row with every personal field set, and one purchase and interest signals."""
    customer_id = customer(engine, account.address)
    with Session(engine) as session:
        row = session.get(Customer, customer_id)
        assert row is not None
        row.name, row.email, row.phone = f"Person {i}", f"p{i}@example.com", f"010-0000-{i:04d}"
        row.birth_year, row.gender, row.region = 1980 + i, "f", "Seoul"
        session.add(row)
        now = datetime.now(UTC)
        for j, kind in enumerate(("view", "wishlist", "cart_add", "cart_abandon")):
            session.add(
                InterestEvent(
                    customer_id=customer_id,
                    brand_id=1,
                    external_id=f"{account.address}-{j}",
                    kind=kind,
                    category="shoes",
                    style="minimal",
                    occurred_at=now - timedelta(days=1),
                )
            )
        session.commit()
    return customer_id


def grant(w3, settings, deployment_of, relayer, account, brand: str, categories: int, price: int = PRICE) -> None:  # type: ignore[no-untyped-def]
    grant_by_signature(w3, deployment_of(settings), relayer, account, brand, MARKETING, categories, price)


def fund(client, w3, settings, deployment_of, operator, account, name: str, budget: int = BUDGET) -> None:  # type: ignore[no-untyped-def]
    funded_brand(client.app.state.engine, w3, deployment_of(settings), operator, account, name, budget)


def registry_of(w3, settings, deployment_of):  # type: ignore[no-untyped-def]
    return contracts(w3, deployment_of(settings))[1]


def recorded(w3, settings, deployment_of, request_id: str | None = None) -> list[dict]:  # type: ignore[no-untyped-def]
    """AccessRecorded events on chain (for one request id if given)."""
    registry = registry_of(w3, settings, deployment_of)
    filters = {"requestId": bytes.fromhex(request_id[2:])} if request_id else None
    logs = registry.events.AccessRecorded().get_logs(from_block=0, argument_filters=filters)
    return [dict(log["args"]) | {"blockNumber": log["blockNumber"]} for log in logs]


def rows(client) -> list[AccessRequest]:  # type: ignore[no-untyped-def]
    with Session(client.app.state.engine) as session:
        return list(session.exec(select(AccessRequest)).all())


def profiles(client, headers, categories, limit: int = 100, **filters):  # type: ignore[no-untyped-def]
    body = {"purpose": "marketing", "categories": categories, "limit": limit, "filters": filters}
    return client.post("/profiles", json=body, headers=headers)


# -- a mirror scenario on chain (tests/chain/test_indexer.py, tests/api/test_ledger.py) ----------


@dataclass
class Contracts:
    deployment: Deployment
    token: Contract
    registry: Contract
    distributor: Contract


def contracts_of(w3: Web3, settings: Settings) -> Contracts:
    deployment = load_deployment(w3, settings.deployments_dir)
    assert deployment is not None
    abis = load_abis()
    return Contracts(
        deployment,
        w3.eth.contract(address=deployment.token, abi=abis["CashbackToken"]),
        w3.eth.contract(address=deployment.registry, abi=abis["ConsentRegistry"]),
        w3.eth.contract(address=deployment.distributor, abi=abis["RewardDistributor"]),
    )


def grant_by_sig(w3, c: Contracts, relayer, customer, brand, *, purpose, categories, price, expires_at=0):
    terms = {
        "customer": customer.address,
        "brand": brand.address,
        "purpose": purpose,
        "categories": categories,
        "expiresAt": expires_at,
        "price": price,
        "receiptHash": b"\x11" * 32,
        "noticeHash": b"\x22" * 32,
    }
    timing = signature_timing(w3)
    doc = eip712.typed_data("Grant", {**terms, **timing}, chain_id=w3.eth.chain_id, registry=c.registry.address)
    signature = eip712.sign_typed_data(customer.key, doc)
    return Sender(w3, relayer).send(
        c.registry.functions.grantBySig(tuple(terms.values()), eip712.timing(timing), signature)
    )


def run_scenario(w3: Web3, c: Contracts, operator, relayer, accounts: list[LocalAccount], *, register=True) -> dict:
    """Brands, grants (by signature and directly), a narrowing, accesses (one customer skipped), a
    revocation, budgets funded above 2^63, reserved and withdrawn, an epoch finalised after its
    challenge window, and claims. Returns what was owed per account."""
    ops, relay = Sender(w3, operator), Sender(w3, relayer)
    record = Sender(w3, RoleKeys.from_settings(Settings(environment="test")).recorder)
    alice, bob, carol, brand, brand2 = accounts[0], accounts[1], accounts[2], accounts[5], accounts[6]
    if register:
        ops.send(c.registry.functions.registerBrand(brand.address))
    ops.send(c.registry.functions.registerBrand(brand2.address))
    ops.send(c.registry.functions.deregisterBrand(brand2.address))

    price = 250 * 10**18
    grant_by_sig(w3, c, relayer, alice, brand, purpose=MARKETING, categories=INTERESTS | PURCHASES, price=price)
    far = int(time.time()) + 10 * 86_400
    grant_by_sig(w3, c, relayer, bob, brand, purpose=MARKETING, categories=INTERESTS | STYLES, price=7, expires_at=far)
    # Carol grants directly, from her own key, then narrows and keeps it; Bob revokes after an access.
    terms = (
        carol.address,
        brand.address,
        ANALYTICS,
        INTERESTS | PURCHASES | STYLES,
        0,
        2**96 - 1,
        b"\x33" * 32,
        ZERO,
    )
    Sender(w3, carol).send(c.registry.functions.grant(terms))
    Sender(w3, carol).send(c.registry.functions.narrow(carol.address, brand.address, ANALYTICS, INTERESTS, 0))

    budget = 1_000 * 10**18
    ops.send(c.distributor.functions.fund(brand.address, budget + BIG, b"\x0f" * 32))
    brand_sender = Sender(w3, brand)
    brand_sender.send(c.distributor.functions.withdraw(BIG, accounts[7].address))
    brand_sender.send(c.registry.functions.setAccessLimits((budget, 2**96 - 1)))
    record.send(
        c.registry.functions.recordAccess(
            brand.address, MARKETING, INTERESTS, [alice.address, bob.address], [price, 7], b"\x01" * 32
        )
    )
    # Carol's price is above what the brand allows the recorder to charge: she is skipped and reported.
    record.send(
        c.registry.functions.recordAccess(
            brand.address, ANALYTICS, INTERESTS, [carol.address], [2**96 - 1], b"\x02" * 32
        )
    )
    Sender(w3, bob).send(c.registry.functions.revoke(bob.address, brand.address, MARKETING))
    brand_sender.send(c.distributor.functions.withdraw(10**18, brand.address))

    owed = {alice.address: price, bob.address: 7, carol.address: 40 * 10**18}
    tree = SaltedTree(owed)
    debit = (brand.address, price + 7, 40 * 10**18)  # the accesses from the reserve, the rest from the budget
    publish_and_finalize(w3, c.deployment, operator, 1, tree.root, [debit])
    Sender(w3, alice).send(c.distributor.functions.claim(*tree.claim_args(alice.address)))
    rest = [tree.claim_args(a) for a in sorted(owed) if a != alice.address]
    relay.send(c.distributor.functions.claimMany(*(list(column) for column in zip(*rest, strict=True))))
    return owed


# -- the scenario's constants --------------------------------------------------------------------


ANALYTICS = int(Purpose.ANALYTICS)


INTERESTS, PURCHASES, STYLES = 1 << 4, 1 << 2, 1 << 5


BIG = 10**30  # far above 2^63: amounts must survive the database exactly


ZERO = "0x" + "00" * 32


# -- standard clients over npm (tests/interop/*.mjs) and contract wallets ----------------------------

MERKLE_SCRIPT = REPO_ROOT / "tests" / "chain" / "standard_tree.mjs"
SIWE_SCRIPT = REPO_ROOT / "tests" / "interop" / "siwe_sign_in.mjs"


def openzeppelin(payload: dict, tmp_path: Path) -> dict:  # type: ignore[type-arg]
    """The tree @openzeppelin/merkle-tree (npm) builds from `payload`: its root, proofs and dump."""
    source = tmp_path / "tree-input.json"
    source.write_text(json.dumps(payload))
    done = subprocess.run(
        ["node", str(MERKLE_SCRIPT), str(source)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def node_sign(private_key: str, *, fields: dict | None = None, text: str | None = None) -> dict:  # type: ignore[type-arg]
    """{message, signature, address} from the npm siwe package and an ethers Wallet."""
    request = {"privateKey": private_key, **({"fields": fields} if fields is not None else {"text": text})}
    done = subprocess.run(
        ["node", str(SIWE_SCRIPT)], input=json.dumps(request), capture_output=True, text=True, timeout=60, cwd=REPO_ROOT
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def standard_fields(client, settings, address: str, **changes) -> dict:  # type: ignore[no-untyped-def,type-arg]
    """The fields a dapp gives the siwe package: this service's domain, URI, chain and a fresh nonce."""
    nonce = client.post("/auth/siwe/nonce", json={"address": address}).json()["nonce"]
    fields = {
        "domain": settings.siwe_domain,
        "address": address,
        "uri": settings.siwe_uri,
        "version": "1",
        "chainId": client.get("/pages/config").json()["chain_id"],
        "nonce": nonce,
        "issuedAt": clock.rfc3339(clock.utcnow(), digits=3),
    }
    return {**fields, **changes}


WALLET_SOURCE = REPO_ROOT / "contracts" / "test" / "utils" / "MockERC1271Wallet.sol"


def deploy_wallet(w3: Web3, deployer, owner: str) -> str:  # type: ignore[no-untyped-def]
    """An ERC-1271 contract wallet (the Foundry suite's mock) owned by `owner`."""
    artifact = compile_one(WALLET_SOURCE, "MockERC1271Wallet")
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    sent = Sender(w3, deployer).send(factory.constructor(owner))
    return Web3.to_checksum_address(sent.receipt["contractAddress"])


# -- the route table (tests/api/test_roles.py pins it; test_malformed walks it) -----------------------


ROLES = ("customer", "brand", "auditor", "operator")


@lru_cache(maxsize=1)
def route_table() -> list[tuple[str, str, set[str]]]:
    """Every operation of the OpenAPI document with the roles its description says may call it."""
    spec = create_app().openapi()
    table = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            first = (operation.get("description") or "").strip().split("\n")[0]
            # The last parenthesis naming a role: "(customer)", "(auditor or operator)", ...
            stated = re.findall(r"\(((?:anyone|customer|brand|auditor|operator)[^()]*)\)", first)
            assert stated, f"{method.upper()} {path} does not say who may call it: {first!r}"
            words = set(re.findall(r"anyone|customer|brand|auditor|operator", stated[-1]))
            table.append((method.upper(), path, set(ROLES) if "anyone" in words else words))
    return table


def sample_url(path: str) -> str:
    """`path` with every parameter filled in (a 32-byte hash, or 1)."""
    return re.sub(r"\{[^}]+\}", lambda m: "0x" + "ab" * 32 if "hash" in m.group(0) else "1", path)


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


def fund_budget(w3: Web3, d: Deployment, operator: LocalAccount, brand: str, amount: int) -> None:
    """The operator funds a registered brand's budget with `amount` CASH units."""
    _, _, distributor = contracts(w3, d)
    Sender(w3, operator).send(distributor.functions.fund(brand, amount, b"\x0f" * 32))


def offer_body(kind: str, /, **changes: object) -> dict:
    """A valid offer to create through the API (valid from 2020 for a year from now); a change set to None
    drops the field."""
    from datetime import UTC, timedelta

    from app.clock import utcnow

    values = {
        "cashback_bps": {"bps": 500, "budget_units": str(10**21)},
        "fixed_bonus": {"bonus_units": str(10**18), "budget_units": str(10**21)},
        "coupon": {"coupon_code": "SPRING-10", "discount": "10% off"},
        "gift": {"discount": "a tote bag"},
        "message": {"body": "Thank you for shopping with us"},
        "page": {"body": "https://brand.example/spring"},
    }[kind]
    body: dict[str, object] = {
        "name": f"{kind} offer",
        "kind": kind,
        "terms": "One per customer while the budget lasts.",
        "valid_from": "2020-01-01T00:00:00Z",
        "valid_until": (utcnow() + timedelta(days=365)).astimezone(UTC).isoformat().replace("+00:00", "Z"),
        **values,
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


class WebhookReceiver:
    """A brand's real HTTP endpoint on loopback: answers scripted statuses in turn (then 200), verifies each
    signature with `secret`, and processes each event id once (what an idempotent receiver does)."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        from app.channels import webhook

        receiver = self
        self.statuses = list(statuses or [])
        self.secret = b""
        self.requests: list[tuple[str, dict, bool]] = []  # (event id, body, signature valid)
        self.processed: dict[str, dict] = {}

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                import json

                raw = self.rfile.read(int(self.headers["Content-Length"]))
                ok = webhook.verify(receiver.secret, self.headers[webhook.SIGNATURE_HEADER], raw)
                key = self.headers[webhook.EVENT_HEADER]
                receiver.requests.append((key, json.loads(raw), ok))
                status = receiver.statuses.pop(0) if receiver.statuses else (200 if ok else 401)
                if status == 200:
                    receiver.processed.setdefault(key, json.loads(raw))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class SmtpInbox:
    """A real SMTP server (aiosmtpd) on a free loopback port keeping what it receives; refuses nobody@…"""

    def __init__(self) -> None:
        import email as email_lib
        import socket

        from aiosmtpd.controller import Controller

        inbox = self
        self.messages: list[tuple[list[str], email_lib.message.Message]] = []

        class Handler:
            async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802, ANN001
                if address.startswith("nobody@"):
                    return "550 no such user"
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server, session, envelope):  # noqa: N802, ANN001
                inbox.messages.append((list(envelope.rcpt_tos), email_lib.message_from_bytes(envelope.content)))
                return "250 Message accepted"

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=port)
        self.controller.start()
        self.port = port

    def close(self) -> None:
        self.controller.stop()


def mirror_consent(engine: Engine, customer: str, brand: str, purpose: int, categories: int, **changes: object) -> None:
    """A consent as the indexer mirrors it (active, no end, price 0) — for services that read the mirror."""
    from app.models.mirror import MirrorConsent

    row = dict(
        customer=customer, brand=brand, purpose=purpose, status="active", categories=categories, granted_at=1,
        expires_at=0, price=0, receipt_hash="0x" + "11" * 32, notice_hash="0x" + "22" * 32, nonce=1,
        updated_block=1, updated_log_index=0, updated_tx_hash="0x" + "33" * 32,
    )  # fmt: skip
    row.update(changes)
    with Session(engine) as session:
        session.merge(MirrorConsent(**row))
        session.commit()


def delivered_offer(
    engine: Engine, brand_id: int, kind: str, customer_ids: list[int], at: datetime, **fields: object
) -> int:
    """An offer of `kind` (valid 2020 … 2100 unless `fields` say otherwise) delivered to the customers at `at`
    through the inbox, reading no data (source `rule:0`)."""
    from datetime import UTC

    from app.models.crm import Delivery, Offer

    values: dict[str, object] = {
        "name": f"{kind} offer",
        "terms": "While the budget lasts.",
        "valid_from": datetime(2020, 1, 1, tzinfo=UTC),
        "valid_until": datetime(2100, 1, 1, tzinfo=UTC),
    }
    values.update(fields)
    with Session(engine) as session:
        offer = Offer(brand_id=brand_id, kind=kind, **values)  # type: ignore[arg-type]
        session.add(offer)
        session.commit()
        assert offer.id is not None
        for customer_id in customer_ids:
            session.add(
                Delivery(
                    offer_id=offer.id,
                    customer_id=customer_id,
                    source="rule:0",
                    channel="inbox",
                    why="{}",
                    delivered_at=at,
                )
            )
        session.commit()
        return offer.id


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


# -- the independent audit: a ledger with every kind of record, settled tree files, the CLI ------------

UNITS = 10**18
T0 = datetime(2026, 1, 1, tzinfo=UTC)
INTERESTS = int(Category.INTERESTS)


@dataclass
class Ledger:
    """A ledger after two epochs, paid accesses, claims, a withdrawal, a revocation and a refused donation."""

    alice: LocalAccount
    bob: LocalAccount
    carol: LocalAccount
    brand: LocalAccount
    first_purchase: int  # alice's purchase covered by epoch 1


def build_ledger(settings, engine, w3, d, operator, relayer, dev_accounts) -> Ledger:  # type: ignore[no-untyped-def]
    token, registry, distributor = contracts(w3, d)
    recorder = RoleKeys.from_settings(settings).recorder
    alice, bob, carol = dev_accounts[0], dev_accounts[1], dev_accounts[2]
    brand_key, donor = dev_accounts[5], dev_accounts[7]
    brand = funded_brand(engine, w3, d, operator, brand_key, "Acme", 10**9 * UNITS)
    ids = {a.address: customer(engine, a.address) for a in (alice, bob, carol)}

    # Epoch 1: two purchases at the base tier and one paid access.
    first = purchase(engine, ids[alice.address], brand, T0 + timedelta(days=1), 600_000, "a1")
    purchase(engine, ids[bob.address], brand, T0 + timedelta(days=2), 50_000, "b1")
    grant_by_signature(w3, d, relayer, carol, brand_key.address, MARKETING, INTERESTS, 7 * UNITS)
    record_access(w3, d, recorder, brand_key.address, MARKETING, INTERESTS, [carol.address])
    gateway = ChainGateway(settings)
    runner = EpochRunner(settings, engine, gateway)
    first_epoch = runner.run(T0 + timedelta(days=30)).epoch
    assert first_epoch.status == "done"
    pass_challenge_window(w3, int(first_epoch.finalises_at.timestamp()))

    # Epoch 2: purchases at the tiers graded in epoch 1, a batch access, then carol revokes.
    purchase(engine, ids[alice.address], brand, T0 + timedelta(days=40), 100_000, "a2")
    purchase(engine, ids[bob.address], brand, T0 + timedelta(days=45), 250_000, "b2")
    grant_by_signature(w3, d, relayer, bob, brand_key.address, MARKETING, INTERESTS | 1, 3 * UNITS)
    record_access(w3, d, recorder, brand_key.address, MARKETING, INTERESTS, [carol.address, bob.address])
    Sender(w3, carol).send(registry.functions.revoke(carol.address, brand_key.address, MARKETING))
    second_epoch = runner.run(T0 + timedelta(days=60)).epoch
    assert second_epoch.status == "done"
    pass_challenge_window(w3, int(second_epoch.finalises_at.timestamp()))
    assert finalize_due(gateway)

    # After the epochs: claims (own key and relayed), a budget withdrawal, a refused direct donation.
    files = TreeFiles(settings.data_dir / "epochs" / "2")
    proof = files.proof(alice.address)
    Sender(w3, alice).send(distributor.functions.claim(*proof.claim_args()))
    proof = files.proof(bob.address)
    Sender(w3, relayer).send(distributor.functions.claimMany(*claim_many_args([proof])))
    Sender(w3, brand_key).send(distributor.functions.withdraw(5 * UNITS, brand_key.address))
    Sender(w3, brand_key).send(distributor.functions.withdraw(11, donor.address))
    with pytest.raises(ContractRevert) as refused:  # CASH cannot reach the distributor by mistake
        Sender(w3, donor).send(token.functions.transfer(d.distributor, 11))
    assert refused.value.name == "TransferToProtocol"
    catch_up(settings, engine=engine)
    return Ledger(alice, bob, carol, brand_key, first)


def settle_epoch(settings, engine, w3, d, operator, dev_accounts) -> list[LocalAccount]:  # type: ignore[no-untyped-def]
    """One settled epoch paying cashback to five customers; returns them."""
    customers = dev_accounts[:5]
    brand = funded_brand(engine, w3, d, operator, dev_accounts[6], "Acme", 10**9 * UNITS)
    for k, account in enumerate(customers):
        who = customer(engine, account.address)
        purchase(engine, who, brand, T0 + timedelta(days=1 + k), 10_000 * (k + 1), f"o-{k}")
    epoch = EpochRunner(settings, engine, ChainGateway(settings)).run(T0 + timedelta(days=30)).epoch
    assert epoch.status == "done"
    pass_challenge_window(w3, int(epoch.finalises_at.timestamp()))  # claimable from then on
    return customers


def epoch_files(settings: Settings, number: int = 1) -> TreeFiles:
    return TreeFiles(settings.data_dir / "epochs" / str(number))


def flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def flip_sibling_of(settings: Settings, account: str) -> int:
    """Flips one bit of the node next to the account's leaf in tree.bin; returns that node's index."""
    files = epoch_files(settings)
    (record,) = [r for r in files.records() if r.leaf.account == account.lower()]
    sibling = record.tree_index + 1 if record.tree_index % 2 else record.tree_index - 1
    flip(files.directory / "tree.bin", sibling * 32 + 5)
    return sibling


def audit_check(report: dict, name: str) -> dict:  # type: ignore[type-arg]
    """The one check called `name` in a verifier's report."""
    (found,) = [c for c in report["checks"] if c["check"] == name]
    return found


def proofs_check(settings: Settings, engine: Engine) -> tuple[dict, dict]:  # type: ignore[type-arg]
    report = Verifier(settings, engine, ChainGateway(settings)).run()
    return report, audit_check(report, "proofs")


def cli_env(settings: Settings) -> dict[str, str]:
    """The environment for `python -m app.cli` against this test's data folder and anvil."""
    env = {
        **os.environ,
        "ENVIRONMENT": "test",
        "DATA_DIR": str(settings.data_dir),
        "RPC_URL": settings.rpc_url,
        "START_ANVIL": "false",
    }
    env.pop("DATABASE_URL", None)
    return env


def run_audit_cli(settings: Settings, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "audit", "verify", "--out", str(out)],
        env=cli_env(settings),
        capture_output=True,
        text=True,
        timeout=300,
    )


# -- ingestion rows (tests/services/test_ingestion.py and its neighbours) --------------------------------

ALICE = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8"
BOB = "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc"
BRAND_ADDRESS = "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc"
UNLIMITED = 10**12


def alternating_purchase_row(n: int, brand: int | str, /, **changes: object) -> dict:  # type: ignore[type-arg]
    """Purchase row n, bought by alice when n is odd and by bob when it is even."""
    return purchase_row(n, brand, ALICE if n % 2 else BOB, **changes)


def alice_event_row(n: int, brand: int | str, /, **changes: object) -> dict:  # type: ignore[type-arg]
    return event_row(n, brand, ALICE, "cart_add", **changes)


def row_count(engine: Engine, model: type) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(model))  # type: ignore[call-overload,no-any-return]


def opt_in_auto_claims(engine: Engine, address: str) -> None:
    """The customer (created if new) opts in to automatic claims, as PUT /me/auto-claim does."""
    from app.models.auto_claims import AutoClaim

    who = customer(engine, address)
    with Session(engine) as session:
        session.merge(AutoClaim(customer_id=who))
        session.commit()


def claimed_events(w3: Web3, d: Deployment) -> dict[str, int]:
    """How many Claimed events the distributor emitted per (lower-case) account: 1 is paid exactly once."""
    _, _, distributor = contracts(w3, d)
    counts: dict[str, int] = {}
    for log in distributor.events.Claimed.get_logs(from_block=d.block):
        account = log["args"]["account"].lower()
        counts[account] = counts.get(account, 0) + 1
    return counts


def cash_holder(w3: Web3, d: Deployment, operator: LocalAccount, brand: LocalAccount, holder: str, amount: int) -> None:
    """Gives `holder` `amount` CASH units: the operator funds `brand`'s budget, the brand withdraws it to the holder."""
    _, _, distributor = contracts(w3, d)
    Sender(w3, operator).send(distributor.functions.fund(brand.address, amount, b"\x0f" * 32))
    Sender(w3, brand).send(distributor.functions.withdraw(amount, holder))


def signed_payment(client, headers: dict[str, str], account: LocalAccount, **request: object) -> dict:  # type: ignore[type-arg]
    """Asks a payment quote and signs its permit and Payment as a wallet does; returns the POST /me/payments body."""
    quoted = client.post("/me/payments/quote", headers=headers, json=request)
    assert quoted.status_code == 200, quoted.text
    q = quoted.json()
    sign = lambda doc: "0x" + bytes(Account.sign_typed_data(account.key, full_message=doc).signature).hex()  # noqa: E731
    return {"reference": q["reference"], "permit_signature": sign(q["permit"]), "payment_signature": sign(q["payment"])}
