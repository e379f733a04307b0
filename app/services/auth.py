"""Sign-in: customers by SIWE (EIP-4361), brands by API keys, auditors by read-only tokens, operator by admin key."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlmodel import Session, select

from app import clock
from app.chain.addresses import checksum as to_checksum_address
from app.chain.gateway import ChainGateway
from app.chain.signatures import signs_text
from app.clock import utcnow
from app.config import Settings
from app.errors import InvalidSignature, NotAuthenticated, NotFound
from app.models.accounts import Brand, Customer
from app.models.auth import ApiKey, AuditorToken, CustomerSession, SiweNonce
from app.services.siwe import checksummed, origin_of, parse_siwe

Role = Literal["customer", "brand", "auditor", "operator"]

CUSTOMER_PREFIX, BRAND_PREFIX, AUDITOR_PREFIX = "cs_", "bk_", "au_"
SIWE_STATEMENT = "Sign in to the loyalty and data-consent ledger."


@dataclass(frozen=True)
class Principal:
    """Who is calling: a role and, for customers and brands, their record."""

    role: Role
    customer: Customer | None = None
    brand: Brand | None = None
    label: str = ""


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# ---------------------------------------------------------------------------------------------
# SIWE
# ---------------------------------------------------------------------------------------------


def siwe_message(
    settings: Settings, address: str, nonce: str, chain_id: int, issued_at: datetime, expires_at: datetime
) -> str:
    """The EIP-4361 message the customer's wallet signs."""
    return (
        f"{settings.siwe_domain} wants you to sign in with your Ethereum account:\n"
        f"{to_checksum_address(address)}\n\n"
        f"{SIWE_STATEMENT}\n\n"
        f"URI: {settings.siwe_uri}\n"
        f"Version: 1\n"
        f"Chain ID: {chain_id}\n"
        f"Nonce: {nonce}\n"
        f"Issued At: {clock.rfc3339(issued_at, digits=3)}\n"
        f"Expiration Time: {clock.rfc3339(expires_at, digits=3)}"
    )


def issue_nonce(session: Session, settings: Settings, address: str, chain_id: int) -> tuple[str, str]:
    """A fresh nonce for `address` and the message to sign with it."""
    nonce = secrets.token_hex(16)
    now = utcnow()
    expires = now + timedelta(seconds=settings.siwe_nonce_ttl_seconds)
    session.add(SiweNonce(nonce=nonce, address=to_checksum_address(address), issued_at=now, expires_at=expires))
    session.commit()
    return nonce, siwe_message(settings, address, nonce, chain_id, now, expires)


def siwe_signer(session: Session, settings: Settings, chain: ChainGateway, message: str, signature: str) -> str:
    """Checks a signed SIWE message as EIP-4361 says and spends its nonce (not committed): returns the signer.

    The signer may be an EOA or an ERC-1271 contract wallet (asked on chain through the gateway).
    """
    parsed = parse_siwe(message)
    now = utcnow()
    skew = timedelta(seconds=settings.siwe_clock_skew_seconds)
    if parsed.domain != settings.siwe_domain:
        raise NotAuthenticated(f"SIWE domain {parsed.domain!r} is not this service's ({settings.siwe_domain!r})")
    own_scheme, _ = origin_of(settings.siwe_uri)
    if parsed.scheme is not None and parsed.scheme.lower() != own_scheme:
        raise NotAuthenticated(f"SIWE scheme {parsed.scheme!r} is not this service's ({own_scheme!r})")
    if parsed.origin != origin_of(settings.siwe_uri):
        raise NotAuthenticated(f"SIWE URI {parsed.uri!r} is not of this service's origin ({settings.siwe_uri!r})")
    if not checksummed(parsed.address):
        raise NotAuthenticated(
            f"SIWE address {parsed.address} is not in its EIP-55 checksum form ({to_checksum_address(parsed.address)})"
        )
    if parsed.chain_id != chain.chain_id:
        raise NotAuthenticated(f"SIWE chain id {parsed.chain_id} is not this service's ({chain.chain_id})")
    if parsed.issued_at > now + skew:
        raise NotAuthenticated(f"SIWE Issued At {parsed.issued_at.isoformat()} lies in the future")
    if parsed.expiration_time is not None and parsed.expiration_time <= now:
        raise NotAuthenticated("SIWE message has expired; ask for a new nonce")
    if parsed.not_before is not None and parsed.not_before > now + skew:
        raise NotAuthenticated("SIWE message is not valid yet (Not Before)")
    record = session.get(SiweNonce, parsed.nonce)
    if record is None or record.address != parsed.address:
        raise NotAuthenticated("unknown SIWE nonce for this address; ask for a new one")
    if record.used_at is not None:
        raise NotAuthenticated("SIWE nonce already used (replay refused); ask for a new one")
    if record.expires_at <= now:
        raise NotAuthenticated("SIWE nonce has expired; ask for a new one")
    try:
        raw = bytes.fromhex(signature.removeprefix("0x"))
    except ValueError:
        raise InvalidSignature("the signature is not hex") from None
    if not signs_text(chain, parsed.address, message, raw):
        raise NotAuthenticated("the signature is not from the address in the SIWE message")
    record.used_at = now
    return parsed.address


