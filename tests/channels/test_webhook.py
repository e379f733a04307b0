"""The webhook channel against a real HTTP server on loopback: signatures, retries, idempotency."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app.channels import webhook
from app.channels.webhook import WebhookEvent, deliver, sign, verify

SECRET = b"whsec-test"


class Receiver(ThreadingHTTPServer):
    """A brand's endpoint: answers the scripted statuses in turn, verifies each signature, dedups by event id."""

    def __init__(self, statuses: list[int]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.statuses = statuses
        self.requests: list[tuple[str, bytes, bool]] = []
        self.processed: set[str] = set()


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        ok = verify(SECRET, self.headers[webhook.SIGNATURE_HEADER], body)
        event_id = self.headers[webhook.EVENT_HEADER]
        self.server.requests.append((event_id, body, ok))
        status = self.server.statuses.pop(0) if self.server.statuses else 200
        if status == 200:
            self.server.processed.add(event_id)
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def receiver(request: pytest.FixtureRequest) -> Iterator[Receiver]:
    server = Receiver(list(request.param))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _url(server: Receiver) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/hooks"


EVENT = WebhookEvent(event_id="evt-1", type="offer.delivered", payload={"offer": 7, "amount": "2000000000000000000"})


@pytest.mark.parametrize("receiver", [[503, 500, 200]], indirect=True)
def test_deliver_retries_until_accepted_with_the_same_signed_body(receiver: Receiver) -> None:
    waits: list[float] = []
    outcome = deliver(_url(receiver), SECRET, EVENT, backoff_seconds=0.1, sleep=waits.append)
    assert outcome.delivered and outcome.attempts == 3 and outcome.history == ["503", "500", "200"]
    assert waits == [0.1, 0.2]  # exponential backoff
    assert {body for _, body, _ in receiver.requests} == {EVENT.body()}
    assert all(ok for _, _, ok in receiver.requests)
    assert receiver.processed == {"evt-1"}


@pytest.mark.parametrize("receiver", [[400]], indirect=True)
def test_deliver_stops_at_a_client_error(receiver: Receiver) -> None:
    outcome = deliver(_url(receiver), SECRET, EVENT, sleep=lambda _: None)
    assert not outcome.delivered and outcome.attempts == 1 and outcome.status == 400


def test_deliver_to_a_dead_endpoint_gives_up_after_its_attempts() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    outcome = deliver(f"http://127.0.0.1:{port}/", SECRET, EVENT, attempts=3, sleep=lambda _: None)
    assert not outcome.delivered and outcome.attempts == 3 and "ConnectError" in (outcome.error or "")


def test_verify_refuses_a_changed_body_an_old_timestamp_and_another_secret() -> None:
    body = EVENT.body()
    header = sign(SECRET, 1_000_000, body)
    assert verify(SECRET, header, body, now=1_000_100)
    assert not verify(SECRET, header, body + b" ", now=1_000_100)
    assert not verify(SECRET, header, body, now=1_000_000 + webhook.TOLERANCE_SECONDS + 1)
    assert not verify(b"other", header, body, now=1_000_100)
    assert not verify(SECRET, "garbage", body, now=1_000_100)
