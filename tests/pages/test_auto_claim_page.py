"""Issue 13 item 4: the wallet's automatic-claims toggle (off until ticked) and the claims the relayer paid, at 375
and 1280 px in Chromium."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session

from app.models.auto_claims import AutoClaim, BatchStatus, ClaimBatch, ClaimLine
from tests import factories
from tests.pages.conftest import DESKTOP, PHONE, assert_clean, fits_width, new_page, overflowing, shot

pytestmark = pytest.mark.chain

UNITS = 10**18


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["375", "1280"])
def test_wallet_toggles_automatic_claims_and_lists_what_was_paid(live, browser, engine, viewport):
    wallet = new_page(browser, viewport)
    wallet.goto(f"{live.url}/wallet")
    wallet.wait_for_selector("body[data-ready=true]")
    wallet.click("#connect-dev")
    wallet.wait_for_selector("body[data-loaded=true]")
    address = wallet.locator("#dev-address").inner_text().strip()
    toggle = wallet.locator("#auto-claim-toggle")
    wallet.wait_for_selector("#auto-claim-toggle:not([disabled])")
    assert not toggle.is_checked()  # nothing pre-ticked

    toggle.check()
    wallet.locator("#auto-claim-msg .notice.ok").wait_for()
    assert "Automatic claims are on" in wallet.locator("#auto-claim-msg").inner_text()
    customer = factories.customer(engine, address)
    with Session(engine) as session:
        assert session.get(AutoClaim, customer) is not None
        # What a relayer batch leaves for this account (the job itself is tested in tests/jobs and tests/services).
        batch = ClaimBatch(
            epoch=3,
            tx_hash=f"0x{viewport['width']:064x}",
            raw=b"\x02",
            accounts=json.dumps([address.lower()]),
            status=BatchStatus.DONE,
            block_number=42,
        )
        session.add(batch)
        session.flush()
        session.add(ClaimLine(epoch=3, account=address.lower(), batch_id=batch.id, amount=12 * UNITS, paid=True))
        session.commit()

    wallet.reload()
    wallet.wait_for_selector("body[data-ready=true]")
    wallet.wait_for_selector("body[data-loaded=true]")
    wallet.wait_for_selector("#auto-claim-toggle:checked")
    row = wallet.locator("#auto-claim-list tbody tr")
    assert row.count() == 1 and "12" in row.inner_text() and "3" in row.inner_text()
    assert fits_width(wallet), overflowing(wallet)
    shot(wallet, f"auto-claim-wallet-{viewport['width']}")

    wallet.locator("#auto-claim-toggle").uncheck()
    wallet.locator("#auto-claim-msg .notice.ok").wait_for()
    assert "Automatic claims are off" in wallet.locator("#auto-claim-msg").inner_text()
    with Session(engine) as session:
        assert session.get(AutoClaim, customer) is None
    assert_clean(wallet, live.url, "wallet")
    wallet.context.close()
