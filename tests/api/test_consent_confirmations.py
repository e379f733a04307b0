"""With CONFIRMATIONS set, a relayed change is in force (receipt active) only once its block is that deep."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.main import create_app
from app.services.maintenance import run_once
from tests import factories
from tests.conftest import make_brand, sign_in


def test_a_grant_is_active_only_at_the_configured_confirmations(settings, w3, dev_accounts) -> None:
    settings = settings.model_copy(update={"confirmations": 2})
    customer = dev_accounts[0]
    with TestClient(create_app(settings)) as client:
        admin = {"Authorization": f"Bearer {settings.admin_key.get_secret_value()}"}
        brand, _ = make_brand(client, admin, dev_accounts[5], name="Acme")
        headers = sign_in(client, customer)
        typed, body = factories.signed_grant(client, headers, customer, brand["id"])
        relayed = client.post("/consents", json=body, headers=headers)
        assert relayed.status_code == 200, relayed.text
        assert relayed.json()["receipt_status"] == "pending"  # mined, not yet 2 blocks deep
        detail = client.get(f"/consents/{typed['receipt_id']}", headers=headers).json()
        assert (detail["status"], detail["changes"][0]["status"]) == ("pending", "sent")
        assert detail["on_chain"]["in_force"] is False  # read at the head minus 2 blocks
        again = client.post("/consents", json=body, headers=headers)
        assert again.status_code == 409 and "already submitted" in again.json()["message"]

        w3.provider.make_request("anvil_mine", [2])  # type: ignore[arg-type]
        reconciled = run_once(client.app.state.engine, settings, client.app.state.gateway).reconciled
        assert [r.outcome for r in reconciled] == ["confirmed"]
        detail = client.get(f"/consents/{typed['receipt_id']}", headers=headers).json()
        assert (detail["status"], detail["changes"][0]["status"]) == ("active", "relayed")
        assert detail["on_chain"]["in_force"] is True
