"""The ConsentRegistry's typed client: consents, signatures relayed, brands, access limits and access batches."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from app.chain.contract import BeforeBroadcast, BlockId, ContractClient, from_hex, hex32
from app.chain.transactions import Sent


@dataclass(frozen=True)
class Consent:
    """A consent as the registry stores it; `categories == 0` means there is none."""

    categories: int
    granted_at: int  # unix seconds (chain time)
    expires_at: int  # unix seconds, 0 for no end
    price: int  # CASH smallest units per access
    receipt_hash: str
    notice_hash: str


@dataclass(frozen=True)
class SignatureTiming:
    """When a signature was made, its unordered nonce and its deadline (IConsentRegistry.SignatureTiming)."""

    signed_at: int
    nonce: int
    deadline: int

    @classmethod
    def of(cls, message: Mapping[str, Any]) -> SignatureTiming:
        """From a signed EIP-712 message (app/chain/eip712.py)."""
        return cls(int(message["signedAt"]), int(message["nonce"]), int(message["deadline"]))

    def abi(self) -> tuple[int, int, int]:
        return self.signed_at, self.nonce, self.deadline


@dataclass(frozen=True)
class GrantTerms:
    """What a customer grants a brand (IConsentRegistry.GrantTerms)."""

    customer: str
    brand: str
    purpose: int
    categories: int
    expires_at: int
    price: int
    receipt_hash: str
    notice_hash: str

    @classmethod
    def of(cls, message: Mapping[str, Any]) -> GrantTerms:
        """From a signed EIP-712 Grant message."""
        return cls(
            str(message["customer"]),
            str(message["brand"]),
            int(message["purpose"]),
            int(message["categories"]),
            int(message["expiresAt"]),
            int(message["price"]),
            str(message["receiptHash"]),
            str(message["noticeHash"]),
        )

    def abi(self) -> tuple[Any, ...]:
        return (
            self.customer,
            self.brand,
            self.purpose,
            self.categories,
            self.expires_at,
            self.price,
            from_hex(self.receipt_hash),
            from_hex(self.notice_hash),
        )


@dataclass(frozen=True)
class AccessLimits:
    """What a brand lets the recorder charge: the allowance left, the most per customer, when set (0: never)."""

    allowance: int
    max_price: int
    changed_at: int


@dataclass(frozen=True)
class AccessRecorded:
    """An access batch the registry recorded: who was charged what for which request."""

    brand: str
    purpose: int
    categories: int
    request_id: str
    customers: tuple[str, ...]
    prices: tuple[int, ...]
    total: int


@dataclass(frozen=True)
class AccessSkipped:
    """Customers of a batch the registry did not record, with the SkipReason of each."""

    brand: str
    purpose: int
    request_id: str
    customers: tuple[str, ...]
    reasons: tuple[int, ...]


ConsentChangeKind = Literal["granted", "narrowed", "revoked"]


@dataclass(frozen=True)
class ConsentChanged:
    """A ConsentGranted / ConsentNarrowed / ConsentRevoked event, where the chain put it."""

    kind: ConsentChangeKind
    customer: str
    brand: str
    purpose: int
    nonce: int
    receipt_hash: str | None  # grants only
    tx_hash: str
    block: int


_CHANGE_EVENTS: dict[ConsentChangeKind, str] = {
    "granted": "ConsentGranted",
    "narrowed": "ConsentNarrowed",
    "revoked": "ConsentRevoked",
}


class ConsentRegistryClient(ContractClient):
    """IConsentRegistry: one method per verb the backend uses."""

    contract_name: ClassVar[str] = "ConsentRegistry"

    # -- reads --------------------------------------------------------------------------------

    def consent_of(self, customer: str, brand: str, purpose: int, *, block: BlockId = "latest") -> Consent:
        categories, granted_at, expires_at, price, receipt_hash, notice_hash = self._read(
            self.contract.functions.consentOf(customer, brand, purpose), block
        )
        return Consent(
            int(categories), int(granted_at), int(expires_at), int(price), hex32(receipt_hash), hex32(notice_hash)
        )

    def covers(self, customer: str, brand: str, purpose: int, categories: int, *, block: BlockId = "latest") -> bool:
        return bool(self._read(self.contract.functions.covers(customer, brand, purpose, categories), block))

    def revoked_at(self, customer: str, brand: str, purpose: int) -> int:
        return int(self._read(self.contract.functions.revokedAt(customer, brand, purpose)))

    def is_brand(self, brand: str) -> bool:
        return bool(self._read(self.contract.functions.isBrand(brand)))

    def is_nonce_used(self, signer: str, nonce: int) -> bool:
        return bool(self._read(self.contract.functions.isNonceUsed(signer, nonce)))

    def signed_before_cutoff(self, signer: str) -> int:
        """The signer's cutoff: every signature made at or before it is refused (0: none)."""
        return int(self._read(self.contract.functions.signedBeforeCutoff(signer)))

    def max_signature_lifetime(self) -> int:
        return int(self._read(self.contract.functions.MAX_SIGNATURE_LIFETIME()))

    def access_limits_of(self, brand: str) -> AccessLimits:
        (allowance, max_price), changed_at = self._read(self.contract.functions.accessLimitsOf(brand))
        return AccessLimits(int(allowance), int(max_price), int(changed_at))

    # -- writes -------------------------------------------------------------------------------

    def register_brand(self, brand: str) -> Sent:
        return self._write(self.contract.functions.registerBrand(brand), "operator")

    def grant_by_sig(
        self,
        terms: GrantTerms,
        timing: SignatureTiming,
        signature: bytes,
        *,
        before_broadcast: BeforeBroadcast | None = None,
    ) -> Sent:
        call = self.contract.functions.grantBySig(terms.abi(), timing.abi(), signature)
        return self._write(call, "relayer", before_broadcast)

    def narrow_by_sig(
        self,
        customer: str,
        brand: str,
        purpose: int,
        categories: int,
        expires_at: int,
        timing: SignatureTiming,
        signature: bytes,
        *,
        before_broadcast: BeforeBroadcast | None = None,
    ) -> Sent:
        call = self.contract.functions.narrowBySig(
            customer, brand, purpose, categories, expires_at, timing.abi(), signature
        )
        return self._write(call, "relayer", before_broadcast)

    def revoke_by_sig(
        self,
        customer: str,
        brand: str,
        purpose: int,
        timing: SignatureTiming,
        signature: bytes,
        *,
        before_broadcast: BeforeBroadcast | None = None,
    ) -> Sent:
        call = self.contract.functions.revokeBySig(customer, brand, purpose, timing.abi(), signature)
        return self._write(call, "relayer", before_broadcast)

    def invalidate_by_sig(
        self, signer: str, word_pos: int, mask: int, cutoff: int, timing: SignatureTiming, signature: bytes
    ) -> Sent:
        call = self.contract.functions.invalidateBySig(signer, word_pos, mask, cutoff, timing.abi(), signature)
        return self._write(call, "relayer")

    def set_access_limits_by_sig(
        self, brand: str, allowance: int, max_price: int, timing: SignatureTiming, signature: bytes
    ) -> Sent:
        call = self.contract.functions.setAccessLimitsBySig(brand, (allowance, max_price), timing.abi(), signature)
        return self._write(call, "relayer")

    def record_access(
        self,
        brand: str,
        purpose: int,
        categories: int,
        customers: Sequence[str],
        prices: Sequence[int],
        request_id: str,
    ) -> Sent:
        """Records one access batch with the recorder key; the registry skips whom it does not cover."""
        call = self.contract.functions.recordAccess(
            brand, purpose, categories, list(customers), list(prices), from_hex(request_id)
        )
        return self._write(call, "recorder")

    # -- events -------------------------------------------------------------------------------

    def accesses_in(self, sent: Sent, request_id: str) -> tuple[list[AccessRecorded], list[AccessSkipped]]:
        """The AccessRecorded and AccessSkipped events of request `request_id` in a mined batch."""
        wanted = request_id.lower()
        recorded = [
            AccessRecorded(
                a["brand"],
                int(a["purpose"]),
                int(a["categories"]),
                hex32(a["requestId"]),
                tuple(a["customers"]),
                tuple(int(p) for p in a["prices"]),
                int(a["total"]),
            )
            for a in self._events_in(sent, "AccessRecorded")
            if hex32(a["requestId"]) == wanted
        ]
        skipped = [
            AccessSkipped(
                a["brand"],
                int(a["purpose"]),
                hex32(a["requestId"]),
                tuple(a["customers"]),
                tuple(int(r) for r in a["reasons"]),
            )
            for a in self._events_in(sent, "AccessSkipped")
            if hex32(a["requestId"]) == wanted
        ]
        return recorded, skipped

    def consent_changes(self, kind: ConsentChangeKind, customer: str, *, from_block: int) -> list[ConsentChanged]:
        """Every `kind` event of `customer` from `from_block` on, in chain order."""
        return [
            ConsentChanged(
                kind,
                log["args"]["customer"],
                log["args"]["brand"],
                int(log["args"]["purpose"]),
                int(log["args"]["nonce"]),
                hex32(log["args"]["receiptHash"]) if "receiptHash" in log["args"] else None,
                hex32(log["transactionHash"]),
                int(log["blockNumber"]),
            )
            for log in self._logs(_CHANGE_EVENTS[kind], from_block=from_block, customer=customer)
        ]
