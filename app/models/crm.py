"""The CRM loop's records: offers, rules (whom, what, where, when), deliveries, redemptions, campaigns, webhooks.

Whom a rule reaches is decided at delivery time against the customer's active consent (docs/crm.md);
every delivery that read data points at the access batch recorded on chain for it (`access_request_id`).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.clock import utcnow
from app.models.types import UintString

_AWARE = sa.DateTime(timezone=True)


class OfferKind(StrEnum):
    """What an offer gives. The first two pay through the epochs; a coupon is redeemed at the till."""

    CASHBACK_BPS = "cashback_bps"  # extra cashback in basis points of each qualifying purchase
    FIXED_BONUS = "fixed_bonus"  # a fixed CASH bonus, once per customer, on the first qualifying purchase
    COUPON = "coupon"  # a discount at the till against a code; redeemed when a purchase carries it
    GIFT = "gift"  # a gift handed over by the brand (recorded as a redemption)
    MESSAGE = "message"  # a personal message (non-monetary)
    PAGE = "page"  # a link to a page of the brand (non-monetary)


MONETARY_KINDS = frozenset({OfferKind.CASHBACK_BPS, OfferKind.FIXED_BONUS})
"""Kinds paid in CASH through the epochs, debited from the brand's budget and re-derived by the audit."""


class Offer(SQLModel, table=True):
    """What a brand gives: kind, value, budget cap, validity and the terms shown to the customer."""

    __tablename__ = "offers"
    __table_args__ = (
        sa.Index("ix_offers_brand", "brand_id"),
        sa.UniqueConstraint("brand_id", "coupon_code", name="uq_offers_brand_coupon"),
    )

    id: int | None = Field(default=None, primary_key=True)
    brand_id: int = Field(foreign_key="brands.id")
    name: str = Field(max_length=200)
    kind: str = Field(max_length=20)  # OfferKind
    terms: str = Field(sa_type=sa.Text, description="Shown to the customer before and after delivery")
    bps: int | None = Field(default=None, description="Extra cashback, basis points (cashback_bps)")
    bonus_units: int | None = Field(default=None, sa_type=UintString, description="Fixed bonus, CASH units")
    coupon_code: str | None = Field(default=None, max_length=40, description="Code a purchase carries (coupon)")
    discount: str | None = Field(default=None, max_length=200, description="What the coupon or gift gives")
    body: str | None = Field(default=None, sa_type=sa.Text, description="Message text or page link")
    budget_units: int = Field(default=0, sa_type=UintString, description="Cap on what it pays, CASH units")
    per_customer: int = Field(default=1, description="Redemptions allowed per customer (coupon, gift)")
    valid_from: datetime = Field(sa_type=_AWARE)
    valid_until: datetime = Field(sa_type=_AWARE)
    ended_at: datetime | None = Field(default=None, sa_type=_AWARE, description="Ended early by the brand")
    created_at: datetime = Field(default_factory=utcnow, sa_type=_AWARE)


class Channel(StrEnum):
    """Where a delivery reaches the customer (a brand's webhook is told of each one, separately)."""

    INBOX = "inbox"  # the wallet's inbox
    EMAIL = "email"  # the contact address, only where the `contact` category is consented


class TriggerKind(StrEnum):
    """When a rule fires."""

    BEHAVIOUR = "behaviour"  # an epoch's behaviour change (tier up/down, threshold crossed, gone quiet…)
    CART_ABANDONED = "cart_abandoned"  # an ingested cart-abandon event
    DATE_WINDOW = "date_window"  # once per customer inside [window_start, window_end)


class Rule(SQLModel, table=True):
    """A business rule: whom (audience), what (offer), where (channel), when (trigger)."""

    __tablename__ = "rules"
    __table_args__ = (sa.Index("ix_rules_brand", "brand_id"),)

    id: int | None = Field(default=None, primary_key=True)
    brand_id: int = Field(foreign_key="brands.id")
    offer_id: int = Field(foreign_key="offers.id")
    name: str = Field(max_length=200)
    audience: str = Field(sa_type=sa.Text, description="Canonical JSON: segment, tier, rfm cell, category, style…")
    purpose: int = Field(description="Purpose the targeting uses data for (app.domain.Purpose)")
    categories: int = Field(sa_type=sa.BigInteger, description="Every category the rule reads (bitmask)")
    channel: str = Field(max_length=16)  # Channel
    trigger: str = Field(max_length=20)  # TriggerKind
    trigger_event: str | None = Field(default=None, max_length=40, description="Behaviour event name")
    window_start: datetime | None = Field(default=None, sa_type=_AWARE)
    window_end: datetime | None = Field(default=None, sa_type=_AWARE)
    active: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=_AWARE)


