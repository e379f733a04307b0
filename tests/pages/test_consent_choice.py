"""Consent is an active choice (GDPR art. 4(11), CJEU Planet49): the wallet's grant form opens with nothing chosen,
the button says what is still missing, and the consent granted covers exactly what the customer ticked."""

from __future__ import annotations

import pytest

from tests.conftest import make_brand
from tests.pages.conftest import PHONE, assert_clean, new_page, shot

pytestmark = pytest.mark.chain


def test_grant_form_starts_unchosen_and_grants_what_is_ticked(live, browser, dev_accounts):
    admin = {"Authorization": f"Bearer {live.settings.admin_key.get_secret_value()}"}
    make_brand(live.api, admin, dev_accounts[5], name="Chosen")

    wallet = new_page(browser, PHONE)
    wallet.goto(f"{live.url}/wallet")
    wallet.wait_for_selector("body[data-ready=true]")
    wallet.click("#connect-dev")
    wallet.wait_for_selector("body[data-loaded=true]")
    wallet.click("#grant-box summary")

    boxes = wallet.locator("#grant-categories input[type=checkbox]")
    assert boxes.count() >= 4
    assert boxes.evaluate_all("inputs => inputs.filter(i => i.checked).length") == 0
    assert wallet.locator("#grant-brand").input_value() == ""
    assert wallet.locator("#grant-purpose").input_value() == ""
    submit = wallet.locator("#grant-submit")
    missing = wallet.locator("#grant-missing")
    assert submit.is_disabled()
    assert missing.inner_text() == "To grant, choose a brand, a purpose and at least one kind of data."
    shot(wallet, "consent-choice-375-nothing-chosen")

    wallet.select_option("#grant-brand", label="Chosen")
    assert missing.inner_text() == "To grant, choose a purpose and at least one kind of data."
    wallet.select_option("#grant-purpose", "analytics")
    assert missing.inner_text() == "To grant, choose at least one kind of data."
    assert submit.is_disabled()
    wallet.check("#grant-categories input[value=interests]")
    assert submit.is_enabled() and missing.inner_text() == ""
    wallet.uncheck("#grant-categories input[value=interests]")
    assert submit.is_disabled()  # unticking takes the choice back
    wallet.check("#grant-categories input[value=interests]")

    submit.click()
    wallet.wait_for_selector("#consent-msg .notice.ok")
    row = wallet.locator("#consents-body tr[data-brand=Chosen][data-purpose=analytics]")
    assert row.count() == 1
    assert row.locator(".chip").all_inner_texts() == ["interests"]  # exactly what was ticked, nothing added
    # The next consent is a choice of its own: the form is empty again, not pre-filled with the last one.
    assert boxes.evaluate_all("inputs => inputs.filter(i => i.checked).length") == 0
    assert wallet.locator("#grant-brand").input_value() == "" and wallet.locator("#grant-purpose").input_value() == ""
    assert submit.is_disabled()
    shot(wallet, "consent-choice-375-granted")
    assert_clean(wallet, live.url, "wallet")
    wallet.context.close()
