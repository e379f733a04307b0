"""Typed client of CampaignRegistry: commit and reveal, the on-chain record, its events, its errors as exceptions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_abi import encode
from eth_utils import keccak
from web3 import Web3
from web3.contract import Contract

from app.chain.gateway import ChainGateway
from app.chain.keys import Role
from app.chain.transactions import Sent
from app.errors import ChainRefused

LOG_CHUNK_BLOCKS = 10_000  # blocks per eth_getLogs call: under every public node's range limit


# -- the contract's custom errors, one exception each (ICampaignRegistry.sol) --------------------------------


class CampaignRegistryRefused(ChainRefused):
    """CampaignRegistry refused a commit or a reveal; `detail` carries the error's arguments."""


class CampaignExists(CampaignRegistryRefused):
    """A commitment under this campaign id is already on chain."""


class CampaignNotFound(CampaignRegistryRefused):
    """No commitment under this campaign id (or, for inHoldout, not revealed yet)."""


class TooLateToCommit(CampaignRegistryRefused):
    """The chain's clock is at or past the start: the holdout can no longer be committed in advance."""


class InvalidWindow(CampaignRegistryRefused):
    """The end is not after the start."""


class InvalidHoldout(CampaignRegistryRefused):
    """The holdout share is outside (0, 5000] basis points."""


class TooEarlyToReveal(CampaignRegistryRefused):
    """The campaign has not ended on the chain's clock."""


class CommitmentMismatch(CampaignRegistryRefused):
    """The parameters hash and salt do not open the commitment."""


class AlreadyRevealed(CampaignRegistryRefused):
    """The salt of this campaign is already revealed."""


class NotBrandOrOperator(CampaignRegistryRefused):
    """The sender is neither the campaign's brand nor holds OPERATOR_ROLE."""


class ZeroValue(CampaignRegistryRefused):
    """A zero address or hash where one is needed."""


ERRORS: dict[str, type[CampaignRegistryRefused]] = {
    cls.__name__: cls
    for cls in (
        CampaignExists,
        CampaignNotFound,
        TooLateToCommit,
        InvalidWindow,
        InvalidHoldout,
        TooEarlyToReveal,
        CommitmentMismatch,
        AlreadyRevealed,
        NotBrandOrOperator,
        ZeroValue,
    )
}
"""Every custom error of the ABI by name (a test holds this table equal to the ABI's errors)."""


# -- records and events ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OnChainCampaign:
    """CampaignRegistry.campaignOf: what the chain holds for one campaign id (hashes as 0x-hex)."""

    brand: str
    holdout_bps: int
    starts_at: int
    ends_at: int
    committed_at: int
    revealed_at: int  # 0 until revealed
    commitment: str
    params_hash: str
    salt: str
    results_hash: str

    @property
    def revealed(self) -> bool:
        return self.revealed_at != 0


@dataclass(frozen=True)
class CampaignCommitted:
    campaign_key: str
    brand: str
    commitment: str
    holdout_bps: int
    starts_at: int
    ends_at: int
    block: int
    log_index: int
    tx_hash: str


@dataclass(frozen=True)
class CampaignRevealed:
    campaign_key: str
    params_hash: str
    salt: str
    results_hash: str
    block: int
    log_index: int
    tx_hash: str


CampaignEvent = CampaignCommitted | CampaignRevealed


def commitment_of(params_hash: bytes, salt: bytes) -> bytes:
    """keccak256(abi.encode(paramsHash, salt)), as the contract computes it."""
    return keccak(encode(["bytes32", "bytes32"], [params_hash, salt]))


def _hex(value: bytes) -> str:
    return "0x" + bytes(value).hex()


def _b32(value: str | bytes) -> bytes:
    raw = bytes.fromhex(value.removeprefix("0x")) if isinstance(value, str) else bytes(value)
    if len(raw) != 32:
        raise ValueError(f"not 32 bytes: {value!r}")
    return raw


