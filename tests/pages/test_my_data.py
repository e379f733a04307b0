"""The wallet's "My data, as brands see it" in headless Chromium at 375 and 1280 px: the categories with who may
see them and who saw them, editing personal fields (a refusal says which field), the export download, and
erasure behind its confirm step."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from eth_account import Account
from sqlmodel import Session

from app.domain import Category, Purpose
from app.models.accounts import Customer
from tests import factories
from tests.pages.conftest import DESKTOP, PHONE, assert_clean, fits_width, new_page, overflowing, shot

pytestmark = pytest.mark.chain

MARKETING = int(Purpose.MARKETING)


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["375", "1280"])
def test_my_data_section_shows_edits_exports_and_erases(
    live, browser, engine, w3, deployment_of, operator, relayer, recorder, dev_accounts, viewport
):
    d = deployment_of(live.settings)
    brand_key = dev_accounts[5]
    brand = factories.funded_brand(engine, w3, d, operator, brand_key, "Data Brand", 10**24)
    wallet = new_page(browser, viewport)
    wallet.goto(f"{live.url}/wallet")
    wallet.wait_for_selector("body[data-ready=true]")
    me = Account.from_key(wallet.evaluate("localStorage.getItem('ledger.devWallet.key')"))
    customer = factories.customer(engine, me.address)
    now = datetime.now(UTC)
    factories.purchase(engine, customer, brand, now - timedelta(days=2), 12_000, f"{me.address}-1")
    factories.purchase(engine, customer, brand, now - timedelta(days=1), 30_000, f"{me.address}-2")
    factories.interest_event(
        engine, customer, brand, now - timedelta(hours=1), "cart_add", "bags", "vintage", me.address
    )
    contact_and_purchases = int(Category.CONTACT | Category.PURCHASES)
    factories.grant_by_signature(w3, d, relayer, me, brand_key.address, MARKETING, contact_and_purchases, 10**18)
    factories.record_access(w3, d, recorder, brand_key.address, MARKETING, int(Category.CONTACT), [me.address])

    wallet.click("#connect-dev")
    wallet.wait_for_selector("body[data-loaded=true]")
    cats = wallet.locator("#mydata-body .mydata-cat")
    assert cats.evaluate_all("cs => cs.map(c => c.dataset.category)") == [c.name.lower() for c in Category]
    contact = wallet.locator(".mydata-cat[data-category=contact]")
    assert "Data Brand · marketing" in contact.inner_text() and "Seen 1 time" in contact.inner_text()
    purchases = wallet.locator(".mydata-cat[data-category=purchases]")
    assert "Data Brand" in purchases.inner_text() and "No brand has seen it." in purchases.inner_text()
    assert "42,000" in purchases.inner_text()
    assert "no brand" in wallet.locator(".mydata-cat[data-category=demographics]").inner_text()
    assert "adds" in wallet.locator(".mydata-cat[data-category=cart]").inner_text()

    # Editing: a field the API refuses is named, nothing is saved; then a valid change shows at once.
    wallet.click("#mydata-edit")
    wallet.fill("#personal-email", "not-an-email")
    wallet.click("#personal-save")
    wallet.locator("#personal-msg .notice.error").wait_for()
    assert "email" in wallet.locator("#personal-msg").inner_text()
    wallet.fill("#personal-email", "me@example.com")
    wallet.fill("#personal-name", "Kim Min")
    wallet.fill("#personal-birth_year", "1991")
    wallet.click("#personal-save")
    wallet.locator("#mydata-msg .notice.ok").wait_for()
    wallet.wait_for_selector(".mydata-cat[data-category=contact] >> text=Kim Min")
    assert "1991" in wallet.locator(".mydata-cat[data-category=demographics]").inner_text()

    # The export: one click, a JSON file of everything, checked against the database.
    with wallet.expect_download() as download:
        wallet.click("#mydata-export")
    archive = json.loads(download.value.path().read_text(encoding="utf-8"))
    assert archive["address"] == me.address and archive["profile"]["contact"]["name"] == "Kim Min"
    tables = {t["table"]: t["rows"] for t in archive["tables"]}
    assert sorted(r["amount"] for r in tables["purchases"]) == [12_000, 30_000]
    assert len(tables["mirror_accesses"]) == 1 and tables["mirror_accesses"][0]["price"] == str(10**18)

    # Erasure: a confirm step stating what stays, and a button that waits for the tick.
    wallet.click("#mydata-erase")
    confirm = wallet.locator("#erase-confirm")
    confirm.wait_for()
    assert "consent receipts" in confirm.inner_text() and "amount" in confirm.inner_text()
    assert wallet.locator("#erase-go").is_disabled()
    assert fits_width(wallet), overflowing(wallet)
    shot(wallet, f"my-data-{viewport['width']}")
    wallet.check("#erase-understood")
    wallet.click("#erase-go")
    done = wallet.locator("#erase-done")
    done.wait_for()
    assert "Erased: name, email, birth_year" in done.inner_text() and "1 interest event" in done.inner_text()
    with Session(engine) as session:
        row = session.get(Customer, customer)
        assert row is not None and row.name is None and row.email is None and row.erased_at is not None
    assert fits_width(wallet), overflowing(wallet)
    shot(wallet, f"my-data-erased-{viewport['width']}")
    assert_clean(wallet, live.url, "wallet")
    wallet.context.close()
