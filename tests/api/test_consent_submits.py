"""One signed consent submitted four times at once: relayed once (200), the others told 409 "already submitted"."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests import factories
from tests.conftest import free_port, make_brand, sign_in
from tests.live import serve


def test_four_concurrent_submits_of_one_signature_relay_it_once(settings, dev_accounts) -> None:
    settings = settings.model_copy(update={"api_port": free_port()})
    customer = dev_accounts[0]
    with serve(settings) as api:
        admin = {"Authorization": f"Bearer {settings.admin_key.get_secret_value()}"}
        brand, _ = make_brand(api, admin, dev_accounts[5], name="Acme")
        headers = sign_in(api, customer)
        _, body = factories.signed_grant(api, headers, customer, brand["id"])
        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda _: api.post("/consents", json=body, headers=headers), range(4)))
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [200, 409, 409, 409], [a.text for a in answers]
        for refused in (a for a in answers if a.status_code == 409):
            assert "already" in refused.json()["message"], refused.text
        listed = api.get("/consents", headers=headers).json()
        assert [c["status"] for c in listed] == ["active"]
