"""Consent receipts off chain: canonical JSON, its hash, the notice hash; no chain needed."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from eth_utils import keccak

from app.config import Settings
from app.domain import Category, Purpose
from app.errors import InvalidInput
from app.models.accounts import Brand, Customer
from app.services.consent_receipts import build_receipt, canonical_json, notice_hash, receipt_hash_of


def _receipt(settings: Settings, brand_name: str = "Acme") -> dict:
    return build_receipt(
        settings,
        receipt_id="7f0b1a8e-0000-4000-8000-000000000001",
        customer=Customer(id=1, address="0x" + "11" * 20),
        brand=Brand(id=1, name=brand_name, address="0x" + "22" * 20),
        purpose=int(Purpose.PERSONALISATION),
        categories=int(Category.STYLES | Category.INTERESTS),
        expires_at=0,
        price=2**96 - 1,
        issued_at=datetime(2025, 3, 1, tzinfo=UTC),
        chain_id=31337,
        registry="0x" + "33" * 20,
    )


def test_canonical_json_sorts_keys_without_spaces_and_keeps_unicode() -> None:
    text = canonical_json(_receipt(Settings(environment="test"), brand_name="롯데"))
    assert text == json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert "롯데" in text
    assert receipt_hash_of(text) == "0x" + keccak(text.encode("utf-8")).hex()


def test_receipt_fields_and_pseudonymity() -> None:
    document = _receipt(Settings(environment="test", consent_jurisdiction="EU"))
    assert document["jurisdiction"] == "EU" and document["collectionMethod"] == "eip712-signature"
    assert document["piiPrincipalId"] == "0x" + "11" * 20
    assert document["services"][0]["purposes"][0]["purpose"] == "personalisation"
    assert document["services"][0]["purposes"][0]["piiCategory"] == ["interests", "styles"]
    # The largest uint96 price survives as a decimal string (JavaScript readers lose digits of big numbers).
    assert document["price"]["amount"] == str(2**96 - 1)
    assert document["expiresAt"] is None
    # No personal data: the customer appears by address only.
    assert "email" not in canonical_json(document) and "name" not in document["piiControllers"][0]


def test_notice_hash_default_and_configured() -> None:
    default = Settings(environment="test", consent_notice_version="2025-07")
    assert notice_hash(default) == "0x" + keccak(text="2025-07").hex()
    configured = Settings(environment="test", consent_notice_hash="0x" + "AB" * 32)
    assert notice_hash(configured) == "0x" + "ab" * 32
    with pytest.raises(InvalidInput):
        notice_hash(Settings(environment="test", consent_notice_hash="0x1234"))
