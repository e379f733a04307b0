"""A bounded, seeded schemathesis run over every route, as each role: no server error, and every answer (status,
content type, headers, body) is the one the OpenAPI document states; every time has its zone and no
integer is past 2^53.

Real parts as elsewhere: the app over a SQLite file and the session's anvil. Positive and negative cases
(values outside their declared bounds, wrong types) for each operation; `MAX_EXAMPLES` keeps the four runs
under two minutes on two cores (about 45 s when the machine is idle). Operator routes that change the
chain (registering brands, ingesting) are run as the roles they refuse, not as the operator.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.chain.deployment import ensure_deployed
from app.config import Settings
from app.main import create_app
from tests.api.json_rules import unsafe_integers, zoneless_times
from tests.conftest import TEST_CHALLENGE_WINDOW, make_brand, sign_in

pytestmark = pytest.mark.chain

MAX_EXAMPLES = 12
# The operator last: its routes may revoke the other roles' keys and tokens.
ROLES = ("anonymous", "customer", "brand", "auditor", "operator")
SESSION_ENDING = {"POST /auth/logout", "DELETE /me/data"}
# Routes each role must have been answered 2xx on at least once (the public ones plus its own).
ADMITTED = {"anonymous": 4, "customer": 12, "brand": 6, "auditor": 14, "operator": 8}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def json_rules(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every date-time in a JSON answer carries its zone; no number in it is an integer past 2^53."""
    if "json" in response.headers.get("content-type", [""])[0] and response.content:
        document = response.json()
        assert not zoneless_times(document), f"times without a zone: {zoneless_times(document)[:3]}"
        assert not unsafe_integers(document), f"integers past 2^53: {unsafe_integers(document)[:3]}"
    return None


def test_every_router_documents_its_errors() -> None:
    # A router without `route_class=DocumentedRoute` would leave its 401/403/422/503 answers undocumented.
    import importlib
    import pkgutil

    from app.api import routes
    from app.api.schemas import DocumentedRoute

    modules = [importlib.import_module(f"app.api.routes.{m.name}") for m in pkgutil.iter_modules(routes.__path__)]
    routers = {m.__name__: m.router for m in modules if hasattr(m, "router")}
    assert len(routers) >= 10
    assert [name for name, r in routers.items() if r.route_class is not DocumentedRoute] == []


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory, anvil_url, w3, role_keys, dev_accounts) -> Iterator[tuple[Any, dict]]:
    """The app with its own data folder and contracts, the schema it publishes and one set of headers per role."""
    s = Settings(
        environment="test",
        data_dir=tmp_path_factory.mktemp("fuzz") / "data",
        rpc_url=anvil_url,
        start_anvil=False,
        challenge_window_seconds=TEST_CHALLENGE_WINDOW,
        # Every role's run comes from the one TestClient address: together they pass the default per-client
        # limit within a minute (then each later role would only be answered 429). Per identity it holds.
        rate_limit_per_client="20000/minute",
    )
    ensure_deployed(w3, role_keys, s.deployments_dir, challenge_window=s.challenge_window_seconds)
    app = create_app(s)
    with TestClient(app) as client:
        admin = {"Authorization": f"Bearer {s.admin_key.get_secret_value()}"}
        _, brand = make_brand(client, admin, dev_accounts[5], name="Fuzz")
        auditor = client.post("/auditors/tokens", json={"label": "fuzz"}, headers=admin).json()["token"]
        headers = {
            "anonymous": {},
            "customer": sign_in(client, dev_accounts[0]),
            "brand": brand,
            "auditor": {"Authorization": f"Bearer {auditor}"},
            "operator": admin,
        }
        yield schemathesis.openapi.from_asgi("/openapi.json", app), headers


@pytest.mark.parametrize("role", ROLES)
def test_every_route_answers_as_documented(fuzzed, role: str) -> None:
    schema, headers = fuzzed
    failures: list[str] = []
    # Signing out and erasing one's data end the customer's session: those run last.
    operations = sorted((r.ok() for r in schema.get_all_operations()), key=lambda o: o.label in SESSION_ENDING)
    assert len(operations) > 40
    answered: dict[str, set[int]] = {}

    def record(ctx: Any, response: Any, case: Any) -> bool | None:
        answered.setdefault(case.operation.label, set()).add(response.status_code)
        return None

    for operation in operations:
        cases = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)
        )

        @given(case=cases)
        @settings(
            max_examples=MAX_EXAMPLES,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            case.call_and_validate(headers=headers[role], checks=CHECKS, additional_checks=[json_rules, record])

        try:
            run()
        # Every operation is tried and all failures reported together (schemathesis raises a BaseExceptionGroup).
        except (Exception, BaseExceptionGroup) as failure:
            failures.append(f"{operation.label}: {str(failure)[:1500]}")
    assert not failures, "\n\n".join(failures)
    # The role's credentials worked: it was let into its own routes (not refused everywhere).
    admitted = {label for label, statuses in answered.items() if any(200 <= s < 300 for s in statuses)}
    assert len(admitted) >= ADMITTED[role], sorted(admitted)
