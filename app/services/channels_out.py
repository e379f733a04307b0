"""Where a delivered offer goes out: e-mail to a consented contact address, and each brand's webhook outbox.

`delivered` is what `deliveries.deliver` calls after each batch: `send_email` for a rule whose channel is
e-mail, an `offer.delivered` event per delivery, then one outbox pass for the brand. `enqueue_webhook` is
called by whatever delivers or redeems (in the caller's transaction, so an event exists exactly when its record
does); `run_webhooks` is the outbox worker's pass (`ledger crm webhooks`, and one after each delivery
batch). Event ids are derived from the event itself, so enqueuing the same event twice keeps one, and
the receiver can drop a retry it has seen (`X-Ledger-Event-Id`).
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypedDict
from urllib.parse import urlsplit

from sqlalchemy import Connection, Engine
from sqlmodel import Session, col, select

from app.channels import email, webhook
from app.clock import utcnow
from app.config import Settings
from app.domain import Category
from app.errors import InvalidInput
from app.models.accounts import Brand, Customer
from app.models.crm import Channel, Delivery, Offer, Rule, Webhook, WebhookEvent
from app.models.mirror import MirrorConsent
from app.services.offers import describe

EVENT_KINDS = ("offer.delivered", "offer.redeemed")
_EVENT_IDS = uuid.UUID("5b0f4d3e-9a7c-4f61-8a51-3c2d0e8b7a10")  # namespace of the derived event ids
MAX_BACKOFF_SECONDS = 3_600
OUTBOX_BATCH = 500


# -- e-mail ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EmailOutcome:
    """Sent (with its Message-ID) or not, and why not: no consent to contact, no address, SMTP refused."""

    sent: bool
    message_id: str | None = None
    reason: str | None = None


def smtp_server(settings: Settings) -> email.SmtpServer | None:
    """The configured SMTP server, or None when SMTP_HOST is empty (e-mail off)."""
    if not settings.smtp_host:
        return None
    return email.SmtpServer(
        host=settings.smtp_host,
        port=settings.smtp_port,
        sender=settings.smtp_sender,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        starttls=settings.smtp_starttls,
    )


def contact_consented(session: Session, customer: Customer, brand: Brand, purpose: int, now: int) -> bool:
    """Whether the customer's mirrored consent to the brand for `purpose` covers `contact` at chain time `now`."""
    consent = session.get(MirrorConsent, (customer.address, brand.address, purpose))
    return (
        consent is not None
        and consent.status == "active"
        and bool(int(consent.categories) & Category.CONTACT)
        and (consent.expires_at == 0 or consent.expires_at > now)
    )


def send_email(
    session: Session, settings: Settings, *, delivery: Delivery, offer: Offer, purpose: int, now: int | None = None
) -> EmailOutcome:
    """Mails the delivered offer to the customer's own address, only if their consent to the brand for
    the rule's `purpose` covers `contact` (at chain time `now`, default this machine's) and they gave one.

    Never raises for the channel's sake: a refused or unreachable server is an outcome with its reason.
    """
    server = smtp_server(settings)
    if server is None:
        return EmailOutcome(False, reason="e-mail is not configured (SMTP_HOST)")
    customer = session.get(Customer, delivery.customer_id)
    brand = session.get(Brand, offer.brand_id)
    assert customer is not None and brand is not None
    if not contact_consented(session, customer, brand, purpose, int(time.time()) if now is None else now):
        return EmailOutcome(False, reason="the customer's consent does not cover contact")
    if not customer.email or customer.erased_at is not None:
        return EmailOutcome(False, reason="the customer gave no e-mail address")
    mail = email.OfferEmail(
        to=customer.email,
        subject=f"{brand.name}: {offer.name}"[:200],
        text=f"{describe(offer)}\n\nTerms: {offer.terms}\n\nYou receive this because your consent to {brand.name} "
        "covers being contacted; withdraw it in your wallet at any time.",
        delivery_id=str(delivery.id),
    )
    try:
        return EmailOutcome(True, message_id=email.send(server, mail))
    except email.EmailRefused as exc:
        return EmailOutcome(False, reason=str(exc))


