"""The auditor's watcher: re-derives each pending epoch root within its challenge window, vetoes a bad one.

Roots are optimistic (docs/contracts.md): a published root pays claims only once its challenge window
is over, and until then the auditor key may veto it. `ledger audit watch` runs this loop: for the
pending epoch it runs the independent epoch check of app/audit/ (the same re-derivation
from the chain's events and the records the epoch commits to that `ledger audit verify` runs), and if
that epoch does not reproduce bit for bit — no manifest behind it, another commitment, another root,
total or debits — it sends `vetoEpoch` with the auditor key and the debits as published. The budgets
and reserves go back, and the operator publishes that epoch number again (app/services/epochs.py
recomputes a vetoed epoch of its own). A check that cannot complete (the store unreachable, say) is
no verdict: nothing is vetoed, and the next round tries again while the window lasts.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine

from app.analytics.rules import ProgrammeRules
from app.audit import ChainReader, CheckResult, Verifier
from app.chain.gateway import ChainGateway
from app.chain.indexer import decode_debits
from app.config import Settings
from app.errors import ChainRefused, ChainUnavailable
from app.services.signatures import chain_time

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Verdict:
    """What the watcher concluded about one pending root."""

    epoch: int
    root: str
    finalises_at: datetime
    reproduced: bool | None  # None: the check could not complete (no verdict)
    vetoed_in: str | None = None  # the veto's transaction
    evidence: list[str] = field(default_factory=list)

    def describe(self) -> str:
        when = f"window until {self.finalises_at:%Y-%m-%d %H:%M:%S}Z"
        if self.vetoed_in:
            return f"epoch {self.epoch} root {self.root} VETOED ({when}) in {self.vetoed_in}: " + "; ".join(
                self.evidence
            )
        if self.reproduced:
            return f"epoch {self.epoch} root {self.root} reproduces ({when}): it pays after the window"
        if self.reproduced is False:
            return f"epoch {self.epoch} root {self.root} does not reproduce but could not be vetoed: " + "; ".join(
                self.evidence
            )
        return f"epoch {self.epoch} root {self.root}: the check could not complete, retrying: " + "; ".join(
            self.evidence
        )


class Watcher:
    """Judges the pending root once per call of `check_once`; `follow` polls until stopped."""

    def __init__(
        self, settings: Settings, engine: Engine, gateway: ChainGateway, *, rules: ProgrammeRules | None = None
    ):
        self.settings = settings
        self.engine = engine
        self.gateway = gateway
        self.rules = rules
        self._judged: dict[tuple[int, str], Verdict] = {}

    def check_once(self) -> Verdict | None:
        """The verdict on the pending root (None when no root is pending or its window is over)."""
        distributor = self.gateway.distributor
        number, root_bytes, finalises_at, _total, _debits_hash = self.gateway.call(distributor.functions.pendingEpoch())
        number = int(number)
        if number == 0 or chain_time(self.gateway) >= int(finalises_at):
            return None
        root = "0x" + bytes(root_bytes).hex()
        known = self._judged.get((number, root))
        if known is not None and known.reproduced is not None:
            return known
        reader = ChainReader(self.gateway)
        # The whole chain up to its head, not the confirmed head: the pending root is in the latest blocks.
        events = reader.events(int(self.gateway.guard(lambda: self.gateway.w3.eth.block_number)))
        verifier = Verifier(self.settings, self.engine, self.gateway, rules=self.rules)
        result = CheckResult("epoch_root", "The pending epoch root reproduces")
        try:
            verifier.check_epochs(result, events)
        except Exception as exc:  # noqa: BLE001 - no verdict, reported, tried again
            verdict = Verdict(number, root, _utc(finalises_at), None, evidence=[f"{type(exc).__name__}: {exc}"])
            self._judged[(number, root)] = verdict
            return verdict
        wrong = [d.evidence for d in result.discrepancies if d.epoch == number]
        if not wrong:
            verdict = Verdict(number, root, _utc(finalises_at), True)
        else:
            verdict = self._veto(number, root, _utc(finalises_at), events, wrong)
        self._judged[(number, root)] = verdict
        return verdict

    def _veto(self, number: int, root: str, finalises_at: datetime, events: list, wrong: list[str]) -> Verdict:
        published = [
            e
            for e in events
            if e.name == "EpochPublished"
            and int(e.args["epoch"]) == number
            and "0x" + bytes(e.args["root"]).hex() == root
        ]
        debits = decode_debits(published[-1].args)
        try:
            sent = self.gateway.send(self.gateway.distributor.functions.vetoEpoch(number, debits), role="auditor")
        except ChainRefused as refused:
            return Verdict(number, root, finalises_at, False, evidence=[*wrong, f"veto refused: {refused.message}"])
        log.warning("vetoed epoch %d root %s: %s", number, root, "; ".join(wrong))
        return Verdict(number, root, finalises_at, False, vetoed_in=sent.tx_hash, evidence=wrong)

    def follow(
        self,
        stop: threading.Event | None = None,
        *,
        poll_seconds: float = 2.0,
        on_verdict: Callable[[Verdict], None] | None = None,
    ) -> None:
        """Judges every pending root as it appears, until `stop` is set; waits out an unreachable chain."""
        stop = stop or threading.Event()
        reported: set[tuple[int, str, bool | None]] = set()
        while not stop.is_set():
            try:
                verdict = self.check_once()
            except ChainUnavailable as exc:
                log.warning("watcher waiting for the chain: %s", exc.message)
            else:
                if verdict is not None and on_verdict is not None:
                    key = (verdict.epoch, verdict.root, verdict.reproduced)
                    if key not in reported:
                        reported.add(key)
                        on_verdict(verdict)
            stop.wait(poll_seconds)


def _utc(seconds: int) -> datetime:
    return datetime.fromtimestamp(int(seconds), UTC)
