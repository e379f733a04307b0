"""The e-mail channel against a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

import email
import socket
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller

from app.channels.email import EmailRefused, OfferEmail, SmtpServer, send


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Inbox:
    """An SMTP handler that keeps what it receives and refuses one address."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], email.message.Message]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802, ANN001
        if address.startswith("nobody@"):
            return "550 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802, ANN001
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), email.message_from_bytes(envelope.content)))
        return "250 Message accepted"


@pytest.fixture()
def smtp() -> Iterator[tuple[SmtpServer, Inbox]]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield SmtpServer(host="127.0.0.1", port=controller.port, sender="offers@brand.example"), inbox
    finally:
        controller.stop()


def test_send_delivers_one_message_to_the_consented_address(smtp: tuple[SmtpServer, Inbox]) -> None:
    server, inbox = smtp
    message_id = send(
        server, OfferEmail(to="kim@example.kr", subject="10% back this week", text="안녕하세요", delivery_id="d-42")
    )
    assert len(inbox.messages) == 1
    sender, recipients, message = inbox.messages[0]
    assert sender == "offers@brand.example"
    assert recipients == ["kim@example.kr"]
    assert message["Subject"] == "10% back this week"
    assert message["Message-ID"] == message_id and "d-42" in message_id
    assert message["X-Ledger-Delivery"] == "d-42"
    assert message.get_content_charset() == "utf-8"
    assert message.get_payload(decode=True).decode().strip() == "안녕하세요"


def test_send_raises_the_servers_refusal(smtp: tuple[SmtpServer, Inbox]) -> None:
    server, inbox = smtp
    with pytest.raises(EmailRefused, match="550"):
        send(server, OfferEmail(to="nobody@example.kr", subject="s", text="t", delivery_id="d-1"))
    assert inbox.messages == []


def test_send_to_a_dead_server_raises_refused() -> None:
    server = SmtpServer(host="127.0.0.1", port=_free_port(), sender="offers@brand.example", timeout=2)
    with pytest.raises(EmailRefused, match="does not answer"):
        send(server, OfferEmail(to="kim@example.kr", subject="s", text="t", delivery_id="d-2"))


def test_a_header_injection_is_refused(smtp: tuple[SmtpServer, Inbox]) -> None:
    server, inbox = smtp
    with pytest.raises(ValueError, match="one line"):
        send(server, OfferEmail(to="kim@example.kr", subject="hi\nBcc: all@example.kr", text="t", delivery_id="d-3"))
    assert inbox.messages == []
