"""Demo data for the local stack: brands with budgets, customers with purchases, interests and signed
consents, brand profile requests, one settled epoch and one finished campaign (committed, run, evaluated,
revealed) — all made through the real API and chain.

Keys are derived from fixed seeds, so a demo is the same on every machine; they are development keys
for the local stack only.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import timedelta

from fastapi.testclient import TestClient
from rich.console import Console

from app import clock
from app.chain.addresses import keccak256
from app.chain.eip712 import sign_typed_data
from app.chain.keys import LocalAccount, account_from_key, sign_text
from app.config import Settings

BRANDS = [("Maison Lumiere", "fashion"), ("Hanok Living", "home"), ("Seoul Sports", "sports")]
KIND = dict(BRANDS)
CATEGORIES = {
    "fashion": ["dresses", "shoes", "bags", "outerwear"],
    "home": ["kitchen", "lighting", "bedding", "decor"],
    "sports": ["running", "yoga", "outdoor", "cycling"],
}
STYLES = ["minimal", "vintage", "street", "classic", "bohemian", "sporty"]
EVENT_KINDS = ["view", "view", "view", "touch", "compare", "wishlist", "cart_add", "cart_abandon"]
UNITS = 10**18


def demo_key(label: str) -> LocalAccount:
    """A fixed development key for a demo actor."""
    return account_from_key(keccak256(f"ledger-demo:{label}"))


@dataclass
class DemoCredentials:
    brand_keys: dict[str, str] = field(default_factory=dict)
    auditor_token: str = ""
    customer_keys: list[str] = field(default_factory=list)
    seeded: bool = False


def seed(settings: Settings, *, customers: int = 300, console: Console | None = None) -> DemoCredentials:
    """Seeds the demo once (a second call finds the brands and only hands out fresh credentials)."""
    from app.chain.gateway import ChainGateway
    from app.chain.indexer import catch_up
    from app.main import create_app
    from app.services.epochs import EpochRunner

    say = (console or Console(soft_wrap=True)).print
    rng = random.Random(20251122)
    credentials = DemoCredentials()
    admin = {"Authorization": f"Bearer {settings.admin_key.get_secret_value()}"}
    # The operator seeding through the app in process is no client to throttle.
    api_app = create_app(settings.model_copy(update={"rate_limit_enabled": False}))
    with TestClient(api_app) as api:
        existing = {b["name"]: b for b in api.get("/brands", headers=admin).json()}
        brands = []
        for name, _ in BRANDS:
            account = demo_key(f"brand:{name}")
            brand = existing.get(name) or _ok(
                api.post("/brands", json={"name": name, "address": account.address}, headers=admin)
            )
            key = _ok(api.post(f"/brands/{brand['id']}/keys", json={"label": "demo"}, headers=admin))["key"]
            credentials.brand_keys[name] = key
            brands.append((brand, account))
        credentials.auditor_token = _ok(api.post("/auditors/tokens", json={"label": "demo"}, headers=admin))["token"]
        shoppers = [demo_key(f"customer:{i}") for i in range(customers)]
        credentials.customer_keys = ["0x" + bytes(a.key).hex() for a in shoppers[:3]]
        if existing:
            credentials.seeded = False
            return credentials

        gateway = ChainGateway(settings)
        say(f"demo: funding {len(brands)} brand budgets on chain")
        _fund(gateway, [account.address for _, account in brands], 50_000_000 * UNITS)
        for brand, account in brands:  # each brand lets the recorder charge its whole budget
            _allow(
                api, {"Authorization": f"Bearer {credentials.brand_keys[brand['name']]}"}, account, 50_000_000 * UNITS
            )

        now = clock.utcnow().replace(microsecond=0)
        say(f"demo: {customers} customers' purchases and interest events")
        purchases, events = [], []
        for i, shopper in enumerate(shoppers):
            loyal = rng.random()
            for j in range(1 + int(loyal * 9)):
                brand, _ = rng.choice(brands)
                kind = KIND[brand["name"]]
                at = now - timedelta(days=rng.randint(1, 300) * (1.2 - loyal), hours=rng.randint(0, 23))
                amount = rng.choice([18_000, 39_000, 79_000, 129_000, 259_000, 640_000])
                purchases.append(
                    {
                        "customer": shopper.address,
                        "brand": brand["id"],
                        "external_id": f"demo-{i}-{j}",
                        "purchased_at": at.isoformat(),
                        "amount": amount,
                        "items": [
                            {
                                "item_id": f"sku-{rng.randint(1, 400)}",
                                "category": rng.choice(CATEGORIES[kind]),
                                "style": rng.choice(STYLES),
                                "quantity": 1,
                                "unit_price": amount,
                            }
                        ],
                    }
                )
            for j in range(rng.randint(2, 12)):
                brand, _ = rng.choice(brands)
                kind = KIND[brand["name"]]
                events.append(
                    {
                        "customer": shopper.address,
                        "brand": brand["id"],
                        "external_id": f"demo-e-{i}-{j}",
                        "kind": rng.choice(EVENT_KINDS),
                        "item_id": f"sku-{rng.randint(1, 400)}",
                        "category": rng.choice(CATEGORIES[kind]),
                        "style": rng.choice(STYLES),
                        "occurred_at": (now - timedelta(days=rng.randint(0, 60), hours=rng.randint(0, 23))).isoformat(),
                    }
                )
        for path, rows in (("/ingest/purchases/bulk", purchases), ("/ingest/events/bulk", events)):
            body = "\n".join(json.dumps(r) for r in rows).encode()
            _ok(api.post(path, content=body, headers={**admin, "Content-Type": "application/x-ndjson"}))

        consenting = shoppers[: customers // 2]
        say(f"demo: {len(consenting)} customers sign consents in their wallets (relayed on chain)")
        for shopper in consenting:
            headers = _sign_in(api, shopper)
            for brand, _ in rng.sample(brands, rng.randint(1, 2)):
                categories = rng.sample(["interests", "styles", "segment", "purchases", "cart"], rng.randint(2, 4))
                typed = _ok(
                    api.post(
                        "/consents/typed-data",
                        headers=headers,
                        json={
                            "action": "grant",
                            "brand": brand["id"],
                            "purpose": "marketing",
                            "categories": categories,
                            "price": rng.choice([1, 2, 3, 5]) * UNITS // 2,
                            "no_end": True,
                        },
                    )
                )
                signature = "0x" + sign_typed_data(shopper.key, typed["typed_data"]).hex()
                _ok(
                    api.post(
                        "/consents", headers=headers, json={"request_id": typed["request_id"], "signature": signature}
                    )
                )

        say("demo: brands request profiles of consenting customers (accesses recorded on chain)")
        for name in credentials.brand_keys:
            headers = {"Authorization": f"Bearer {credentials.brand_keys[name]}"}
            response = api.post(
                "/profiles", headers=headers, json={"purpose": "marketing", "categories": ["interests"], "limit": 40}
            )
            if response.status_code != 200:
                say(f"  {name}: {response.json().get('message')}")

        say("demo: settling epoch 1")
        catch_up(settings, engine=api_app.state.engine, gateway=gateway)
        outcome = EpochRunner(settings, api_app.state.engine, gateway).run(now - timedelta(minutes=1))
        say(
            f"demo: epoch {outcome.epoch.number} published, {outcome.epoch.accounts} accounts, "
            f"tx {outcome.epoch.tx_hash}"
        )
        name = BRANDS[0][0]
        _finished_campaign(
            api, settings, gateway, {"Authorization": f"Bearer {credentials.brand_keys[name]}"}, rng, say
        )
        credentials.seeded = True
    return credentials


CAMPAIGN_LEAD = 6  # seconds from the plan to the start, and the campaign's length: the demo waits both out
CONVERSION = {False: 0.45, True: 0.15}  # the seeded purchase rates of the test arm and the holdout


def _finished_campaign(api: TestClient, settings: Settings, gateway, headers: dict[str, str], rng, say) -> None:  # type: ignore[no-untyped-def]
    """A campaign of the first brand run for real: planned, committed on chain, started (members and arms fixed,
    the test arm's offers delivered), purchases during it (more in the test arm), evaluated and revealed."""
    import time

    from sqlmodel import Session, select

    from app.models.accounts import Customer
    from app.models.crm import CampaignMember
    from app.services.campaigns import chain_clock

    brand = _ok(api.get("/brands/me", headers=headers))
    now = clock.utcnow()
    offer = _ok(
        api.post(
            "/brands/me/offers",
            headers=headers,
            json={
                "name": "Spring comeback",
                "kind": "message",
                "terms": "A note from Maison Lumiere: the spring collection is in.",
                "body": "Come and see the spring collection.",
                "valid_from": (now - timedelta(days=1)).isoformat(),
                "valid_until": (now + timedelta(days=90)).isoformat(),
            },
        )
    )
    offer_id = offer["id"]
    later = now + timedelta(days=300)  # its own trigger never fires in the demo: the campaign uses its audience
    rule = _ok(
        api.post(
            "/brands/me/rules",
            headers=headers,
            json={
                "name": "Every customer of Maison Lumiere",
                "offer_id": offer_id,
                "audience": {"everyone": True},
                "trigger": {
                    "kind": "date_window",
                    "window_start": later.isoformat(),
                    "window_end": (later + timedelta(days=1)).isoformat(),
                },
            },
        )
    )
    starts = chain_clock(gateway) + CAMPAIGN_LEAD
    made = _ok(
        api.post(
            "/brands/me/campaigns",
            headers=headers,
            json={
                "name": "Spring comeback",
                "offer_id": offer_id,
                "rule_id": rule["id"],
                "holdout_share": 0.3,
                "metric": "conversion",
                "conversion_days": 1,
                "guardrails": ["spend"],
                "starts_at": clock.from_unix(starts).isoformat(),
                "ends_at": clock.from_unix(starts + CAMPAIGN_LEAD).isoformat(),
            },
        )
    )
    campaign, plan = made["campaign"], made["plan"]
    say(
        f"demo: campaign '{campaign['name']}' planned: {plan['audience']} customers, minimum detectable uplift "
        f"{(plan['mde_abs'] or 0) * 100:.1f} points; committing its holdout on chain"
    )
    path = f"/brands/me/campaigns/{campaign['id']}"
    _ok(api.post(f"{path}/commit", headers=headers))
    while chain_clock(gateway) < starts:
        time.sleep(0.25)
    started = _ok(api.post(f"{path}/start", headers=headers))
    members = started["campaign"]["members"]
    say(f"demo: campaign started: {members['test']} in the test arm got the offer, {members['holdout']} held out")
    # Who is in which arm is read back from the store (the API never lists a campaign's members).
    with Session(api.app.state.engine) as session:  # type: ignore[attr-defined]
        rows = session.exec(
            select(Customer.address, CampaignMember.holdout)
            .join(CampaignMember, CampaignMember.customer_id == Customer.id)  # type: ignore[arg-type]
            .where(CampaignMember.campaign_id == campaign["id"])
        ).all()
    time.sleep(1.5)  # the purchases below are dated inside the campaign, and never in the future
    at = clock.from_unix(starts + 1).isoformat()
    bought = [
        {
            "customer": address,
            "brand": brand["id"],
            "external_id": f"demo-campaign-{i}",
            "purchased_at": at,
            "amount": rng.choice([39_000, 79_000, 129_000]),
        }  # fmt: skip
        for i, (address, holdout) in enumerate(rows)
        if rng.random() < CONVERSION[bool(holdout)]
    ]
    admin = {"Authorization": f"Bearer {settings.admin_key.get_secret_value()}"}
    body = "\n".join(json.dumps(r) for r in bought).encode()
    _ok(api.post("/ingest/purchases/bulk", content=body, headers={**admin, "Content-Type": "application/x-ndjson"}))
    while chain_clock(gateway) < starts + CAMPAIGN_LEAD:
        time.sleep(0.25)
    finished = _ok(api.post(f"{path}/finish", headers=headers))
    c = finished["results"]["conversion"]
    say(
        f"demo: campaign evaluated and revealed on chain: hit ratio {c['test_rate'] * 100:.1f} % against "
        f"{c['holdout_rate'] * 100:.1f} %, uplift {c['uplift_abs'] * 100:.1f} points "
        f"(95% CI {c['uplift_abs_ci']['low'] * 100:.1f} to {c['uplift_abs_ci']['high'] * 100:.1f}), "
        f"p = {c['p_value']:.2g}"
    )


def _fund(gateway, brands: list[str], amount: int) -> None:  # type: ignore[no-untyped-def]
    """The operator funds each brand's budget (as when a brand pays the programme): minted into the vault."""
    distributor = gateway.distributor
    for brand in brands:
        distributor.fund(brand, amount, keccak256(f"demo payment {brand}"))


def _allow(api: TestClient, headers: dict[str, str], account: LocalAccount, allowance: int) -> None:
    """The brand signs access limits with its key (EIP-712 AccessLimits), relayed through the API."""
    from app.chain.eip712 import sign_typed_data

    body = {"allowance": str(allowance), "max_price": str(2**96 - 1)}
    typed = _ok(api.post("/brands/me/access-limits/typed-data", json=body, headers=headers))
    signature = "0x" + sign_typed_data(account.key, typed["typed_data"]).hex()
    _ok(
        api.post(
            "/brands/me/access-limits",
            json={"request_id": typed["request_id"], "signature": signature},
            headers=headers,
        )
    )


def _sign_in(api: TestClient, account: LocalAccount) -> dict[str, str]:
    message = _ok(api.post("/auth/siwe/nonce", json={"address": account.address}))["message"]
    signature = "0x" + sign_text(account, message).hex()
    token = _ok(api.post("/auth/siwe/verify", json={"message": message, "signature": signature}))["token"]
    return {"Authorization": f"Bearer {token}"}


def _ok(response):  # type: ignore[no-untyped-def]
    if response.status_code >= 400:
        raise RuntimeError(
            f"demo seeding: {response.request.method} {response.request.url.path} -> "
            f"{response.status_code} {response.text[:300]}"
        )
    return response.json()
