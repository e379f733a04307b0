"""The auditor's verifier: runs every check against one block of the chain and the store, and writes the report."""

from __future__ import annotations

import traceback
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from app import clock, db
from app.analytics.rules import ProgrammeRules, default_rules, rules_hash
from app.audit.chain import ChainEvent, ChainGateway, ChainReader, checksum, connect
from app.audit.checks.confirmations import check_confirmations
from app.audit.checks.consent import check_consents
from app.audit.checks.epoch_root import check_epoch_roots
from app.audit.checks.mirror import check_mirror
from app.audit.checks.money import check_money
from app.audit.checks.proofs import check_proof_files
from app.audit.report import OK, REPORT_VERSION, CheckResult, reports_dir, write_report
from app.config import Settings


class Verifier:
    """Runs the checks against one block of the chain and the store; returns the JSON report."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        gateway: ChainGateway,
        *,
        rules: ProgrammeRules | None = None,
    ):
        self.settings = settings
        self.engine = engine
        self.gateway = gateway
        self.rules = rules or default_rules()

    def check_epochs(self, result: CheckResult, events: list[ChainEvent]) -> dict[str, int]:
        """The epoch_root check alone (the watcher's verdict on a pending root); returns the latest cumulatives."""
        return check_epoch_roots(
            result,
            events,
            settings=self.settings,
            engine=self.engine,
            rules=self.rules,
            deployment_block=self.gateway.deployment.block,
        )

    def run(self) -> dict[str, Any]:
        chain = ChainReader(self.gateway)
        head = chain.head()
        events = chain.events(head)
        d = chain.deployment
        vault = chain.vault(block=head)
        latest: dict[str, int] = {}
        checks = [
            self._guarded(
                "consent",
                "Every recorded access was covered by consent at its block",
                lambda c: check_consents(c, events, chain.block_time),
            ),
            self._guarded(
                "epoch_root",
                "Every epoch root reproduces from its committed records and the rules",
                lambda c: latest.update(self.check_epochs(c, events)),
            ),
            self._guarded(
                "proofs",
                "Every stored proof reaches its epoch's on-chain root; the tree files hold the committed leaves",
                lambda c: check_proof_files(c, self.settings, self.engine, events),
            ),
            self._guarded(
                "money",
                "Money balances: budgets, published totals, token supply, claims",
                lambda c: check_money(c, chain, events, head, vault, latest),
            ),
            self._guarded(
                "mirror",
                "The mirror tables equal a fresh re-index of the chain",
                lambda c: check_mirror(c, self.settings, self.engine, chain),
            ),
            self._guarded(
                "confirmations",
                "Every consent change the store holds as in force is confirmed by the chain",
                lambda c: check_confirmations(c, self.engine, events, head),
            ),
        ]
        counts: dict[str, int] = defaultdict(int)
        for e in events:
            counts[e.name] += 1
        return {
            "version": REPORT_VERSION,
            "generated_at": clock.rfc3339(clock.utcnow()),
            "ok": all(c.status == OK for c in checks),
            "chain": {
                "chain_id": chain.chain_id,
                "audited_block": head,
                "deployment_block": d.block,
                "token": d.token,
                "registry": d.registry,
                "distributor": d.distributor,
                "vault": checksum(vault),
                "events": dict(sorted(counts.items())),
            },
            "rules_hash": rules_hash(self.rules),
            "discrepancies": sum(len(c.discrepancies) for c in checks),
            "checks": [c.to_dict() for c in checks],
        }

    def _guarded(self, name: str, title: str, body: Callable[[CheckResult], None]) -> CheckResult:
        # A check that cannot finish is a failed check with its reason, never a missing one.
        result = CheckResult(name, title)
        try:
            body(result)
        except Exception as exc:  # noqa: BLE001 - reported, not swallowed
            message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            result.fail(
                {"check": name},
                "the check completes",
                "it stopped",
                f"could not complete: {message} ({traceback.format_exc(limit=3).splitlines()[-1]})",
            )
        return result


def verify(
    settings: Settings,
    *,
    engine: Engine | None = None,
    gateway: ChainGateway | None = None,
    out: Path | None = None,
) -> tuple[dict[str, Any], Path]:
    """Runs the verifier and writes `<timestamp>.json` and `.html` under `out` (default data/audit)."""
    own_engine = engine is None
    engine = engine or db.make_engine(settings.sqlalchemy_url)
    try:
        report = Verifier(settings, engine, gateway or connect(settings)).run()
    finally:
        if own_engine:
            engine.dispose()
    return report, write_report(report, out or reports_dir(settings))
