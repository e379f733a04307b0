"""Refusals reach people as sentences: a wrong API key, an empty budget, a rejected signature; and the pages'
money helpers keep integers exact (BigInt, never floats)."""

from __future__ import annotations

import pytest

from app.chain import eip712
from tests.conftest import make_brand, sign_in
from tests.pages.conftest import PHONE, new_page, shot

pytestmark = pytest.mark.chain


def test_money_helpers_are_exact(live, browser):
    page = new_page(browser, PHONE)
    page.goto(f"{live.url}/wallet")
    got = page.evaluate(
        """async () => {
            const m = await import('/static/pages/common.js');
            return {
                body: m.toJson({price: 2500000000000000001n}),
                shown: m.formatCash('123456789012345678901234', 18),
                cut: m.formatCash('9999999999999999', 18),
                parsed: m.parseCash('2.50', 18).toString(),
            };
        }"""
    )
    assert got == {
        "body": '{"price":"2500000000000000001"}',
        "shown": "123,456.78",
        "cut": "0.00",
        "parsed": "2500000000000000000",
    }
    page.context.close()


def test_refusals_in_plain_words(live, browser, dev_accounts):
    admin = {"Authorization": f"Bearer {live.settings.admin_key.get_secret_value()}"}
    _, brand_headers = make_brand(live.api, admin, dev_accounts[6], name="Unfunded")
    key = brand_headers["Authorization"].removeprefix("Bearer ")

    console = new_page(browser, PHONE)
    console.on("dialog", lambda d: d.accept())
    console.goto(f"{live.url}/brand")
    console.fill("#api-key", "bk_not-a-real-key")
    console.click("#signin-submit")
    message = console.locator("#signin-msg .notice.error").inner_text()
    assert "not valid" in message

    # A customer consents to the unfunded brand (signed with their own key, relayed by the API).
    customer = dev_accounts[7]
    headers = sign_in(live.api, customer)
    prepared = live.api.post(
        "/consents/typed-data",
        headers=headers,
        json={
            "action": "grant",
            "brand": dev_accounts[6].address,
            "purpose": "analytics",
            "categories": ["segment", "interests"],
            "price": 10**18,
            "no_end": True,
        },
    )
    assert prepared.status_code == 200, prepared.text
    doc = prepared.json()

    # A signature by someone else is refused, and said so.
    wrong = "0x" + eip712.sign_typed_data(dev_accounts[0].key, doc["typed_data"]).hex()
    refused = live.api.post("/consents", headers=headers, json={"request_id": doc["request_id"], "signature": wrong})
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_signature"
    said = console.evaluate(
        """async (body) => {
            const m = await import('/static/pages/common.js');
            return m.explain(new m.ApiError(400, body.error, body.message, body.detail));
        }""",
        refused.json(),
    )
    assert said.startswith("The signature was rejected")

    right = "0x" + eip712.sign_typed_data(customer.key, doc["typed_data"]).hex()
    granted = live.api.post("/consents", headers=headers, json={"request_id": doc["request_id"], "signature": right})
    assert granted.status_code == 200, granted.text

    # The unfunded brand asks for profiles: the console explains the empty budget, no trace, no data.
    console.fill("#api-key", key)
    console.click("#signin-submit")
    console.wait_for_selector("body[data-loaded=true]")
    console.select_option("#purpose", "analytics")
    console.click("#request")
    error = console.locator("#scope-msg .notice.error")
    error.wait_for()
    text = error.inner_text()
    assert "budget" in text.lower() and "Traceback" not in text
    assert console.locator("#profiles-body tr[data-address]").count() == 0
    shot(console, "error-empty-budget-375")
    assert console.errors == []  # type: ignore[attr-defined]
    console.context.close()
