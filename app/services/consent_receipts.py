"""Consent receipts: the ISO/IEC TS 27560 / Kantara document whose keccak256 goes into the signed grant."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from app.chain.addresses import keccak256
from app.config import Settings
from app.domain import Purpose, category_names
from app.errors import InvalidInput
from app.models.accounts import Brand, Customer

COLLECTION_METHOD = "eip712-signature"
RECEIPT_VERSION = "KI-CR-v1.1.0"  # Kantara Consent Receipt v1.1, the field set ISO/IEC TS 27560 builds on
WITHDRAWAL_METHOD = (
    "Sign an EIP-712 Revoke with your wallet: POST /consents/typed-data with action 'revoke', then POST "
    "/consents with the signature. The relayer pays the gas; the consent stops covering any access from "
    "the block the revocation is mined in."
)


def notice_hash(settings: Settings) -> str:
    """The hash of the notice customers are shown: configured, or keccak256 of its version string."""
    configured = settings.consent_notice_hash.strip().lower()
    if configured:
        if len(configured) != 66 or not configured.startswith("0x"):
            raise InvalidInput("CONSENT_NOTICE_HASH must be a 0x-prefixed 32-byte hex string")
        return configured
    return "0x" + keccak256(settings.consent_notice_version).hex()


def canonical_json(document: dict[str, Any]) -> str:
    """Sorted keys, no spaces, UTF-8: the exact text whose keccak256 is the receipt hash."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def receipt_hash_of(text: str) -> str:
    return "0x" + keccak256(text.encode("utf-8")).hex()


def build_receipt(
    settings: Settings,
    *,
    receipt_id: str,
    customer: Customer,
    brand: Brand,
    purpose: int,
    categories: int,
    expires_at: int,
    price: int,
    issued_at: datetime,
    chain_id: int,
    registry: str,
) -> dict[str, Any]:
    """The consent receipt (ISO/IEC TS 27560 / Kantara CR v1.1 fields); pseudonymous, no personal data."""
    purpose_name = Purpose(purpose).name.lower()
    return {
        "version": RECEIPT_VERSION,
        "consentReceiptID": receipt_id,
        "jurisdiction": settings.consent_jurisdiction,
        "consentTimestamp": int(issued_at.timestamp()),
        "collectionMethod": COLLECTION_METHOD,
        "language": "en",
        "piiPrincipalId": customer.address,
        "piiControllers": [
            {
                "piiController": settings.consent_controller,
                "contact": settings.consent_controller_contact,
                "role": "programme operator",
                "onBehalf": False,
            },
            {
                "piiController": brand.name,
                "address": brand.address,
                "role": "recipient brand",
                "onBehalf": False,
            },
        ],
        "notice": {"version": settings.consent_notice_version, "hash": notice_hash(settings)},
        "services": [
            {
                "service": f"sharing profile data with {brand.name}",
                "purposes": [
                    {
                        "purpose": purpose_name,
                        "purposeCategory": [purpose_name],
                        "consentType": "EXPLICIT",
                        "piiCategory": category_names(categories),
                        "primaryPurpose": False,
                        "termination": "on revocation by the customer, or at expiresAt if set",
                        "thirdPartyDisclosure": True,
                        "thirdPartyName": brand.name,
                    }
                ],
            }
        ],
        "sensitive": False,
        "spiCat": [],
        "expiresAt": expires_at or None,
        # A decimal string so that JavaScript readers re-hash it without losing digits.
        "price": {"amount": str(price), "unit": "CASH smallest unit (18 decimals)", "per": "access"},
        "withdrawalMethod": WITHDRAWAL_METHOD,
        "cashback": "Purchase cashback does not depend on this consent (GDPR art. 7(4)).",
        "ledger": {
            "chainId": chain_id,
            "registry": registry,
            "categoriesMask": categories,
            "purposeId": purpose,
        },
    }
