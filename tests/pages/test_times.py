"""Times on the pages are the reader's local time: the browser runs in Seoul (UTC+9), and a profile request
made at 2026-05-01T00:00:00Z shows in the brand console as 09:00 on 1 May 2026, not 00:00."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlmodel import Session

from app import db
from app.domain import Category, Purpose
from app.models.access import AccessRequest
from tests.conftest import make_brand
from tests.pages.conftest import new_page

pytestmark = pytest.mark.chain

MADE_AT = datetime(2026, 5, 1, 0, 0, tzinfo=UTC)


def test_brand_console_shows_an_access_time_in_the_readers_zone(live, browser, dev_accounts) -> None:
    admin = {"Authorization": f"Bearer {live.settings.admin_key.get_secret_value()}"}
    brand, headers = make_brand(live.api, admin, dev_accounts[4], name="Seoul Shoes")
    engine = db.make_engine(live.settings.sqlalchemy_url)
    with Session(engine) as session:
        session.add(
            AccessRequest(
                id=str(uuid.uuid4()),
                brand_id=brand["id"],
                purpose=int(Purpose.MARKETING),
                categories=int(Category.INTERESTS),
                filters="{}",
                requested_limit=10,
                request_id="0x" + "5e" * 32,
                status="delivered",
                created_at=MADE_AT,
            )
        )
        session.commit()
    engine.dispose()
    # The API says which moment it is; the page says when that was for its reader.
    (item,) = live.api.get("/brands/me/accesses", headers=headers).json()["items"]
    assert item["created_at"] == "2026-05-01T00:00:00Z"

    page = new_page(browser)
    assert page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == "Asia/Seoul"
    page.goto(f"{live.url}/brand")
    page.fill("#api-key", headers["Authorization"].removeprefix("Bearer "))
    page.click("#signin-submit")
    row = page.locator("#history-body tbody tr").first
    row.wait_for()
    shown = row.locator("td").first.inner_text()
    assert "May 1, 2026" in shown and "09:00" in shown, shown
    assert page.errors == []  # type: ignore[attr-defined]
    page.context.close()
