"""The RewardDistributor's typed client: budgets and reserves, epoch roots, claims."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from app.chain.addresses import checksum
from app.chain.contract import BeforeBroadcast, BlockId, ContractClient, from_hex, hex32
from app.chain.merkle import Proof, claim_many_args
from app.chain.transactions import Sent


@dataclass(frozen=True)
class Debit:
    """What an epoch takes from one brand: from its reserve (recorded accesses) and from its budget."""

    brand: str
    from_reserve: int
    from_budget: int

    @property
    def amount(self) -> int:
        return self.from_reserve + self.from_budget

    def abi(self) -> tuple[str, int, int]:
        return checksum(self.brand), self.from_reserve, self.from_budget


@dataclass(frozen=True)
class Credit:
    """Expired, unclaimed CASH an epoch gives back to the brand that funded it (applied at finalisation)."""

    brand: str
    amount: int

    def abi(self) -> tuple[str, int]:
        return checksum(self.brand), self.amount


@dataclass(frozen=True)
class Claimed:
    """A Claimed event: what one account was paid, up to which cumulative amount."""

    account: str  # lower-case
    amount: int
    cumulative: int


@dataclass(frozen=True)
class PendingEpoch:
    """The root in its challenge window (epoch 0: none)."""

    epoch: int
    root: str
    finalises_at: int  # unix seconds (chain time)
    total: int
    debits_hash: str


@dataclass(frozen=True)
class EpochPublished:
    """An EpochPublished event, where the chain put it."""

    epoch: int
    root: str
    commitment: str
    total: int
    finalises_at: int
    tx_hash: str
    block: int
    debits: tuple[Debit, ...] = ()  # from the publishing transaction (the event holds only their hash)


class RewardDistributorClient(ContractClient):
    """IRewardDistributor: one method per verb the backend uses."""

    contract_name: ClassVar[str] = "RewardDistributor"
    reverts_of: ClassVar[tuple[str, ...]] = ("BudgetVault",)  # budgets sit in the vault it drives

    # -- reads --------------------------------------------------------------------------------

    def budget_of(self, brand: str, *, block: BlockId = "latest") -> int:
        return int(self._read(self.contract.functions.budgetOf(checksum(brand)), block))

    def reserved_of(self, brand: str, *, block: BlockId = "latest") -> int:
        return int(self._read(self.contract.functions.reservedOf(checksum(brand)), block))

    def available_of(self, brand: str, *, block: BlockId = "latest") -> int:
        """Budget minus reserve: what purchase cashback and withdrawals may use."""
        return int(self._read(self.contract.functions.availableOf(checksum(brand)), block))

    def latest_epoch(self, *, block: BlockId = "latest") -> int:
        return int(self._read(self.contract.functions.latestEpoch(), block))

    def claimable_epoch(self, *, block: BlockId = "latest") -> int:
        return int(self._read(self.contract.functions.claimableEpoch(), block))

    def claimable_root(self, *, block: BlockId = "latest") -> str:
        return hex32(self._read(self.contract.functions.claimableRoot(), block))

    def pending_epoch(self, *, block: BlockId = "latest") -> PendingEpoch:
        epoch, root, finalises_at, total, debits_hash = self._read(self.contract.functions.pendingEpoch(), block)
        return PendingEpoch(int(epoch), hex32(root), int(finalises_at), int(total), hex32(debits_hash))

    def claimed(self, account: str, *, block: BlockId = "latest") -> int:
        return int(self._read(self.contract.functions.claimed(checksum(account)), block))

    def total_allocated(self, *, block: BlockId = "latest") -> int:
        return int(self._read(self.contract.functions.totalAllocated(), block))

    def total_funded(self, *, block: BlockId = "latest") -> int:
        return int(self._read(self.contract.functions.totalFunded(), block))

    def total_returned(self, *, block: BlockId = "latest") -> int:
        """Sum of the expiry returns finalised epochs gave back to budgets."""
        return int(self._read(self.contract.functions.totalReturned(), block))

    def claim_count(self, *, block: BlockId = "latest") -> int:
        """How many claims have paid something (the snapshot an epoch with expiry returns is checked against)."""
        return int(self._read(self.contract.functions.claimCount(), block))

    def vault(self, *, block: BlockId = "latest") -> str:
        return checksum(self._read(self.contract.functions.vault(), block))

    # -- writes -------------------------------------------------------------------------------

    def fund(self, brand: str, amount: int, payment_ref: bytes) -> Sent:
        """Mints `amount` into the brand's budget against a payment received off chain (operator)."""
        return self._write(self.contract.functions.fund(checksum(brand), amount, payment_ref), "operator")

    def publish_epoch(
        self,
        epoch: int,
        root: str,
        commitment: str,
        debits: Sequence[Debit],
        expiry_returns: Sequence[Credit] = (),
        claims_snapshot: int = 0,
    ) -> Sent:
        """Publishes an epoch; with expiry returns, `claims_snapshot` must be `claim_count()` at the epoch's cut-off
        (the chain refuses with `ClaimsMovedSinceSnapshot` otherwise) and claims wait until it is finalised."""
        call = self.contract.functions.publishEpoch(
            epoch,
            from_hex(root),
            from_hex(commitment),
            [d.abi() for d in debits],
            [c.abi() for c in expiry_returns],
            claims_snapshot,
        )
        return self._write(call, "operator")

    def veto_epoch(self, epoch: int, debits: Sequence[Debit]) -> Sent:
        return self._write(self.contract.functions.vetoEpoch(epoch, [d.abi() for d in debits]), "auditor")

    def finalize_epoch(self) -> Sent:
        """Makes the pending root claimable once its window is over (anyone may; the relayer pays)."""
        return self._write(self.contract.functions.finalizeEpoch(), "relayer")

    def claim(self, proof: Proof) -> Sent:
        """Claims an account's cumulative amount by its proof, through the relayer (the tokens go to the account)."""
        return self._write(self.contract.functions.claim(*proof.claim_args()), "relayer")

    def claim_many(self, proofs: Sequence[Proof], *, before_broadcast: BeforeBroadcast | None = None) -> Sent:
        """Claims for several accounts in one relayed transaction; an account already paid up to its leaf is
        skipped on chain (pays 0), so the same batch sent twice pays nothing twice. A bad proof reverts the whole
        batch (`errors.InvalidProof`), as does a paused distributor (`errors.EnforcedPause`).

        `before_broadcast(tx_hash, raw)` sees the signed transaction before it leaves (to record the batch)."""
        call = self.contract.functions.claimMany(*claim_many_args(proofs))
        return self._write(call, "relayer", before_broadcast)

    # -- events -------------------------------------------------------------------------------

    def published_in(self, sent: Sent) -> EpochPublished:
        """The EpochPublished event of a mined publishEpoch."""
        (args,) = self._events_in(sent, "EpochPublished")
        return EpochPublished(
            int(args["epoch"]),
            hex32(args["root"]),
            hex32(args["commitment"]),
            int(args["total"]),
            int(args["finalisesAt"]),
            sent.tx_hash,
            sent.block_number,
        )

    def claims_in(self, sent: Sent) -> list[Claimed]:
        """The Claimed events of a mined claim or claimMany (accounts paid nothing have none)."""
        return [
            Claimed(str(args["account"]).lower(), int(args["amount"]), int(args["cumulativeAmount"]))
            for args in self._events_in(sent, "Claimed")
        ]

    def publications(self, epoch: int, *, from_block: int) -> list[EpochPublished]:
        """Every EpochPublished of `epoch` (one per publication: a vetoed number is published again)."""
        return [
            EpochPublished(
                int(log["args"]["epoch"]),
                hex32(log["args"]["root"]),
                hex32(log["args"]["commitment"]),
                int(log["args"]["total"]),
                int(log["args"]["finalisesAt"]),
                hex32(log["transactionHash"]),
                int(log["blockNumber"]),
            )
            for log in self._logs("EpochPublished", from_block=from_block, epoch=epoch)
        ]
