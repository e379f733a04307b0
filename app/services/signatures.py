"""Signature timing for the registry's EIP-712 messages: signing time, a fresh unordered nonce, a deadline.

Every signed message carries `signedAt`, a nonce and a deadline (app/chain/eip712.py). The registry
refuses a signature whose `signedAt` lies after the block's time, at or before the signer's cutoff
(`invalidateSignaturesBefore`), or — for a grant — at or before the last revoke of that consent; and
a deadline more than MAX_SIGNATURE_LIFETIME after `signedAt`. So `signedAt` is taken from the chain's
clock (the latest block), never from ours, and moved just past any cutoff or revoke it must follow.

Nonces are unordered (a bitmap on chain), so each request gets a fresh random one and two pending
requests never compete for the same nonce: signing a grant and a revoke one after the other leaves
both valid, and the revoke's `signedAt` makes it win over the grant. Nonces are drawn below 2^52 so
that they stay exact in JavaScript numbers (the wallet page signs the document as given).
"""

from __future__ import annotations

import secrets
import time
from typing import TypedDict

from app.chain.gateway import ChainGateway
from app.config import Settings
from app.errors import Conflict

NONCE_BITS = 52


class Timing(TypedDict):
    signedAt: int
    nonce: int
    deadline: int


def chain_time(chain: ChainGateway) -> int:
    """The latest block's timestamp (unix seconds): the clock the registry judges signatures by."""
    return chain.block().timestamp


def fresh_nonce(chain: ChainGateway, signer: str) -> int:
    """A random nonce the signer has not used or invalidated."""
    while True:
        nonce = secrets.randbits(NONCE_BITS)
        if not chain.registry.is_nonce_used(signer, nonce):
            return nonce


def fresh_timing(chain: ChainGateway, settings: Settings, signer: str, *, after: int = 0) -> Timing:
    """Timing for a new signature of `signer`, signed after `after` (e.g. the consent's last revoke)."""
    cutoff = chain.registry.signed_before_cutoff(signer)
    signed_at = max(chain_time(chain), cutoff + 1, after + 1)
    lifetime = chain.registry.max_signature_lifetime()
    ttl = min(settings.consent_signature_ttl_seconds, lifetime)
    return Timing(signedAt=signed_at, nonce=fresh_nonce(chain, signer), deadline=signed_at + ttl)


def await_signing_time(chain: ChainGateway, signed_at: int, *, most: float = 3.0) -> None:
    """Waits until the chain's clock reaches `signedAt` (at most `most` seconds).

    A signature made just after a revoke or cutoff is dated one second after it, which may be ahead of
    the latest block. The node's clock is at least the latest block's time and runs with ours, so
    sleeping the difference is enough; it is the chain's clock that counts, not this machine's (a node's
    may run ahead, as anvil's does after evm_increaseTime).
    """
    wait = signed_at - chain_time(chain)
    if wait > most:
        raise Conflict(f"the signature is dated {signed_at}, {wait} s after the chain's clock: ask for new typed data")
    if wait > 0:
        time.sleep(wait + 0.05)