class CampaignRegistryClient:
    """Domain verbs over CampaignRegistry, through the gateway (guarded reads, role keys, decoded reverts)."""

    def __init__(self, gateway: ChainGateway):
        self.gateway = gateway

    @property
    def contract(self) -> Contract:
        return self.gateway.contract("CampaignRegistry")

    @property
    def address(self) -> str:
        return self.gateway.deployment.campaigns

    def _send(self, call: Any, role: Role) -> Sent:
        try:
            return self.gateway.send(call, role=role)
        except ChainRefused as refused:
            kind = ERRORS.get(str(refused.detail.get("error")))
            if kind is None:
                raise
            raise kind(refused.message, **refused.detail) from refused

    def commit(
        self,
        campaign_key: str | bytes,
        brand: str,
        commitment: str | bytes,
        holdout_bps: int,
        starts_at: int,
        ends_at: int,
        *,
        role: Role = "operator",
    ) -> Sent:
        """Publishes the commitment before the start (refused at or after it)."""
        return self._send(
            self.contract.functions.commit(
                _b32(campaign_key),
                Web3.to_checksum_address(brand),
                _b32(commitment),
                holdout_bps,
                starts_at,
                ends_at,
            ),
            role,
        )

    def reveal(
        self,
        campaign_key: str | bytes,
        params_hash: str | bytes,
        salt: str | bytes,
        results_hash: str | bytes,
        *,
        role: Role = "operator",
    ) -> Sent:
        """Opens the commitment after the end, fixing the results' hash."""
        return self._send(
            self.contract.functions.reveal(_b32(campaign_key), _b32(params_hash), _b32(salt), _b32(results_hash)),
            role,
        )

    def campaign(self, campaign_key: str | bytes, *, block: int | None = None) -> OnChainCampaign | None:
        """The on-chain record of a campaign id, or None when nothing is committed under it."""
        found = self.gateway.call(
            self.contract.functions.campaignOf(_b32(campaign_key)), block if block is not None else "latest"
        )
        brand, holdout, starts, ends, committed, revealed, commitment, params, salt, results = found
        if int(brand, 16) == 0:
            return None
        return OnChainCampaign(
            brand=Web3.to_checksum_address(brand),
            holdout_bps=int(holdout),
            starts_at=int(starts),
            ends_at=int(ends),
            committed_at=int(committed),
            revealed_at=int(revealed),
            commitment=_hex(commitment),
            params_hash=_hex(params),
            salt=_hex(salt),
            results_hash=_hex(results),
        )

    def bucket_of(self, salt: str | bytes, customer: str) -> int:
        """The contract's own bucketOf (the reference for experiments.assignment_bucket)."""
        return int(self.gateway.call(self.contract.functions.bucketOf(_b32(salt), Web3.to_checksum_address(customer))))

    def events(self, from_block: int | None = None, to_block: int | None = None) -> list[CampaignEvent]:
        """Every CampaignCommitted and CampaignRevealed in the range (default: deployment block to head)."""
        contract = self.contract
        w3 = self.gateway.w3
        first = self.gateway.deployment.block if from_block is None else from_block
        last = self.gateway.head if to_block is None else to_block
        decoders = {
            bytes(Web3.keccak(text="CampaignCommitted(bytes32,address,bytes32,uint16,uint40,uint40)")): (
                contract.events.CampaignCommitted()
            ),
            bytes(Web3.keccak(text="CampaignRevealed(bytes32,bytes32,bytes32,bytes32)")): (
                contract.events.CampaignRevealed()
            ),
        }
        logs: list[Any] = []
        for start in range(first, last + 1, LOG_CHUNK_BLOCKS):
            query = {
                "fromBlock": start,
                "toBlock": min(start + LOG_CHUNK_BLOCKS - 1, last),
                "address": contract.address,
            }
            logs.extend(self.gateway.guard(lambda q=query: w3.eth.get_logs(q)))  # type: ignore[misc]
        out: list[CampaignEvent] = []
        for entry in sorted(logs, key=lambda e: (int(e["blockNumber"]), int(e["logIndex"]))):
            decoder = decoders.get(bytes(entry["topics"][0])) if entry["topics"] else None
            if decoder is None:
                continue
            args = decoder.process_log(entry)["args"]
            block, log_index = int(entry["blockNumber"]), int(entry["logIndex"])
            tx_hash = Web3.to_hex(entry["transactionHash"]).lower()
            if "brand" in args:
                out.append(
                    CampaignCommitted(
                        campaign_key=_hex(args["campaignId"]),
                        brand=Web3.to_checksum_address(args["brand"]),
                        commitment=_hex(args["commitment"]),
                        holdout_bps=int(args["holdoutBps"]),
                        starts_at=int(args["startsAt"]),
                        ends_at=int(args["endsAt"]),
                        block=block,
                        log_index=log_index,
                        tx_hash=tx_hash,
                    )
                )
            else:
                out.append(
                    CampaignRevealed(
                        campaign_key=_hex(args["campaignId"]),
                        params_hash=_hex(args["paramsHash"]),
                        salt=_hex(args["salt"]),
                        results_hash=_hex(args["resultsHash"]),
                        block=block,
                        log_index=log_index,
                        tx_hash=tx_hash,
                    )
                )
        return out

    def block_time(self, number: int) -> int:
        return int(self.gateway.guard(lambda: self.gateway.w3.eth.get_block(number))["timestamp"])