def verify_siwe(
    session: Session, settings: Settings, chain: ChainGateway, message: str, signature: str
) -> tuple[str, datetime, str]:
    """Checks a signed SIWE message and opens a customer session: returns (token, expires_at, address)."""
    address = siwe_signer(session, settings, chain, message, signature)
    now = utcnow()
    customer = session.exec(select(Customer).where(Customer.address == address)).first()
    if customer is None:
        customer = Customer(address=address)
        session.add(customer)
        session.flush()
    token = CUSTOMER_PREFIX + secrets.token_urlsafe(32)
    expires_at = now + timedelta(seconds=settings.session_ttl_seconds)
    assert customer.id is not None
    session.add(CustomerSession(customer_id=customer.id, token_hash=hash_token(token), expires_at=expires_at))
    session.commit()
    return token, expires_at, address


def end_session(session: Session, token: str) -> None:
    record = session.exec(select(CustomerSession).where(CustomerSession.token_hash == hash_token(token))).first()
    if record is not None and record.revoked_at is None:
        record.revoked_at = utcnow()
        session.commit()


# ---------------------------------------------------------------------------------------------
# Brand API keys and auditor tokens
# ---------------------------------------------------------------------------------------------


def create_api_key(session: Session, brand: Brand, label: str = "") -> tuple[ApiKey, str]:
    """A new key for `brand`; the plain key is returned once and never stored."""
    key = BRAND_PREFIX + secrets.token_urlsafe(32)
    assert brand.id is not None
    record = ApiKey(brand_id=brand.id, prefix=key[:10], key_hash=hash_token(key), label=label)
    session.add(record)
    session.commit()
    session.refresh(record)
    return record, key


def revoke_api_key(session: Session, brand_id: int, key_id: int) -> ApiKey:
    record = session.get(ApiKey, key_id)
    if record is None or record.brand_id != brand_id:
        raise NotFound(f"no API key {key_id} for brand {brand_id}")
    if record.revoked_at is None:
        record.revoked_at = utcnow()
        session.commit()
        session.refresh(record)
    return record


def create_auditor_token(session: Session, label: str = "") -> tuple[AuditorToken, str]:
    token = AUDITOR_PREFIX + secrets.token_urlsafe(32)
    record = AuditorToken(label=label, prefix=token[:10], token_hash=hash_token(token))
    session.add(record)
    session.commit()
    session.refresh(record)
    return record, token


def revoke_auditor_token(session: Session, token_id: int) -> AuditorToken:
    record = session.get(AuditorToken, token_id)
    if record is None:
        raise NotFound(f"no auditor token {token_id}")
    if record.revoked_at is None:
        record.revoked_at = utcnow()
        session.commit()
        session.refresh(record)
    return record


# ---------------------------------------------------------------------------------------------
# Resolving a bearer token
# ---------------------------------------------------------------------------------------------


def authenticate(session: Session, settings: Settings, token: str) -> Principal:
    """The principal behind a bearer token; NotAuthenticated if it is unknown, expired or revoked."""
    now = utcnow()
    if token.startswith(CUSTOMER_PREFIX):
        record = session.exec(select(CustomerSession).where(CustomerSession.token_hash == hash_token(token))).first()
        if record is None or record.revoked_at is not None:
            raise NotAuthenticated("unknown or ended session; sign in again")
        if record.expires_at <= now:
            raise NotAuthenticated("session expired; sign in again")
        customer = session.get(Customer, record.customer_id)
        return Principal("customer", customer=customer)
    if token.startswith(BRAND_PREFIX):
        key = session.exec(select(ApiKey).where(ApiKey.key_hash == hash_token(token))).first()
        if key is None or key.revoked_at is not None:
            raise NotAuthenticated("unknown or revoked API key")
        return Principal("brand", brand=session.get(Brand, key.brand_id), label=key.label)
    if token.startswith(AUDITOR_PREFIX):
        auditor = session.exec(select(AuditorToken).where(AuditorToken.token_hash == hash_token(token))).first()
        if auditor is None or auditor.revoked_at is not None:
            raise NotAuthenticated("unknown or revoked auditor token")
        return Principal("auditor", label=auditor.label)
    if hmac.compare_digest(token.encode(), settings.admin_key.get_secret_value().encode()):
        return Principal("operator", label="admin")
    raise NotAuthenticated("unknown credentials")
