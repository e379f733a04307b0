"""PaymentRouter's typed client and its EIP-712 documents: the CASH permit and the Payment binding it to a brand."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from app.chain.addresses import checksum
from app.chain.contract import ContractClient, from_hex, hex32

# The router's own domain and type, verbatim from contracts/src/PaymentRouter.sol.
PAYMENT_DOMAIN = ("PaymentRouter", "1")
PAYMENT_TYPE = [
    {"name": "payer", "type": "address"},
    {"name": "brand", "type": "address"},
    {"name": "amount", "type": "uint256"},
    {"name": "paymentRef", "type": "bytes32"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]
# EIP-2612 as OpenZeppelin's ERC20Permit signs it, in CashbackToken's domain ("Cashback", "1").
PERMIT_DOMAIN = ("Cashback", "1")
PERMIT_TYPE = [
    {"name": "owner", "type": "address"},
    {"name": "spender", "type": "address"},
    {"name": "value", "type": "uint256"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]
_DOMAIN_TYPE = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]


@dataclass(frozen=True)
class PaymentTerms:
    """What the payer signs twice (permit, Payment): amount to brand for a reference, a permit nonce, a deadline."""

    payer: str
    brand: str
    amount: int
    reference: str  # bytes32 hex
    nonce: int
    deadline: int


@dataclass(frozen=True)
class Paid:
    """A Paid event: who paid which brand how much for what, and where the chain put it."""

    payer: str
    brand: str
    amount: int
    reference: str
    tx_hash: str
    block_number: int


def _document(
    domain: tuple[str, str], primary: str, fields: list[dict[str, str]], message: dict[str, Any], **where: Any
) -> dict[str, Any]:
    return {
        "types": {"EIP712Domain": _DOMAIN_TYPE, primary: fields},
        "primaryType": primary,
        "domain": {"name": domain[0], "version": domain[1], **where},
        "message": message,
    }


def permit_document(terms: PaymentTerms, *, chain_id: int, token: str, router: str) -> dict[str, Any]:
    """The EIP-2612 permit letting the router move exactly `amount` of the payer's CASH until the deadline."""
    message = {
        "owner": checksum(terms.payer),
        "spender": checksum(router),
        "value": terms.amount,
        "nonce": terms.nonce,
        "deadline": terms.deadline,
    }
    return _document(PERMIT_DOMAIN, "Permit", PERMIT_TYPE, message, chainId=chain_id, verifyingContract=checksum(token))


def payment_document(terms: PaymentTerms, *, chain_id: int, router: str) -> dict[str, Any]:
    """The router's Payment: binds the brand and the reference to that permit (its nonce)."""
    message = {
        "payer": checksum(terms.payer),
        "brand": checksum(terms.brand),
        "amount": terms.amount,
        "paymentRef": terms.reference,
        "nonce": terms.nonce,
        "deadline": terms.deadline,
    }
    return _document(PAYMENT_DOMAIN, "Payment", PAYMENT_TYPE, message, chainId=chain_id, verifyingContract=router)


def split_signature(signature: bytes) -> tuple[int, bytes, bytes]:
    """(v, r, s) of a 65-byte r||s||v signature (v as 27/28)."""
    v = signature[64]
    return (v + 27 if v < 27 else v), signature[:32], signature[32:64]


class PaymentRouterClient(ContractClient):
    """IPaymentRouter: the relayer's permit-and-pay; reverts of the token (permit, balance) decode too."""

    contract_name: ClassVar[str] = "PaymentRouter"
    reverts_of: ClassVar[tuple[str, ...]] = ("CashbackToken",)

    def pay(self, terms: PaymentTerms, permit_signature: bytes, payment_signature: bytes) -> Paid:
        """Relays one payment (the relayer's key pays the gas) and returns its Paid event."""
        payment = (
            checksum(terms.payer),
            checksum(terms.brand),
            terms.amount,
            from_hex(terms.reference),
            terms.nonce,
            terms.deadline,
        )
        sent = self._write(
            self.contract.functions.pay(payment, split_signature(permit_signature), payment_signature), "relayer"
        )
        (event,) = self._events_in(sent, "Paid")
        return Paid(
            payer=event["payer"],
            brand=event["brand"],
            amount=int(event["amount"]),
            reference=hex32(event["paymentRef"]),
            tx_hash=sent.tx_hash,
            block_number=sent.block_number,
        )
