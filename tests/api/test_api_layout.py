"""The API's layering (issue 11, item 5): models in app/api/schemas/, rules and queries in services, one
fresh-mirror dependency, one clock; and the behaviours that moved with them."""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
from sqlmodel import Session

from app import clock, db
from app.api.schemas.ledger import RegistryConsentPublic
from app.config import Settings
from app.main import create_app
from app.models.mirror import MirrorConsent
from app.services import ledger

APP = Path(__file__).resolve().parents[2] / "app"
ROUTES = APP / "api" / "routes"
SCHEMAS = APP / "api" / "schemas"


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


def _calls(path: Path) -> set[str]:
    """Names of the functions and methods `path` calls (the last dotted part)."""
    found = set()
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Call):
            f = node.func
            found.add(f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", ""))
    return found


def test_routes_define_no_models_every_model_lives_in_schemas() -> None:
    defined = {
        f"{path.name}:{node.name}"
        for path in ROUTES.glob("*.py")
        for node in ast.walk(_tree(path))
        if isinstance(node, ast.ClassDef)
    }
    assert defined == set()


def test_each_public_model_is_defined_once_and_named_plainly_in_openapi(tmp_path) -> None:
    names: dict[str, list[str]] = {}
    for path in SCHEMAS.glob("*.py"):
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.ClassDef):
                names.setdefault(node.name, []).append(path.name)
    assert {n: where for n, where in names.items() if len(where) > 1} == {}
    for one in ("ConsentPublic", "AccessPublic", "ClaimPublic"):
        assert one in names
    app = create_app(Settings(environment="test", data_dir=tmp_path, start_anvil=False))
    components = app.openapi()["components"]["schemas"]
    # FastAPI qualifies a name by its module when two models share it: none may need that.
    assert [n for n in components if "__" in n] == []


def test_pages_and_ledger_routes_query_no_tables() -> None:
    for name in ("pages.py", "ledger.py"):
        assert _calls(ROUTES / name) & {"select", "exec", "execute", "scalar"} == set(), name
        source = (ROUTES / name).read_text(encoding="utf-8")
        assert "time.time()" not in source and "datetime.now" not in source, name


def test_one_mirror_refresh_given_to_routes_by_one_dependency() -> None:
    definers = [
        p
        for p in APP.rglob("*.py")
        if any(isinstance(n, ast.FunctionDef) and n.name == "refresh_mirror" for n in ast.walk(_tree(p)))
    ]
    assert definers == [APP / "chain" / "indexer.py"]
    callers = sorted(str(p.relative_to(APP)) for p in APP.rglob("*.py") if "refresh_mirror" in _calls(p))
    assert callers == ["api/deps.py"]


def test_no_time_helper_outside_the_clock() -> None:
    offenders = []
    for path in APP.rglob("*.py"):
        if path == APP / "clock.py":
            continue
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.FunctionDef) and node.name in ("_iso", "_parse_iso", "_fmt", "utcnow", "now"):
                offenders.append(f"{path.relative_to(APP)}:{node.name}")
            f = node.func if isinstance(node, ast.Call) else None
            if isinstance(f, ast.Attribute) and f.attr == "now" and getattr(f.value, "id", "") == "datetime":
                offenders.append(f"{path.relative_to(APP)}:{node.lineno} datetime.now")
    assert offenders == []


def test_the_customers_view_is_the_wallet_service() -> None:
    assert not (APP / "services" / "rewards.py").exists()
    assert (APP / "services" / "wallet.py").exists()


# -- the clock ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "moment",
    [
        datetime(1970, 1, 1, tzinfo=UTC),
        datetime(2026, 5, 1, 12, 30, 15, 123456, tzinfo=UTC),
        datetime(2026, 5, 1, 21, 30, 15, 999999, tzinfo=UTC).astimezone(),
        datetime(2099, 12, 31, 23, 59, 59, 1),  # naive: read as UTC, as the database returns times
    ],
)
def test_epoch_us_is_duckdbs_exactly(moment: datetime) -> None:
    naive_utc = clock.as_utc(moment).replace(tzinfo=None)
    (expected,) = duckdb.sql(f"SELECT epoch_us(TIMESTAMP '{naive_utc.isoformat(sep=' ')}')").fetchone()  # type: ignore[misc]
    assert clock.epoch_us(moment) == expected


