"""Every route states who may call it (its docstring's "(role)"); everyone else gets 401 or 403.

The table of routes is read from the app's OpenAPI document, so a new route without a stated role
fails here, and so does a route whose dependencies let another role in.
"""

from __future__ import annotations

import pytest

from tests.conftest import make_brand, sign_in
from tests.factories import ROLES, route_table, sample_url

ROUTES = route_table()


@pytest.fixture()
def tokens(client, admin_headers, auditor_headers, dev_accounts) -> dict[str, dict[str, str]]:
    _, brand_headers = make_brand(client, admin_headers, dev_accounts[5], name="Acme")
    return {
        "customer": sign_in(client, dev_accounts[0]),
        "brand": brand_headers,
        "auditor": auditor_headers,
        "operator": admin_headers,
    }


ANYONE = set(ROLES)
# Every route and who may call it. A new route, a removed one or a changed role fails here until this
# table says so: a deliberate change, reviewed with the route.
EXPECTED: dict[tuple[str, str], set[str]] = {
    (method, path): roles
    for method, path, roles in [
        ("GET", "/audience", {"brand"}),
        ("GET", "/audit/reports/latest", {"auditor", "operator"}),
        ("GET", "/audit/reports/latest.html", {"auditor", "operator"}),
        ("POST", "/audit/verify", {"auditor", "operator"}),
        ("POST", "/auditors/tokens", {"operator"}),
        ("DELETE", "/auditors/tokens/{token_id}", {"operator"}),
        ("POST", "/auth/logout", {"customer"}),
        ("GET", "/auth/me", {"customer"}),
        ("POST", "/auth/siwe/nonce", ANYONE),
        ("POST", "/auth/siwe/verify", ANYONE),
        ("GET", "/brands", {"operator"}),
        ("POST", "/brands", {"operator"}),
        ("GET", "/brands/me", {"brand"}),
        ("GET", "/brands/me/accesses", {"brand"}),
        ("GET", "/brands/me/payments", {"brand"}),
        ("GET", "/brands/me/rewards-catalogue", {"brand"}),
        ("POST", "/brands/me/rewards-catalogue", {"brand"}),
        ("POST", "/me/payments/quote", {"customer"}),
        ("POST", "/me/payments", {"customer"}),
        ("GET", "/me/payments", {"customer"}),
        ("GET", "/rewards-catalogue", {"customer"}),
        ("GET", "/brands/me/account", {"brand"}),
        ("GET", "/brands/me/earning-rules", {"brand"}),
        ("POST", "/brands/me/earning-rules", {"brand"}),
        ("GET", "/brands/me/earning-rules/{version}", {"brand"}),
        ("GET", "/brands/me/price-floor", {"brand"}),
        ("PUT", "/brands/me/price-floor", {"brand"}),
        ("GET", "/brands/me/spending", {"brand"}),
        ("POST", "/brand-applications", ANYONE),
        ("POST", "/brand-applications/status", ANYONE),
        ("POST", "/brand-applications/keys", ANYONE),
        ("GET", "/brand-applications", {"operator"}),
        ("POST", "/brand-applications/{application_id}/approve", {"operator"}),
        ("POST", "/brand-applications/{application_id}/refuse", {"operator"}),
        ("POST", "/brands/{brand_id}/keys", {"operator"}),
        ("DELETE", "/brands/{brand_id}/keys/{key_id}", {"operator"}),
        ("GET", "/consents", {"customer"}),
        ("POST", "/consents", {"customer"}),
        ("POST", "/consents/typed-data", {"customer"}),
        ("GET", "/consents/{receipt_id}", {"customer"}),
        ("GET", "/consents/{receipt_id}/receipt", {"customer"}),
        ("GET", "/health", ANYONE),
        ("POST", "/ingest/events", {"operator"}),
        ("POST", "/ingest/events/bulk", {"operator"}),
        ("POST", "/ingest/purchases", {"operator"}),
        ("POST", "/ingest/purchases/bulk", {"operator"}),
        ("POST", "/ingest/purchases/{purchase_id}/void", {"operator"}),
        ("POST", "/ingest/refunds", {"operator"}),
        ("POST", "/ingest/refunds/bulk", {"operator"}),
        ("GET", "/ledger/accesses", {"auditor", "operator"}),
        ("GET", "/ledger/brands", {"auditor", "operator"}),
        ("GET", "/ledger/budgets", {"auditor", "operator"}),
        ("GET", "/ledger/claims", {"auditor", "operator"}),
        ("GET", "/ledger/consent-events", {"auditor", "operator"}),
        ("GET", "/ledger/consents", {"auditor", "operator"}),
        ("GET", "/ledger/customers/{address}/trail", {"auditor", "operator"}),
        ("GET", "/ledger/epochs", {"auditor", "operator"}),
        ("GET", "/ledger/status", {"auditor", "operator"}),
        ("GET", "/ledger/transfers", {"auditor", "operator"}),
        ("GET", "/me/accesses", {"customer"}),
        ("GET", "/me/auto-claim", {"customer"}),
        ("PUT", "/me/auto-claim", {"customer"}),
        ("GET", "/me/balance", {"customer"}),
        ("GET", "/me/claim", {"customer"}),
        ("POST", "/me/claim", {"customer"}),
        ("DELETE", "/me/data", {"customer"}),
        ("GET", "/me/data", {"customer"}),
        ("GET", "/me/export", {"customer"}),
        ("GET", "/me/interests", {"customer"}),
        ("GET", "/me/personal", {"customer"}),
        ("PATCH", "/me/personal", {"customer"}),
        ("POST", "/me/personal/confirm", {"customer"}),
        ("GET", "/me/profile", {"customer"}),
        ("GET", "/me/rewards", {"customer"}),
        ("GET", "/me/rewards/{epoch}", {"customer"}),
        ("GET", "/me/upkeep", {"customer"}),
        ("GET", "/pages/auditor/rewards-per-epoch", {"auditor", "operator"}),
        ("GET", "/pages/auditor/segment-grid", {"auditor", "operator"}),
        ("GET", "/pages/brands", ANYONE),
        ("GET", "/pages/config", ANYONE),
        ("GET", "/pages/tx/{tx_hash}", ANYONE),
        ("POST", "/profiles", {"brand"}),
        ("GET", "/brands/me/access-limits", {"brand"}),
        ("POST", "/brands/me/access-limits", {"brand"}),
        ("POST", "/brands/me/access-limits/typed-data", {"brand"}),
        ("POST", "/consents/invalidation", {"customer"}),
        ("POST", "/consents/invalidation/typed-data", {"customer"}),
        ("GET", "/ledger/epochs/{epoch}/tree", {"auditor", "operator"}),
        ("GET", "/brands/me/rules", {"brand"}),
        ("POST", "/brands/me/rules", {"brand"}),
        ("GET", "/brands/me/rules/{rule_id}", {"brand"}),
        ("POST", "/brands/me/rules/{rule_id}/pause", {"brand"}),
        ("GET", "/brands/me/coc-map", {"brand"}),
        ("POST", "/crm/tick", {"operator"}),
        ("GET", "/brands/me/offers", {"brand"}),
        ("GET", "/me/inbox", {"customer"}),
        ("GET", "/me/inbox/{delivery_id}", {"customer"}),
        ("POST", "/me/inbox/{delivery_id}/read", {"customer"}),
        ("POST", "/me/inbox/{delivery_id}/redeem", {"customer"}),
        ("GET", "/brands/me/webhook", {"brand"}),
        ("PUT", "/brands/me/webhook", {"brand"}),
        ("POST", "/brands/me/offers", {"brand"}),
        ("GET", "/brands/me/offers/{offer_id}", {"brand"}),
        ("POST", "/brands/me/offers/{offer_id}/end", {"brand"}),
        ("GET", "/brands/me/campaigns", {"brand"}),
        ("POST", "/brands/me/campaigns", {"brand"}),
        ("GET", "/brands/me/campaigns/{campaign_id}", {"brand"}),
        ("GET", "/brands/me/campaigns/{campaign_id}/plan", {"brand"}),
        ("POST", "/brands/me/campaigns/{campaign_id}/commit", {"brand"}),
        ("POST", "/brands/me/campaigns/{campaign_id}/start", {"brand"}),
        ("POST", "/brands/me/campaigns/{campaign_id}/finish", {"brand"}),
        ("GET", "/brands/me/campaigns/{campaign_id}/results", {"brand"}),
        ("POST", "/campaigns/tick", {"operator"}),
        ("GET", "/audit/campaigns", {"auditor", "operator"}),
    ]
}
# Routes whose call changes who is signed in or what exists (logout, erasure, revoking keys): their
# letting-in is tested where they are (test_auth, test_privacy, test_brands), not here with dummy ids.
DESTRUCTIVE = {
    ("POST", "/auth/logout"),
    ("DELETE", "/me/data"),
    ("DELETE", "/auditors/tokens/{token_id}"),
    ("DELETE", "/brands/{brand_id}/keys/{key_id}"),
}


