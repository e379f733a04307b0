"""Property: under random grants, narrowings, revocations, expiries and queries, no field leaves without consent."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, event, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from web3 import Web3

from app.chain.anvil import start_anvil, stop_anvil
from app.chain.errors import ContractRevert
from app.chain.transactions import Sender
from app.domain import Category, category_names
from tests.conftest import free_port, make_brand
from tests.factories import MARKETING, enrol, fund, people, recorded, registry_of

CUSTOMERS = 4
FIELDS = {
    Category.CONTACT: "contact",
    Category.DEMOGRAPHICS: "demographics",
    Category.PURCHASES: "purchases",
    Category.SEGMENT: "segment",
    Category.INTERESTS: "interests",
    Category.STYLES: "styles",
    Category.CART: "cart",
}


# Time is warped on this chain, so it gets its own anvil: other tests sign deadlines by the wall clock.
@pytest.fixture(scope="module")
def anvil_url():  # type: ignore[no-untyped-def]
    process = start_anvil(port := free_port())
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_anvil(process)


@pytest.fixture(scope="module")
def w3(anvil_url: str) -> Web3:
    return Web3(Web3.HTTPProvider(anvil_url))


masks = st.integers(min_value=1, max_value=int(sum(Category)))
# Grants lean wide and queries narrow, so that queries often find someone to return.
grant_masks = st.one_of(st.just(int(sum(Category))), masks)
query_masks = st.one_of(st.sampled_from([int(c) for c in Category]), masks)
who = st.integers(min_value=0, max_value=CUSTOMERS - 1)
lifetimes = st.sampled_from([0, 0, 30, 120, 900])  # seconds from now; 0 = never expires
steps = st.one_of(
    st.tuples(st.just("grant"), who, grant_masks, lifetimes, st.integers(min_value=0, max_value=10**15)),
    st.tuples(st.just("narrow"), who, masks, lifetimes),
    st.tuples(st.just("revoke"), who),
    st.tuples(st.just("warp"), st.sampled_from([5, 60, 300, 1000])),
    st.tuples(st.just("query"), query_masks, st.integers(min_value=1, max_value=CUSTOMERS + 1)),
)
# Every sequence ends with a customer granting everything for good and a query, which must then find
# someone: a run where every grant was refused, or that never queried, cannot pass unnoticed.
closing = st.tuples(
    st.tuples(st.just("grant"), who, st.just(int(sum(Category))), st.just(0), st.integers(0, 10**15)),
    st.tuples(st.just("query"), query_masks, st.integers(min_value=1, max_value=CUSTOMERS + 1)),
)
sequences = st.tuples(st.lists(steps, min_size=0, max_size=20), closing).map(lambda t: [*t[0], *t[1]])


def _now(w3: Web3) -> int:
    return int(w3.eth.get_block("latest")["timestamp"])


@hypothesis_settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=sequences)
def test_no_field_leaves_without_covering_consent_and_every_access_is_on_chain(
    client, settings, w3, operator, admin_headers, dev_accounts, deployment_of, sequence
) -> None:
    # Fixtures live across examples: the chain and database keep what earlier examples did, which
    # only widens the states explored. Set up the brand and customers once.
    engine = client.app.state.engine
    if not hasattr(client.app.state, "property_brand"):
        brand, headers = make_brand(client, admin_headers, dev_accounts[5], name="Acme")
        fund(client, w3, settings, deployment_of, operator, dev_accounts[5], "Acme", budget=10**24)
        accounts = people("property", CUSTOMERS)
        for i, account in enumerate(accounts):
            enrol(engine, account, i)
            w3.provider.make_request("anvil_setBalance", [account.address, hex(10**20)])
        client.app.state.property_brand = (brand, headers, accounts)
    brand, headers, accounts = client.app.state.property_brand
    registry = registry_of(w3, settings, deployment_of)
    zero = b"\x00" * 32

    grants = 0
    for number, step in enumerate(sequence, 1):
        kind = step[0]
        try:
            if kind == "grant":
                _, i, mask, lifetime, price = step
                expires = _now(w3) + lifetime + 2 if lifetime else 0
                terms = (accounts[i].address, brand["address"], MARKETING, mask, expires, price, zero, zero)
                try:
                    Sender(w3, accounts[i]).send(registry.functions.grant(terms))
                except ContractRevert as exc:  # a customer's own grant with valid terms is never refused
                    raise AssertionError(f"grant refused: {step}: {exc}") from exc
                grants += 1
            elif kind == "narrow":
                _, i, mask, lifetime = step
                current = registry.functions.consentOf(accounts[i].address, brand["address"], MARKETING).call()
                expires = current[2]
                if lifetime and (expires == 0 or _now(w3) + lifetime + 2 < expires):
                    expires = _now(w3) + lifetime + 2
                Sender(w3, accounts[i]).send(
                    registry.functions.narrow(
                        accounts[i].address, brand["address"], MARKETING, current[0] & mask, expires
                    )
                )
            elif kind == "revoke":
                _, i = step
                Sender(w3, accounts[i]).send(
                    registry.functions.revoke(accounts[i].address, brand["address"], MARKETING)
                )
            elif kind == "warp":
                w3.provider.make_request("evm_increaseTime", [step[1]])
                w3.provider.make_request("evm_mine", [])
        except ContractRevert:
            continue  # the registry refused a meaningless change (no consent, not a narrowing, past expiry)
        if kind != "query":
            continue

        _, mask, limit = step
        answer = client.post(
            "/profiles",
            json={"purpose": "marketing", "categories": category_names(mask), "limit": limit},
            headers=headers,
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        returned = [p["address"] for p in body["profiles"]]
        event(f"query returned {min(len(returned), 2)}+ customers, {body['attempts']} batch(es)")
        block = body["block_number"] if body["request_id"] else w3.eth.block_number

        def covered(address: str, at: int = block, categories: int = mask) -> bool:
            return bool(
                registry.functions.covers(address, brand["address"], MARKETING, categories).call(block_identifier=at)
            )

        # 1. No returned field lacks covering consent at the access block.
        wanted = {"address", "price"} | {name for flag, name in FIELDS.items() if mask & flag}
        for profile in body["profiles"]:
            assert set(profile) == wanted, (profile, category_names(mask))
            assert covered(profile["address"]), (profile["address"], category_names(mask), block)
            for flag, name in FIELDS.items():
                if name in profile:
                    assert covered(profile["address"], categories=int(flag))
        # 2. Every returned customer is in the request's AccessRecorded batch, and nobody else.
        if body["request_id"] is None:
            assert returned == []
        else:
            (batch,) = recorded(w3, settings, deployment_of, body["request_id"])
            assert batch["blockNumber"] == block and batch["categories"] == mask
            assert sorted(batch["customers"]) == sorted(returned)
        # 3. And nobody covered was left out (up to the limit).
        expected = {a.address for a in accounts if covered(a.address)}
        assert set(returned) <= expected
        assert len(returned) == min(limit, len(expected)), (returned, expected, limit)
        if number == len(sequence):  # the closing query, after a grant of everything that never expires
            assert grants >= 1 and returned, (sequence, body)
    assert sequence[-1][0] == "query"
