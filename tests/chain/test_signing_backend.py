"""Signatures go through libsecp256k1 (coincurve), not eth-keys' pure-Python fallback, which is ~30x slower."""

from __future__ import annotations

from eth_keys import KeyAPI
from eth_keys.backends.coincurve import CoinCurveECCBackend


def test_eth_keys_signs_with_coincurve() -> None:
    assert isinstance(KeyAPI().backend, CoinCurveECCBackend)
