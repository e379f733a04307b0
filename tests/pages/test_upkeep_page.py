"""The wallet's paid profile upkeep in headless Chromium at 375 and 1280 px: each field's last update and
confirmation, the reminder for the fields due, and "Confirm these details" with nothing ticked for the customer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from eth_account import Account
from sqlmodel import Session, select

from app.models.accounts import Customer
from app.models.upkeep import UpkeepEvent
from tests import factories
from tests.pages.conftest import DESKTOP, PHONE, assert_clean, fits_width, new_page, overflowing, shot

pytestmark = pytest.mark.chain


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["375", "1280"])
def test_upkeep_reminds_and_confirms_only_what_the_customer_ticks(live, browser, engine, viewport):
    wallet = new_page(browser, viewport)
    wallet.goto(f"{live.url}/wallet")
    wallet.wait_for_selector("body[data-ready=true]")
    me = Account.from_key(wallet.evaluate("localStorage.getItem('ledger.devWallet.key')"))
    customer = factories.customer(engine, me.address)
    with Session(engine) as session:
        row = session.get(Customer, customer)
        assert row is not None
        row.created_at = datetime.now(UTC) - timedelta(days=200)  # enrolled with these, never touched since
        row.birth_year, row.region = 1988, "Busan"
        session.add(row)
        session.commit()

    wallet.click("#connect-dev")
    wallet.wait_for_selector("body[data-loaded=true]")
    reminder = wallet.locator("#upkeep-reminder")
    reminder.wait_for()
    assert "2 details" in reminder.inner_text() and "Birth year, Region" in reminder.inner_text()
    assert "2.00 CASH per field" in wallet.locator("#upkeep-body").inner_text()
    assert "empty: nothing to confirm" in wallet.locator("#upkeep-body tr[data-field=email]").inner_text()
    boxes = wallet.locator("#upkeep-form input[type=checkbox]")
    assert boxes.count() == 2 and not any(boxes.nth(i).is_checked() for i in range(2))  # nothing pre-ticked
    go = wallet.locator("#upkeep-confirm")
    assert go.is_disabled()
    wallet.check("#upkeep-birth_year")
    assert not go.is_disabled()
    assert fits_width(wallet), overflowing(wallet)
    shot(wallet, f"upkeep-due-{viewport['width']}")
    go.click()

    wallet.locator("#upkeep-done").wait_for()
    assert "Confirmed: Birth year" in wallet.locator("#upkeep-done").inner_text()
    birth = wallet.locator("#upkeep-body tr[data-field=birth_year]").inner_text()
    assert "never" in birth and "from " in birth and "2.00 at the next epoch" in birth  # updated never, confirmed now
    assert "Region" in wallet.locator("#upkeep-reminder").inner_text()  # still due: it was not ticked
    assert "Birth year" not in wallet.locator("#upkeep-reminder").inner_text()
    with Session(engine) as session:
        events = session.exec(select(UpkeepEvent).where(UpkeepEvent.customer_id == customer)).all()
        assert [(e.field, e.kind) for e in events] == [("birth_year", "confirmed")]

    # Editing a field to a new value is an update: its row says so at once.
    wallet.click("#mydata-edit")
    wallet.fill("#personal-region", "Daegu")
    wallet.click("#personal-save")
    wallet.locator("#mydata-msg .notice.ok").wait_for()
    wallet.wait_for_selector("#upkeep-none-due")  # region's reminder restarted with the update
    region = wallet.locator("#upkeep-body tr[data-field=region]").inner_text()
    assert "never" in region and "2.00 at the next epoch" in region
    assert fits_width(wallet), overflowing(wallet)
    shot(wallet, f"upkeep-updated-{viewport['width']}")
    assert_clean(wallet, live.url, "wallet")
    wallet.context.close()