def test_rfc3339_round_trips_and_naive_text_is_refused() -> None:
    moment = datetime(2026, 5, 1, 9, 0, 0, 120000, tzinfo=UTC)
    assert clock.rfc3339(moment) == "2026-05-01T09:00:00.120000Z"
    assert clock.rfc3339(moment, digits=3) == "2026-05-01T09:00:00.120Z"
    assert clock.rfc3339(moment, digits=0) == "2026-05-01T09:00:00Z"
    assert clock.parse_rfc3339("2026-05-01T18:00:00.12+09:00") == moment
    assert clock.parse_rfc3339("2026-05-01t09:00:00.12z") == moment
    with pytest.raises(ValueError, match="no timezone"):
        clock.parse_rfc3339("2026-05-01T09:00:00")
    with pytest.raises(ValueError, match="ISO-8601"):
        clock.parse_rfc3339("yesterday")
    assert clock.to_unix(clock.from_unix(1_777_777_777)) == 1_777_777_777


# -- "expired" is the ledger service's rule, read off a clock ---------------------------------------


def _mirrored_consent(expires_at: int, status: str = "active") -> MirrorConsent:
    return MirrorConsent(
        customer="0x" + "11" * 20,
        brand="0x" + "22" * 20,
        purpose=1,
        status=status,
        categories=5,
        granted_at=1_700_000_000,
        expires_at=expires_at,
        price=10**15,
        receipt_hash="0x" + "33" * 32,
        notice_hash="0x" + "44" * 32,
        nonce=7,
        updated_block=12,
        updated_log_index=0,
        updated_tx_hash="0x" + "55" * 32,
    )


def test_ledger_service_judges_expiry_at_the_moment_given(tmp_path) -> None:
    settings = Settings(environment="test", data_dir=tmp_path / "data", start_anvil=False)
    db.migrate(settings)
    engine = db.make_engine(settings.sqlalchemy_url)
    end = clock.unix_now() + 3600
    with Session(engine) as session:
        session.add(_mirrored_consent(end))
        session.commit()

        def status_at(at: int | None = None) -> str:
            rows = ledger.consents(
                session, customer=None, brand=None, purpose=None, status=None, limit=10, offset=0, at=at
            )
            return rows.items[0].status

        assert status_at(end - 1) == "active"
        assert status_at(end) == "expired"  # the registry's `covers` needs expires_at > now
        assert status_at() == "active"  # by app.clock's now, an hour before the end

        rows = ledger.consents(session, customer=None, brand=None, purpose=None, status=None, limit=1, offset=0, at=end)
        shown = RegistryConsentPublic.model_validate(rows.items[0], from_attributes=True).model_dump(mode="json")
        assert shown["status"] == "expired" and shown["category_names"] == ["contact", "purchases"]
        assert shown["price"] == str(10**15) and shown["nonce"] == "7" and shown["categories"] == "5"
        assert shown["expires_at"] == clock.rfc3339(clock.from_unix(end), digits=0)
    engine.dispose()


def test_no_end_never_expires_and_zero_times_are_none() -> None:
    standing = ledger.ConsentStanding.at(_mirrored_consent(0), moment=2**40)
    assert standing.status == "active"
    shown = RegistryConsentPublic.model_validate(standing, from_attributes=True).model_dump(mode="json")
    assert shown["expires_at"] is None
    revoked = ledger.ConsentStanding.at(_mirrored_consent(1, status="revoked"), moment=2**40)
    assert revoked.status == "revoked"


# JSON documents by nature, not results: a consent receipt (hashed as canonical JSON), a profile holding
# only the asked categories, the filters a brand sent echoed back, an audience answer stored and replayed.
DOCUMENTS = {"build_receipt", "build_profiles", "as_dict", "stored_answer", "record"}
# A campaign's parameters and results are canonical JSON documents hashed into its on-chain commitment and
# reveal (docs/campaigns.md): they stay documents, as committed.
DOCUMENTS |= {"params_document", "results_document", "results_of", "evaluate_campaign", "_mean"}
# The customer's own profile is build_profiles' document itself (docs/data-rights.md), not a second shape.
DOCUMENTS |= {"held_profile"}


def test_services_return_typed_results_not_dicts() -> None:
    untyped = []
    # The audit's report is a JSON document by nature (docs/audit.md): its checks hold typed CheckResults.
    for path in [*(APP / "services").glob("*.py"), *(APP / "ingestion").glob("*.py")]:
        for node in ast.walk(_tree(path)):
            returns = ast.unparse(node.returns) if isinstance(node, ast.FunctionDef) and node.returns else ""
            if "dict[str, Any]" in returns and node.name not in DOCUMENTS:  # type: ignore[attr-defined]
                untyped.append(f"{path.name}:{node.name}")  # type: ignore[attr-defined]
    assert untyped == []