# -- webhooks: configuration -------------------------------------------------------------------------


@dataclass(frozen=True)
class WebhookConfig:
    """A brand's endpoint; `secret` only when just created or rotated (it is shown once)."""

    hook: Webhook
    secret: str | None


def _check_url(settings: Settings, url: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    schemes = ("https",) if settings.environment == "production" else ("https", "http")
    if parts.scheme not in schemes or not parts.hostname:
        raise InvalidInput(
            f"the webhook url must be an absolute {' or '.join(schemes)} address",
            problems=[{"where": "body.url", "problem": f"an absolute {' or '.join(schemes)} url, e.g. https://…"}],
        )
    return url


def set_webhook(session: Session, settings: Settings, brand: Brand, url: str, *, rotate_secret: bool) -> WebhookConfig:
    """Sets the brand's endpoint; a new endpoint gets a fresh signing secret, an existing one keeps its
    secret unless `rotate_secret`."""
    url = _check_url(settings, url)
    hook = session.get(Webhook, brand.id)
    shown = None
    if hook is None:
        shown = secrets.token_hex(32)
        hook = Webhook(brand_id=brand.id, url=url, secret=shown)  # type: ignore[arg-type]
    else:
        hook.url = url
        if rotate_secret:
            shown = hook.secret = secrets.token_hex(32)
    session.add(hook)
    session.commit()
    session.refresh(hook)
    return WebhookConfig(hook, shown)


def get_webhook(session: Session, brand: Brand) -> Webhook | None:
    return session.get(Webhook, brand.id)


# -- webhooks: the outbox ----------------------------------------------------------------------------


def event_id(brand_id: int, kind: str, payload: Mapping[str, Any]) -> str:
    """The event's id, derived from what it says: the same event enqueued twice is one event."""
    return str(uuid.uuid5(_EVENT_IDS, f"{brand_id}|{kind}|{json.dumps(payload, sort_keys=True, default=str)}"))


def enqueue_webhook(session: Session, brand_id: int, kind: str, payload: Mapping[str, Any]) -> WebhookEvent | None:
    """Adds the event to the brand's outbox in the caller's transaction (the caller commits); None when
    the brand has no endpoint. Idempotent: an event already queued is returned as it is."""
    if kind not in EVENT_KINDS:
        raise ValueError(f"unknown webhook event kind {kind!r}; known: {', '.join(EVENT_KINDS)}")
    if session.get(Webhook, brand_id) is None:
        return None
    key = event_id(brand_id, kind, payload)
    found = session.get(WebhookEvent, key)
    if found is not None:
        return found
    event = WebhookEvent(
        event_id=key, brand_id=brand_id, kind=kind, payload=json.dumps(payload, sort_keys=True, default=str)
    )
    session.add(event)
    session.flush()
    return event


def enqueue_webhook_on(conn: Connection, brand_id: int, kind: str, payload: dict[str, Any]) -> None:
    """`enqueue_webhook` inside a Core connection's transaction (ingestion stores rows that way)."""
    with Session(bind=conn) as session:
        enqueue_webhook(session, brand_id, kind, payload)


@dataclass
class OutboxPass:
    """What one pass of the outbox did."""

    delivered: list[str] = field(default_factory=list)
    retrying: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


INLINE_TIMEOUT_SECONDS = 2.0


def run_webhooks(
    engine: Engine, settings: Settings, *, brand_id: int | None = None, inline: bool = False
) -> OutboxPass:
    """One pass: every pending event due now is POSTed (HMAC-signed, retried with backoff within the pass);
    one not taken is due again after an exponential backoff, and failed after WEBHOOK_MAX_ATTEMPTS.

    `inline`: the pass made inside a request (after a delivery batch or a redemption) tries each event once
    with a short timeout, so a brand's endpoint that is down never holds the caller; `ledger crm webhooks`
    retries the rest. No database lock is held while an endpoint is called."""
    now = utcnow()
    with Session(engine) as session:
        query = select(WebhookEvent).where(WebhookEvent.status == "pending", WebhookEvent.next_attempt_at <= now)
        if brand_id is not None:
            query = query.where(WebhookEvent.brand_id == brand_id)
        due = list(session.exec(query.order_by(col(WebhookEvent.created_at)).limit(OUTBOX_BATCH)))
        hooks = {h.brand_id: (h.url, h.secret) for h in session.exec(select(Webhook))}
    done = OutboxPass()
    for event in due:
        target = hooks.get(event.brand_id)
        if target is None:
            _record(engine, event.event_id, None, "failed", "the brand has no webhook endpoint any more")
            done.failed.append(event.event_id)
            continue
        outcome = webhook.deliver(
            target[0],
            target[1].encode(),
            webhook.WebhookEvent(event.event_id, event.kind, json.loads(event.payload)),
            attempts=1 if inline else settings.webhook_attempts_per_pass,
            backoff_seconds=settings.webhook_backoff_seconds,
            timeout=min(settings.webhook_timeout_seconds, INLINE_TIMEOUT_SECONDS)
            if inline
            else settings.webhook_timeout_seconds,
        )
        attempts = event.attempts + outcome.attempts
        if outcome.delivered:
            _record(engine, event.event_id, attempts, "delivered", None)
            done.delivered.append(event.event_id)
        elif attempts >= settings.webhook_max_attempts:
            _record(engine, event.event_id, attempts, "failed", outcome.error)
            done.failed.append(event.event_id)
        else:
            wait = min(settings.webhook_backoff_seconds * 2**attempts, MAX_BACKOFF_SECONDS)
            _record(engine, event.event_id, attempts, "pending", outcome.error, utcnow() + timedelta(seconds=wait))
            done.retrying.append(event.event_id)
    return done


def _record(
    engine: Engine, key: str, attempts: int | None, status: str, error: str | None, due: datetime | None = None
) -> None:
    with Session(engine) as session:
        event = session.get(WebhookEvent, key)
        assert event is not None
        event.status = status
        event.last_error = error
        if attempts is not None:
            event.attempts = attempts
        if due is not None:
            event.next_attempt_at = due
        session.add(event)
        session.commit()


# -- after a delivery batch ----------------------------------------------------------------------


class DeliveredEvent(TypedDict):
    """An `offer.delivered` event's body: a JSON document sent to the brand as it is."""

    delivery_id: int | None
    offer_id: int
    customer: str
    channel: str
    source: str
    access_request_id: str | None
    price: str  # token units, a decimal string
    delivered_at: str  # RFC 3339, UTC


def delivered_payload(delivery: Delivery, customer: Customer) -> DeliveredEvent:
    """What the brand is told of one delivery (the customer by address: the brand's own pseudonym for them)."""
    return {
        "delivery_id": delivery.id,
        "offer_id": delivery.offer_id,
        "customer": customer.address,
        "channel": delivery.channel,
        "source": delivery.source,
        "access_request_id": delivery.access_request_id,
        "price": str(delivery.price),
        "delivered_at": _aware(delivery.delivered_at).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }


def delivered(
    session: Session, settings: Settings, *, offer: Offer, rule: Rule | None, deliveries: list[Delivery]
) -> list[EmailOutcome]:
    """After `deliver` stored a batch: e-mails (the rule's channel is e-mail), one `offer.delivered` event
    per delivery, then a pass of the brand's outbox. Returns the e-mail outcomes (empty for the inbox)."""
    outcomes: list[EmailOutcome] = []
    customers = {
        c.id: c for c in session.exec(select(Customer).where(col(Customer.id).in_([d.customer_id for d in deliveries])))
    }
    for d in deliveries:
        if rule is not None and rule.channel == Channel.EMAIL:
            outcomes.append(send_email(session, settings, delivery=d, offer=offer, purpose=rule.purpose))
        enqueue_webhook(session, offer.brand_id, "offer.delivered", delivered_payload(d, customers[d.customer_id]))
    session.commit()
    if session.get(Webhook, offer.brand_id) is not None:
        run_webhooks(session.get_bind(), settings, brand_id=offer.brand_id, inline=True)  # type: ignore[arg-type]
    return outcomes
