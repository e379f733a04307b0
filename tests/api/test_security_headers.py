"""The security headers reach every answer, an unexpected failure's 500 included (Starlette answers it outside the
middleware stack)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.api.security import HEADERS


def test_headers_on_an_unexpected_failure(settings):
    from app.main import create_app

    app = create_app(settings)

    @app.get("/boom", include_in_schema=False)
    def boom() -> None:
        raise ZeroDivisionError("a bug")

    with TestClient(app, raise_server_exceptions=False) as client:
        failed = client.get("/boom")
        fine = client.get("/health")
    assert failed.status_code == 500 and failed.json()["error"] == "internal_error"
    for answer in (failed, fine):
        for name, value in HEADERS.items():
            assert answer.headers.get(name) == value, (answer.request.url.path, name)
