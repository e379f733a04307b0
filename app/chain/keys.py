"""The programme's on-chain role keys, one per role, read from the settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount

from app.config import Settings

Role = Literal["admin", "operator", "relayer", "recorder", "auditor", "pauser"]
ROLES: tuple[Role, ...] = get_args(Role)

__all__ = ["ROLES", "LocalAccount", "Role", "RoleKeys", "account_from_key", "sign_text"]


def account_from_key(private_key: bytes | str) -> LocalAccount:
    """The local account of a private key (32 bytes, or their hex)."""
    account: LocalAccount = Account.from_key(private_key)
    return account


def sign_text(account: LocalAccount, text: str) -> bytes:
    """`account`'s personal_sign (EIP-191) signature of `text`, e.g. a SIWE message."""
    return bytes(account.sign_message(encode_defunct(text=text)).signature)


@dataclass(frozen=True)
class RoleKeys:
    """An account per role; only the admin's key is needed to deploy, the others are granted by address."""

    admin: LocalAccount
    operator: LocalAccount
    relayer: LocalAccount
    recorder: LocalAccount
    auditor: LocalAccount
    pauser: LocalAccount

    @classmethod
    def from_settings(cls, settings: Settings) -> RoleKeys:
        keys = settings.role_keys()
        return cls(**{role: Account.from_key(keys[role]) for role in ROLES})

    def account(self, role: Role) -> LocalAccount:
        account: LocalAccount = getattr(self, role)
        return account

    def addresses(self) -> dict[Role, str]:
        return {role: self.account(role).address for role in ROLES}