class Delivery(SQLModel, table=True):
    """One offer delivered to one customer through one channel, with why (consent and data used)."""

    __tablename__ = "deliveries"
    __table_args__ = (
        sa.UniqueConstraint("offer_id", "customer_id", "source", name="uq_deliveries_offer_customer_source"),
        sa.Index("ix_deliveries_customer", "customer_id", "delivered_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    offer_id: int = Field(foreign_key="offers.id")
    customer_id: int = Field(foreign_key="customers.id")
    rule_id: int | None = Field(default=None, foreign_key="rules.id")
    campaign_id: int | None = Field(default=None, foreign_key="campaigns.id")
    source: str = Field(max_length=60, description="What fired it: rule:<id>, campaign:<id> (idempotence key)")
    channel: str = Field(max_length=16)
    access_request_id: str | None = Field(
        default=None,
        foreign_key="access_requests.id",
        max_length=36,
        description="The on-chain access batch, if data was read",
    )
    consent_receipt_id: str | None = Field(default=None, max_length=64, description="The consent that covered it")
    why: str = Field(sa_type=sa.Text, description="Canonical JSON: trigger, data categories and values used")
    price: int = Field(default=0, sa_type=UintString, description="Paid to the customer for the access")
    delivered_at: datetime = Field(default_factory=utcnow, sa_type=_AWARE)
    read_at: datetime | None = Field(default=None, sa_type=_AWARE)


class Redemption(SQLModel, table=True):
    """A coupon or gift used: by a purchase carrying the code, or handed over by the brand."""

    __tablename__ = "redemptions"
    __table_args__ = (sa.UniqueConstraint("offer_id", "purchase_id", name="uq_redemptions_offer_purchase"),)

    id: int | None = Field(default=None, primary_key=True)
    offer_id: int = Field(foreign_key="offers.id")
    customer_id: int = Field(foreign_key="customers.id")
    delivery_id: int | None = Field(default=None, foreign_key="deliveries.id")
    purchase_id: int | None = Field(default=None, foreign_key="purchases.id")
    redeemed_at: datetime = Field(default_factory=utcnow, sa_type=_AWARE)


class CampaignStatus(StrEnum):
    """Life of a campaign: its commitment is on chain before it starts, its salt revealed after it ends."""

    DRAFT = "draft"
    COMMITTED = "committed"  # commitment mined; members assigned at the start
    RUNNING = "running"  # started: members and arms fixed, the test arm's offers delivered
    REVEALED = "revealed"  # salt and results hash revealed on chain


class CampaignMetric(StrEnum):
    CONVERSION = "conversion"  # a purchase at the brand within conversion_days of the start
    SPEND = "spend"  # spend per customer in the campaign window


class Campaign(SQLModel, table=True):
    """An offer sent by a rule's audience, measured against a holdout drawn by a keyed hash of a committed salt."""

    __tablename__ = "campaigns"
    __table_args__ = (sa.Index("ix_campaigns_brand", "brand_id"),)

    id: int | None = Field(default=None, primary_key=True)
    brand_id: int = Field(foreign_key="brands.id")
    offer_id: int = Field(foreign_key="offers.id")
    rule_id: int = Field(foreign_key="rules.id", description="Whom: the rule's audience (its trigger is not used)")
    name: str = Field(max_length=200)
    holdout_bps: int = Field(description="Share held out, in basis points of 10,000, in (0, 5000]")
    metric: str = Field(max_length=16)  # CampaignMetric
    conversion_days: int = Field(default=14)
    guardrails: str = Field(default="[]", sa_type=sa.Text, description="JSON list of guardrail metric names")
    starts_at: datetime = Field(sa_type=_AWARE)
    ends_at: datetime = Field(sa_type=_AWARE)
    campaign_key: str = Field(unique=True, max_length=66, description="bytes32 id on CampaignRegistry")
    salt: str = Field(max_length=66, description="Secret until the reveal; keys the assignment")
    params_hash: str = Field(max_length=66)
    commitment: str = Field(max_length=66, description="keccak256(abi.encode(params_hash, salt))")
    status: str = Field(default=CampaignStatus.DRAFT, max_length=16)
    commit_tx: str | None = Field(default=None, max_length=66)
    reveal_tx: str | None = Field(default=None, max_length=66)
    results_hash: str | None = Field(default=None, max_length=66)
    results: str | None = Field(default=None, sa_type=sa.Text, description="Canonical JSON of the revealed results")
    created_at: datetime = Field(default_factory=utcnow, sa_type=_AWARE)


class CampaignMember(SQLModel, table=True):
    """A customer of a campaign's audience at its start, and their arm (re-derivable from the revealed salt)."""

    __tablename__ = "campaign_members"

    campaign_id: int = Field(primary_key=True, foreign_key="campaigns.id")
    customer_id: int = Field(primary_key=True, foreign_key="customers.id")
    bucket: int = Field(description="keccak256(salt ‖ address) mod 10,000")
    holdout: bool


class Webhook(SQLModel, table=True):
    """A brand's endpoint told of each delivery and redemption (HMAC-signed with `secret`)."""

    __tablename__ = "webhooks"

    brand_id: int = Field(primary_key=True, foreign_key="brands.id")
    url: str = Field(max_length=2000)
    secret: str = Field(max_length=128)
    created_at: datetime = Field(default_factory=utcnow, sa_type=_AWARE)


class WebhookEvent(SQLModel, table=True):
    """An event waiting for, or given to, a brand's webhook; `event_id` makes the receiver idempotent."""

    __tablename__ = "webhook_events"
    __table_args__ = (sa.Index("ix_webhook_events_pending", "status", "next_attempt_at"),)

    event_id: str = Field(primary_key=True, max_length=36)  # uuid4
    brand_id: int = Field(foreign_key="brands.id")
    kind: str = Field(max_length=40)  # offer.delivered | offer.redeemed
    payload: str = Field(sa_type=sa.Text)
    status: str = Field(default="pending", max_length=16)  # pending | delivered | failed
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=_AWARE)
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=_AWARE)