def test_every_route_states_its_roles() -> None:
    stated = {(method, path): roles for method, path, roles in ROUTES}
    assert len(stated) == len(ROUTES)  # no route listed twice
    missing, unexpected = sorted(EXPECTED.keys() - stated.keys()), sorted(stated.keys() - EXPECTED.keys())
    assert not missing and not unexpected, f"routes gone: {missing}; routes not in EXPECTED: {unexpected}"
    differing = {route: (stated[route], EXPECTED[route]) for route in stated if stated[route] != EXPECTED[route]}
    assert not differing, differing


def test_routes_let_their_own_roles_in(client, tokens) -> None:
    """A stated role is not refused (401/403): the route's dependencies match what its docstring says."""
    checked = 0
    for method, path, allowed in ROUTES:
        if allowed == ANYONE or (method, path) in DESTRUCTIVE:
            continue
        for role in sorted(allowed):
            response = client.request(method, sample_url(path), json={}, headers=tokens[role])
            assert response.status_code not in (401, 403), f"{method} {path} as {role}: {response.text}"
            checked += 1
    assert checked >= 50


def test_routes_refuse_missing_credentials_and_other_roles(client, tokens) -> None:
    checked = 0
    for method, path, allowed in ROUTES:
        if allowed == set(ROLES):
            continue
        url = sample_url(path)
        anonymous = client.request(method, url, json={})
        assert anonymous.status_code == 401, f"{method} {path} without credentials: {anonymous.status_code}"
        assert anonymous.json()["message"]
        for role in set(ROLES) - allowed:
            response = client.request(method, url, json={}, headers=tokens[role])
            assert response.status_code == 403, f"{method} {path} as {role}: {response.status_code} {response.text}"
            assert "this route is for" in response.json()["message"]
            checked += 1
    assert checked > 60
