"""A campaign's parameters and results as they are hashed: canonical JSON and keccak256 (docs/campaigns.md).

A format, not a computation: the campaign service writes with it and the audit reads with it, as both read
the proof files with one reader. Anyone can recompute a hash from the stored fields with these few rules.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import sha3  # safe-pysha3's keccak-256, the EVM's hash (no chain library outside app/chain)

from app.models.crm import Campaign


def canonical_json(document: Any) -> bytes:
    """The one encoding hashed for parameters and results: sorted keys, no spaces, UTF-8, no NaN."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def keccak_hex(data: bytes) -> str:
    return "0x" + sha3.keccak_256(data).hexdigest()


def seconds(moment: datetime) -> int:
    """Unix seconds of a stored time (the database hands them back without their zone: all are UTC)."""
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    return int(aware.timestamp())


def params_document(campaign: Campaign, brand_address: str) -> dict[str, Any]:
    """The parameters committed to: everything that decides who is measured, how, and when."""
    return {
        "campaign": campaign.campaign_key,
        "brand": brand_address.lower(),
        "name": campaign.name,
        "offer": campaign.offer_id,
        "rule": campaign.rule_id,
        "holdout_bps": campaign.holdout_bps,
        "metric": campaign.metric,
        "conversion_days": campaign.conversion_days,
        "guardrails": json.loads(campaign.guardrails),
        "starts_at": seconds(campaign.starts_at),
        "ends_at": seconds(campaign.ends_at),
    }


def params_hash(campaign: Campaign, brand_address: str) -> str:
    return keccak_hex(canonical_json(params_document(campaign, brand_address)))
