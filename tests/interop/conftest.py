"""Standard clients (npm packages run by Node) against a live server of the app: the page tests' `live` fixture."""

from tests.pages.conftest import live  # noqa: F401  (a fixture: the app served by uvicorn on a free port)
