"""Over one keep-alive connection to the served app, an out-of-range integer is refused with 422 and the
connection keeps serving (a 500 used to reset it, failing the next request with ECONNRESET)."""

from __future__ import annotations

import httpx
import pytest

pytestmark = pytest.mark.chain


def test_overflowing_offset_is_422_and_the_connection_stays_usable(live) -> None:
    admin = {"Authorization": f"Bearer {live.settings.admin_key.get_secret_value()}"}
    with httpx.Client(base_url=live.url, headers=admin, timeout=30, limits=httpx.Limits(max_connections=1)) as one:
        for _ in range(3):
            refused = one.get("/ledger/brands", params={"offset": str(2**63)})
            assert refused.status_code == 422 and "query.offset" in refused.json()["message"]
            assert one.get("/ledger/brands").status_code == 200
