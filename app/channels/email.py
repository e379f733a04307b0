"""The e-mail channel: one offer message per customer over SMTP (stdlib smtplib), with a stable Message-ID."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from app.clock import utcnow


class EmailRefused(Exception):
    """The SMTP server refused the message (or could not be reached); carries the server's answer."""


@dataclass(frozen=True)
class SmtpServer:
    """Where and how offers are sent; TLS by STARTTLS when `starttls` (required outside loopback)."""

    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: float = 10.0


@dataclass(frozen=True)
class OfferEmail:
    """One message: to the customer's consented contact address only, never copied to anyone else."""

    to: str
    subject: str
    text: str
    delivery_id: str  # the delivery's id, so a resend is recognisable (Message-ID and a header)


def build_message(server: SmtpServer, mail: OfferEmail) -> EmailMessage:
    """The RFC 5322 message: plain text, a Message-ID derived from the delivery id, a dated header."""
    for field, value in (("to", mail.to), ("subject", mail.subject)):
        if "\n" in value or "\r" in value:
            raise ValueError(f"{field} must be one line")
    message = EmailMessage()
    message["From"] = server.sender
    message["To"] = str(Address(addr_spec=mail.to))
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(utcnow())
    domain = server.sender.rsplit("@", 1)[-1].strip(">")
    message["Message-ID"] = make_msgid(idstring=mail.delivery_id, domain=domain)
    message["X-Ledger-Delivery"] = mail.delivery_id
    message.set_content(mail.text)
    return message


def send(server: SmtpServer, mail: OfferEmail) -> str:
    """Sends one message and returns its Message-ID; raises EmailRefused with the server's reason."""
    message = build_message(server, mail)
    try:
        with smtplib.SMTP(server.host, server.port, timeout=server.timeout) as smtp:
            if server.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if server.username:
                smtp.login(server.username, server.password or "")
            refused = smtp.send_message(message)
    except smtplib.SMTPException as exc:
        raise EmailRefused(f"the SMTP server refused the message: {exc}") from exc
    except OSError as exc:
        raise EmailRefused(f"the SMTP server at {server.host}:{server.port} does not answer: {exc}") from exc
    if refused:
        raise EmailRefused(f"the SMTP server refused the recipient(s): {refused}")
    return str(message["Message-ID"])
