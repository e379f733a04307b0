"""Plain factory functions for tests: customers, brands with funded budgets, purchases, consents, accesses."""

from __future__ import annotations

import time
from datetime import datetime

from eth_account.signers.local import LocalAccount
from sqlalchemy import Engine
from sqlmodel import Session, select
from web3 import Web3

from app.chain import eip712
from app.chain.compiler import compile_contracts
from app.chain.deployment import Deployment
from app.chain.transactions import Sender
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
    engine: Engine, w3: Web3, d: Deployment, operator: LocalAccount, account: LocalAccount, name: str, budget: int
) -> int:
    """A brand registered on chain and in the database, with `budget` CASH units deposited."""
    token, registry, distributor = contracts(w3, d)
    ops = Sender(w3, operator)
    if not registry.functions.isBrand(account.address).call():
        ops.send(registry.functions.registerBrand(account.address))
    ops.send(token.functions.mint(account.address, budget))
    own = Sender(w3, account)
    own.send(token.functions.approve(d.distributor, budget))
    own.send(distributor.functions.deposit(account.address, budget))
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
    deadline = int(time.time()) + 3600
    nonce = registry.functions.nonces(customer.address).call()
    doc = eip712.typed_data(
        "Grant", {**terms, "nonce": nonce, "deadline": deadline}, chain_id=w3.eth.chain_id, registry=d.registry
    )
    Sender(w3, relayer).send(
        registry.functions.grantBySig(tuple(terms.values()), deadline, eip712.sign_typed_data(customer.key, doc))
    )


def record_access(
    w3: Web3, d: Deployment, relayer: LocalAccount, brand: str, purpose: int, categories: int, customers: list[str]
) -> None:
    _, registry, _ = contracts(w3, d)
    Sender(w3, relayer).send(registry.functions.recordAccess(brand, purpose, categories, customers, b"\x07" * 32))


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
