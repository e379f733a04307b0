"""Offers leaving through their channels: e-mail to a real aiosmtpd on loopback only where `contact` is
consented, and the brands' webhook outbox against a real local HTTP receiver (signed, retried, idempotent)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from app import db
from app.config import Settings
from app.domain import Category, Purpose
from app.models.accounts import Brand, Customer
from app.models.crm import Delivery, Offer, Rule, Webhook, WebhookEvent
from app.services import channels_out
from tests import factories

BRAND = "0x" + "b1" * 20
KIM = "0x" + "c1" * 20


@pytest.fixture()
def inbox() -> Iterator[factories.SmtpInbox]:
    server = factories.SmtpInbox()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture()
def receiver() -> Iterator[factories.WebhookReceiver]:
    server = factories.WebhookReceiver()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture()
def store(tmp_path, inbox):
    """(settings with SMTP on the loopback inbox, engine, delivery, offer) of one brand and one customer."""
    settings = Settings(
        environment="test", data_dir=tmp_path, smtp_host="127.0.0.1", smtp_port=inbox.port, webhook_backoff_seconds=0.05
    )
    db.migrate(settings)
    engine = db.make_engine(settings.sqlalchemy_url)
    with Session(engine) as session:
        brand = Brand(name="Acme", address=BRAND)
        kim = Customer(address=KIM, email="kim@example.kr")
        session.add_all([brand, kim])
        session.commit()
        offer = Offer(
            brand_id=brand.id, name="Spring coupon", kind="coupon", terms="Once per customer.", coupon_code="SPRING-10",
            discount="10% off", valid_from=datetime(2020, 1, 1, tzinfo=UTC),
            valid_until=datetime.now(UTC) + timedelta(days=30),
        )  # fmt: skip
        session.add(offer)
        session.commit()
        delivery = Delivery(offer_id=offer.id, customer_id=kim.id, source="rule:1", channel="email", why="{}")
        session.add(delivery)
        session.commit()
        session.refresh(delivery)
        session.refresh(offer)
    yield settings, engine, delivery, offer
    engine.dispose()


def _send(settings, engine, delivery, offer) -> channels_out.EmailOutcome:
    with Session(engine) as session:
        return channels_out.send_email(
            session, settings, delivery=delivery, offer=offer, purpose=int(Purpose.MARKETING)
        )


def test_email_goes_to_the_contact_address_only_when_contact_is_consented(store, inbox) -> None:
    settings, engine, delivery, offer = store
    # A consent that does not cover `contact`: nothing is sent.
    factories.mirror_consent(engine, KIM, BRAND, int(Purpose.MARKETING), int(Category.SEGMENT))
    outcome = _send(settings, engine, delivery, offer)
    assert not outcome.sent and "does not cover contact" in (outcome.reason or "") and inbox.messages == []
    # Contact consented for another purpose only: still nothing.
    factories.mirror_consent(engine, KIM, BRAND, int(Purpose.ANALYTICS), int(Category.CONTACT))
    assert not _send(settings, engine, delivery, offer).sent and inbox.messages == []
    # Covered: one message to kim's own address, naming the delivery, with the code and the terms.
    factories.mirror_consent(engine, KIM, BRAND, int(Purpose.MARKETING), int(Category.CONTACT | Category.SEGMENT))
    outcome = _send(settings, engine, delivery, offer)
    assert outcome.sent and outcome.message_id
    ((recipients, message),) = inbox.messages
    assert recipients == ["kim@example.kr"] and message["X-Ledger-Delivery"] == str(delivery.id)
    text = message.get_payload(decode=True).decode()
    assert "SPRING-10" in text and "Once per customer." in text
    # Revoked, or expired by the chain's clock: nothing more is sent.
    factories.mirror_consent(engine, KIM, BRAND, int(Purpose.MARKETING), int(Category.CONTACT), status="revoked")
    assert not _send(settings, engine, delivery, offer).sent
    factories.mirror_consent(engine, KIM, BRAND, int(Purpose.MARKETING), int(Category.CONTACT), expires_at=100)
    with Session(engine) as session:
        late = channels_out.send_email(session, settings, delivery=delivery, offer=offer, purpose=1, now=101)
    assert not late.sent and len(inbox.messages) == 1


def test_email_without_an_address_or_refused_by_the_server_says_why(store, inbox) -> None:
    settings, engine, delivery, offer = store
    factories.mirror_consent(engine, KIM, BRAND, int(Purpose.MARKETING), int(Category.CONTACT))
    with Session(engine) as session:
        kim = session.exec(select(Customer)).one()
        kim.email = "nobody@example.kr"
        session.add(kim)
        session.commit()
    refused = _send(settings, engine, delivery, offer)
    assert not refused.sent and "refused" in (refused.reason or "")
    with Session(engine) as session:
        kim = session.exec(select(Customer)).one()
        kim.email = None
        session.add(kim)
        session.commit()
    assert _send(settings, engine, delivery, offer).reason == "the customer gave no e-mail address"
    assert inbox.messages == []


def _hook(engine, url: str) -> str:
    with Session(engine) as session:
        brand = session.exec(select(Brand)).one()
        config = channels_out.set_webhook(session, Settings(environment="test"), brand, url, rotate_secret=False)
        assert config.secret
        return config.secret


def test_outbox_delivers_signed_events_once_and_retries_with_backoff(store, receiver) -> None:
    settings, engine, delivery, offer = store
    receiver.secret = _hook(engine, receiver.url).encode()
    payload = {"offer_id": offer.id, "delivery_id": delivery.id, "customer": KIM}
    with Session(engine) as session:
        first = channels_out.enqueue_webhook(session, offer.brand_id, "offer.delivered", payload)
        again = channels_out.enqueue_webhook(session, offer.brand_id, "offer.delivered", dict(payload))
        session.commit()
        assert first is not None and again is not None and first.event_id == again.event_id
        assert len(session.exec(select(WebhookEvent)).all()) == 1
    receiver.statuses = [503]  # the endpoint stumbles once: retried within the pass
    done = channels_out.run_webhooks(engine, settings)
    assert len(done.delivered) == 1 and [ok for _, _, ok in receiver.requests] == [True, True]
    ((key, body),) = receiver.processed.items()
    assert key == first.event_id and body["type"] == "offer.delivered" and body["data"] == payload
    # Delivered events are not sent again.
    assert channels_out.run_webhooks(engine, settings).delivered == [] and len(receiver.requests) == 2

    # An endpoint that keeps failing: retried with growing waits across passes, then given up.
    with Session(engine) as session:
        channels_out.enqueue_webhook(session, offer.brand_id, "offer.redeemed", {"redemption_id": 1})
        session.commit()
    receiver.statuses = [500] * 100
    tight = settings.model_copy(update={"webhook_attempts_per_pass": 2, "webhook_max_attempts": 4})
    assert len(channels_out.run_webhooks(engine, tight).retrying) == 1
    with Session(engine) as session:
        waiting = session.exec(select(WebhookEvent).where(WebhookEvent.kind == "offer.redeemed")).one()
        assert waiting.attempts == 2 and waiting.status == "pending" and "500" in (waiting.last_error or "")
        due = waiting.next_attempt_at.replace(tzinfo=UTC)
        assert due > datetime.now(UTC)  # not due again at once: a pass now sends nothing
    assert channels_out.run_webhooks(engine, tight).retrying == [] and len(receiver.requests) == 4
    with Session(engine) as session:
        waiting = session.exec(select(WebhookEvent).where(WebhookEvent.kind == "offer.redeemed")).one()
        waiting.next_attempt_at = datetime.now(UTC) - timedelta(seconds=1)
        session.add(waiting)
        session.commit()
    assert len(channels_out.run_webhooks(engine, tight).failed) == 1
    with Session(engine) as session:
        assert session.exec(select(WebhookEvent).where(WebhookEvent.kind == "offer.redeemed")).one().status == "failed"


def test_no_endpoint_no_event_and_a_bad_url_is_refused(store) -> None:
    settings, engine, delivery, offer = store
    with Session(engine) as session:
        assert channels_out.enqueue_webhook(session, offer.brand_id, "offer.delivered", {"x": 1}) is None
        with pytest.raises(ValueError, match="unknown webhook event kind"):
            channels_out.enqueue_webhook(session, offer.brand_id, "offer.sold", {})
        brand = session.exec(select(Brand)).one()
        for bad in ("ftp://brand.example/h", "not a url", "https://"):
            with pytest.raises(Exception, match="webhook url"):
                channels_out.set_webhook(session, settings, brand, bad, rotate_secret=False)
        production = Settings(environment="test").model_copy(update={"environment": "production"})
        with pytest.raises(Exception, match="https"):
            channels_out.set_webhook(session, production, brand, "http://brand.example/h", rotate_secret=False)
        assert session.exec(select(Webhook)).all() == []


def test_after_a_delivery_batch_emails_go_out_and_the_brand_is_told_of_each(store, inbox, receiver) -> None:
    settings, engine, delivery, offer = store
    receiver.secret = _hook(engine, receiver.url).encode()
    factories.mirror_consent(engine, KIM, BRAND, int(Purpose.MARKETING), int(Category.CONTACT))
    with Session(engine) as session:
        lee = Customer(address="0x" + "c2" * 20, email="lee@example.kr")  # consented to nothing
        session.add(lee)
        session.commit()
        other = Delivery(offer_id=offer.id, customer_id=lee.id, source="rule:1", channel="email", why="{}")
        session.add(other)
        session.commit()
        session.refresh(other)
        other_id = other.id
        rule = Rule(brand_id=offer.brand_id, offer_id=offer.id, name="spring", audience="{}", purpose=1,
                    categories=int(Category.CONTACT), channel="email", trigger="date_window")  # fmt: skip
        outcomes = channels_out.delivered(
            session, settings, offer=session.get(Offer, offer.id), rule=rule,
            deliveries=[session.get(Delivery, delivery.id), other],
        )  # fmt: skip
    assert [o.sent for o in outcomes] == [True, False]
    assert [r for r, _ in inbox.messages] == [["kim@example.kr"]]
    told = sorted((body["data"]["delivery_id"], body["data"]["customer"]) for body in receiver.processed.values())
    assert told == [(delivery.id, KIM), (other_id, "0x" + "c2" * 20)]
    assert all(ok for _, _, ok in receiver.requests)
    with Session(engine) as session:
        assert {e.status for e in session.exec(select(WebhookEvent))} == {"delivered"}


def test_ledger_crm_webhooks_runs_one_pass(store, receiver, monkeypatch) -> None:
    from typer.testing import CliRunner

    from app.cli import cli
    from app.config import get_settings

    settings, engine, delivery, offer = store
    receiver.secret = _hook(engine, receiver.url).encode()
    with Session(engine) as session:
        channels_out.enqueue_webhook(session, offer.brand_id, "offer.delivered", {"delivery_id": delivery.id})
        session.commit()
    monkeypatch.setenv("ENVIRONMENT", "test")
    monkeypatch.setenv("DATA_DIR", str(settings.data_dir))
    get_settings.cache_clear()
    try:
        done = CliRunner().invoke(cli, ["crm", "webhooks"])
        assert done.exit_code == 0, done.output
        assert "1 delivered, 0 to retry, 0 failed" in done.output
        assert len(receiver.processed) == 1
        again = CliRunner().invoke(cli, ["crm", "webhooks"])
        assert "0 delivered" in again.output and len(receiver.requests) == 1
    finally:
        get_settings.cache_clear()


def test_the_inline_pass_tries_each_event_once_and_leaves_the_rest_to_the_worker(store, receiver) -> None:
    settings, engine, delivery, offer = store
    receiver.secret = _hook(engine, receiver.url).encode()
    with Session(engine) as session:
        channels_out.enqueue_webhook(session, offer.brand_id, "offer.delivered", {"delivery_id": delivery.id})
        session.commit()
    receiver.statuses = [503, 503, 503]
    inline = channels_out.run_webhooks(engine, settings, inline=True)
    assert len(inline.retrying) == 1 and len(receiver.requests) == 1  # one try: the caller is not held
    with Session(engine) as session:
        event = session.exec(select(WebhookEvent)).one()
        event.next_attempt_at = datetime.now(UTC)
        session.add(event)
        session.commit()
    receiver.statuses = [503]
    assert len(channels_out.run_webhooks(engine, settings).delivered) == 1  # the worker's pass retries
    assert len(receiver.requests) == 3
