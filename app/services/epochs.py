"""Epoch settlement: grade customers, compute rewards, commit, publish one root, store proofs; resumable.

Each step is recorded in the `epochs` row before the next starts (open → computed → published →
done), and every step can be re-run: computing is deterministic and replaces its own rows,
publishing first asks the chain whether this epoch is already there, proofs are rebuilt from the
stored rewards. So a crash at any point resumes without paying twice or losing anything, and an
epoch can never be published twice (the contract also refuses an out-of-order epoch number).

What an epoch covers (docs/epochs.md):
- purchases ingested up to `max_purchase_id` and made up to `as_of`, not covered by an earlier
  epoch (a late-ingested old purchase is paid in the next epoch), at the cashback rate of the tier
  the customer earned at the previous epoch (the last tier when not graded yet);
- accesses recorded on chain in blocks `from_block`..`to_block`, at the price in the consent;
  money is integers: cashback = floor(won * bps * cash_units_per_won / 10,000).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
from sqlalchemy import Engine, delete
from sqlmodel import Session, col, select

from app import clock
from app.analytics import behaviour, rewards
from app.analytics.rfm import cut_points_sql, net_of_refunds_sql, rfm_sql, utc_naive
from app.analytics.rules import ProgrammeRules, canonical_json, default_rules, rules_hash
from app.analytics.store import analytics
from app.chain.addresses import keccak256
from app.chain.distributor import Debit
from app.chain.gateway import ChainGateway
from app.chain.indexer import catch_up
from app.chain.proofs import TreeFiles, write_tree
from app.clock import utcnow
from app.config import Settings
from app.errors import ChainRefused, Conflict, InvalidInput
from app.faults import FAULT_ENV, fault_point  # noqa: F401 - FAULT_ENV: the fault tests import it from here
from app.models.epochs import (
    BehaviourChange,
    Epoch,
    EpochCarry,
    EpochCutPoint,
    EpochDebit,
    EpochReward,
    EpochScore,
    EpochShortfall,
    EpochStatus,
)
from app.models.mirror import IndexerCursor
from app.models.offer_payouts import EpochOfferLine, EpochOfferReward
from app.models.upkeep import EpochUpkeepLine
from app.services import epoch_brand_rates, epoch_lifecycle, epoch_offers, epoch_upkeep, reward_trees, triggers, voids

Progress = Callable[[str], None]

# Progress messages a run from opening to stored proofs emits (a progress bar's length; pinned by a test).
FULL_RUN_STEPS = 11

# Crash points for the fault test (tests/jobs/test_epoch_faults.py): the job SIGKILLs itself there.
_fault_point = fault_point


@dataclass(frozen=True)
class Shortfall:
    """A brand whose unreserved budget could not pay its purchase cashback: all of it is carried."""

    brand: str  # lower-case address
    owed: int
    available: int

    def manifest(self) -> dict[str, str]:
        return {
            "brand": self.brand,
            "owed": str(self.owed),
            "available": str(self.available),
            "carried": str(self.owed),
        }


@dataclass(frozen=True)
class EpochOutcome:
    """What a run did: the epoch it worked on and the steps it carried out."""

    epoch: Epoch
    steps: list[str]


class EpochRunner:
    """Runs (or resumes) one epoch against the store and the chain."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        gateway: ChainGateway,
        *,
        rules: ProgrammeRules | None = None,
        progress: Progress | None = None,
    ):
        self.settings = settings
        self.engine = engine
        self.gateway = gateway
        self.rules = rules or default_rules()
        self.progress = progress or (lambda _msg: None)

    # -- entry point ------------------------------------------------------------------------

    def run(self, as_of: datetime | None) -> EpochOutcome:
        """Finishes an unfinished epoch if there is one, else opens one ending at `as_of` and runs it."""
        steps: list[str] = []
        self._reopen_vetoed()
        epoch = self._unfinished()
        if epoch is None:
            if as_of is None:
                raise InvalidInput("no unfinished epoch to resume: give the as-of time of the new epoch")
            epoch = self._open(as_of)
            steps.append("opened")
        elif as_of is not None and utc_naive(as_of) != utc_naive(epoch.as_of):
            steps.append(f"resumed epoch {epoch.number} (as of {epoch.as_of:%Y-%m-%d %H:%M}); --as-of ignored")
        if epoch.status == EpochStatus.OPEN:
            epoch = self._compute(epoch)
            steps.append("computed")
        if epoch.status == EpochStatus.COMPUTED:
            epoch = self._publish(epoch)
            steps.append("published")
        if epoch.status == EpochStatus.PUBLISHED:
            epoch = self._store_proofs(epoch)
            steps.append("proofs stored")
            triggers.after_epoch(self.settings, self.engine, self.gateway, epoch.number)  # behaviour rules fire
        return EpochOutcome(epoch, steps)

    def _session(self) -> Session:
        # Epoch rows outlive their session (they are passed from step to step).
        return Session(self.engine, expire_on_commit=False)

    # -- step 1: open -----------------------------------------------------------------------

    def _unfinished(self) -> Epoch | None:
        with self._session() as session:
            return session.exec(
                select(Epoch).where(Epoch.status != EpochStatus.DONE).order_by(Epoch.number)  # type: ignore[arg-type]
            ).first()

    def _open(self, as_of: datetime) -> Epoch:
        as_of = as_of.astimezone(UTC) if as_of.tzinfo else as_of.replace(tzinfo=UTC)
        if as_of > utcnow():
            raise InvalidInput(f"the as-of time {as_of:%Y-%m-%d %H:%M:%S}Z lies in the future")
        self.progress("indexing the chain up to its confirmed head")
        catch_up(self.settings, engine=self.engine, gateway=self.gateway)
        with self._session() as session:
            previous = session.exec(select(Epoch).order_by(Epoch.number.desc())).first()  # type: ignore[attr-defined]
            if previous is not None and as_of <= previous.as_of.replace(tzinfo=UTC):
                raise InvalidInput(
                    f"the as-of time must be after the previous epoch's ({previous.as_of:%Y-%m-%d %H:%M:%S}Z)"
                )
            cursor = session.get(IndexerCursor, 1)
            if cursor is None:
                raise Conflict("the indexer has not read the chain yet; run `ledger index --once`")
            max_purchase_id = session.exec(select(_max_purchase_id())).one() or 0
            number = (previous.number + 1) if previous else 1
            epoch = Epoch(
                number=number,
                status=EpochStatus.OPEN,
                as_of=as_of,
                period_start=previous.as_of if previous else None,
                max_purchase_id=max(max_purchase_id, previous.max_purchase_id if previous else 0),
                from_block=(previous.to_block + 1) if previous else cursor.deployment_block,
                to_block=cursor.last_block,
                scheme=self.rules.epochs.scheme,
                rules_hash=rules_hash(self.rules),
            )
            session.add(epoch)
            session.commit()
            session.refresh(epoch)
            return epoch

    # -- step 2: compute --------------------------------------------------------------------

    def _compute(self, epoch: Epoch) -> Epoch:
        n = epoch.number
        with self._session() as session:
            previous = session.get(Epoch, n - 1)
            for model in (
                EpochScore,
                EpochCutPoint,
                BehaviourChange,
                EpochReward,
                EpochDebit,
                EpochShortfall,
                EpochCarry,
                EpochOfferLine,
                EpochOfferReward,
                EpochUpkeepLine,
            ):
                session.execute(delete(model).where(col(model.epoch) == n))
            session.commit()
        with analytics(self.settings) as con:
            self.progress(f"epoch {n}: reading the purchases it may use")
            max_void_id = voids.latest_void_id(con)
            max_refund_id = epoch_lifecycle.latest_refund_id(con)
            rewards.load_purchases(
                con,
                max_purchase_id=epoch.max_purchase_id,
                as_of=epoch.as_of,
                not_voided=voids.not_voided_sql(max_void_id),
            )
            self.progress(f"epoch {n}: RFM scores ({epoch.scheme}) as of {epoch.as_of:%Y-%m-%d %H:%M}")
            self._score(con, epoch, max_refund_id)
            self.progress(f"epoch {n}: storing scores and cut points")
            self._store_scores(con, epoch)
            self.progress(f"epoch {n}: rewards and brand debits")
            rewards.cover(con, (previous.max_purchase_id, previous.as_of) if previous else None)
            epoch_offers.compute(con, epoch, scale=self.rules.epochs.cash_units_per_won // 10_000)
            # Paid profile upkeep (app/services/epoch_upkeep.py): the programme funder's lines, beside the offers'.
            funder = self.settings.upkeep_funder
            upkeep_cut = epoch_upkeep.compute(con, epoch, previous, rules=self.rules.upkeep, funder=funder)
            con.execute(
                "CREATE OR REPLACE TEMP VIEW reward_bonuses AS "
                "SELECT account, brand, pc FROM offer_paid UNION ALL SELECT account, brand, pc FROM upkeep_paid"
            )
            epoch_brand_rates.compute(con, epoch, self.rules)  # brands' own rates on top of the tier's
            shortfalls = self._rewards(con, epoch)
            debits = rewards.debits(con)
            # Each part travels as a uint96 (Debit{fromReserve, fromBudget}): refuse what cannot, by brand.
            voids.check_settleable([(brand, max(ae, pc)) for brand, ae, pc in debits])
            self.progress(f"epoch {n}: storing rewards and debits")
            rewards.store_rewards(con, n)
            epoch_offers.store(con, epoch)
            offers_manifest = epoch_offers.manifest(con)
            epoch_upkeep.store(con, epoch)
            upkeep_manifest = epoch_upkeep.manifest(con, funder=funder, max_event_id=upkeep_cut)
            con.execute("DROP VIEW reward_bonuses")
            epoch_offers.drop(con)
            epoch_upkeep.drop(con)
            epoch_brand_rates.store(con, epoch)
            brand_rates_manifest = epoch_brand_rates.manifest(con, scale=self.rules.epochs.cash_units_per_won // 10_000)
            epoch_brand_rates.drop(con)
            self.progress(f"epoch {n}: commitment to the records")
            purchases_hash = rewards.purchases_hash(con)
            voids_hash = voids.voids_hash(con, max_void_id)
            refunds_hash = epoch_lifecycle.refunds_hash(con, max_refund_id)
            con.execute("DROP TABLE covered; DROP TABLE cashback; DROP TABLE access_lines; DROP TABLE pc_lines")
            self.progress(f"epoch {n}: behaviour changes")
            self._behaviour(con, epoch, previous)
            con.execute("DROP TABLE scores; DROP TABLE p")
            self.progress(f"epoch {n}: Merkle tree over cumulative amounts")
            leaves = rewards.leaves(con)
        tree = write_tree(self._epoch_dir(n), reward_trees.leaves_for(self.settings, n, leaves), final=False)
        # The rules themselves beside their hash, so this epoch stays auditable after the rules change.
        (self._epoch_dir(n) / "rules.json").write_text(canonical_json(self.rules))
        total = sum(ae + pc for _, ae, pc in debits)
        manifest = {
            "epoch": n,
            "as_of": clock.rfc3339(epoch.as_of),
            "period_start": clock.rfc3339(epoch.period_start) if epoch.period_start else None,
            "max_purchase_id": epoch.max_purchase_id,
            "previous_max_purchase_id": previous.max_purchase_id if previous else 0,
            "from_block": epoch.from_block,
            "to_block": epoch.to_block,
            "scheme": epoch.scheme,
            "rules_hash": epoch.rules_hash,
            "purchases_hash": purchases_hash,
            "max_void_id": max_void_id,
            "voids_hash": voids_hash,
            "max_refund_id": max_refund_id,  # refunds the scores are net of (app/services/epoch_lifecycle.py)
            "refunds_hash": refunds_hash,
            "accounts": len(leaves),
            "total": str(total),
            "debits": [
                {"brand": brand, "amount": str(ae + pc), "from_reserve": str(ae), "from_budget": str(pc)}
                for brand, ae, pc in debits
            ],
            # Brands whose unreserved budget could not pay their purchase cashback: carried to the next epoch.
            "shortfalls": [s.manifest() for s in shortfalls],
            "offers": offers_manifest,  # monetary offers' lines (app/services/epoch_offers.py)
            "upkeep": upkeep_manifest,  # paid profile upkeep's lines (app/services/epoch_upkeep.py)
            "brand_rates": brand_rates_manifest,  # brands' earning rules used (app/services/epoch_brand_rates.py)
        }
        canonical = json.dumps(manifest, sort_keys=True, separators=(",", ":"))
        with self._session() as session:
            row = session.get(Epoch, n)
            assert row is not None
            row.manifest = canonical
            row.commitment = "0x" + keccak256(canonical).hex()
            row.root = "0x" + tree.root.hex()
            row.total = total
            row.accounts = len(leaves)
            row.status = EpochStatus.COMPUTED
            row.computed_at = utcnow()
            session.add(row)
            session.commit()
            session.refresh(row)
            return row

    def _score(self, con: duckdb.DuckDBPyConnection, epoch: Epoch, max_refund_id: int) -> None:
        scheme = epoch.scheme
        refunds = epoch_lifecycle.applied_refunds_sql(max_refund_id)
        con.execute(f"CREATE OR REPLACE TEMP TABLE p_net AS {net_of_refunds_sql('p', refunds, as_of=epoch.as_of)}")
        sql = rfm_sql(
            "p_net",
            as_of=epoch.as_of,
            window_days=self.rules.window_days(scheme),  # type: ignore[arg-type]
            rules=self.rules,
            scheme=scheme,  # type: ignore[arg-type]
        )
        con.execute(f"CREATE OR REPLACE TEMP TABLE scores AS {sql}")
        con.execute("DROP TABLE p_net")

    def _store_scores(self, con: duckdb.DuckDBPyConnection, epoch: Epoch) -> None:
        con.execute(
            "INSERT INTO store.epoch_scores SELECT ?, customer_id, recency_days, frequency, monetary_total, "
            "monetary_avg, r, f, m, segment, tier, cashback_bps FROM scores ORDER BY customer_id",
            [epoch.number],
        )
        con.execute(
            "INSERT INTO store.epoch_cut_points SELECT ?, measure, score, lower_bound, upper_bound, customers "
            f"FROM ({cut_points_sql('scores', rules=self.rules, scheme=epoch.scheme)})",  # type: ignore[arg-type]
            [epoch.number],
        )

    def _behaviour(self, con: duckdb.DuckDBPyConnection, epoch: Epoch, previous: Epoch | None) -> None:
        """Change events against the previous epoch, computed and stored without leaving DuckDB."""
        if previous is None:
            # The first epoch is the baseline: with nothing before it, every customer would be "new"
            # and would "cross" every threshold they are above, which tells nothing.
            return
        con.execute(f"CREATE OR REPLACE TEMP TABLE current_epoch AS {rewards.CURRENT_FRAME_SQL}")
        purchases = rewards.covered_by(previous.max_purchase_id, previous.as_of)
        frame = rewards.previous_frame_sql(previous.number, purchases)
        con.execute(f"CREATE OR REPLACE TEMP TABLE previous_epoch AS {frame}")
        sql = behaviour.changes_sql(self.rules, epoch.scheme)  # type: ignore[arg-type]
        con.execute(
            f"""INSERT INTO store.behaviour_changes
            SELECT {epoch.number}, customer_id, event, coalesce(CAST(threshold AS VARCHAR), ''), previous, current
            FROM ({sql}) ORDER BY customer_id, event, threshold"""
        )
        con.execute("DROP TABLE current_epoch; DROP TABLE previous_epoch")

    def _rewards(self, con: duckdb.DuckDBPyConnection, epoch: Epoch) -> list[Shortfall]:
        """Earnings per account and brand and every account's new cumulative (app/analytics/rewards.py).

        A brand short of budget never stops the epoch (issue 9 item 13): its recorded accesses are paid
        from the reserve they took when recorded; if its unreserved budget cannot pay its purchase
        cashback (this epoch's plus what an earlier epoch carried), none of that cashback is paid now:
        each account's line is carried and owed again in the next epoch, and the others are settled as
        usual. Returns the short brands.
        """
        owed = rewards.earnings(
            con,
            epoch=epoch.number,
            from_block=epoch.from_block,
            to_block=epoch.to_block,
            rules=self.rules,
            # Monetary offers' lines (epoch_offers.compute) and profile upkeep's (epoch_upkeep.compute), paid as
            # purchase cashback of the offer's brand and of the upkeep funder.
            bonuses="reward_bonuses",
            extras="brand_extra",  # brands' own extra bps per purchase (epoch_brand_rates.compute)
        )
        # Owed beyond what one epoch's debit can carry is bad data, not a short budget: no funding could ever
        # pay it, so carrying it would hold that brand's customers forever. Stop and name it (void the rows).
        voids.check_settleable(owed)
        shortfalls = self._shortfalls(owed)
        rewards.settle(con, epoch=epoch.number, short=[(s.brand, s.available) for s in shortfalls])
        return shortfalls

    def _shortfalls(self, owed: list[tuple[str, int]]) -> list[Shortfall]:
        """Brands whose unreserved budget (RewardDistributor.availableOf, now) is below their purchase cashback."""
        distributor = self.gateway.distributor
        short = []
        for brand, amount in owed:
            available = distributor.available_of(brand)
            if available < amount:
                short.append(Shortfall(brand, amount, available))
        return short

    # -- step 3: publish --------------------------------------------------------------------

    def _publish(self, epoch: Epoch) -> Epoch:
        distributor = self.gateway.distributor
        on_chain = distributor.latest_epoch()
        if on_chain >= epoch.number:
            # Sent before a crash: take the chain's record, never send twice.
            tx_hash, block, root, commitment, finalises_at = self._find_published(epoch.number)
            if root != epoch.root or commitment != epoch.commitment:
                raise Conflict(
                    f"epoch {epoch.number} on chain has root {root} / commitment {commitment}, not the "
                    f"computed {epoch.root} / {epoch.commitment}: refusing to continue"
                )
            self.progress(f"epoch {epoch.number}: already on chain (tx {tx_hash}), recording it")
        elif on_chain == epoch.number - 1:
            assert epoch.root is not None and epoch.commitment is not None, "only a computed epoch is published"
            debits = published_debits(epoch)
            self.progress(f"epoch {epoch.number}: publishing the root ({len(debits)} brand debits)")
            try:
                sent = distributor.publish_epoch(epoch.number, epoch.root, epoch.commitment, debits)
            except ChainRefused as refused:
                raise self._refusal(epoch, refused) from refused
            _fault_point("publish_sent")
            tx_hash, block, finalises_at = sent.tx_hash, sent.block_number, distributor.published_in(sent).finalises_at
        else:
            raise Conflict(f"the chain is at epoch {on_chain}; epoch {epoch.number} cannot follow it")
        with self._session() as session:
            row = session.get(Epoch, epoch.number)
            assert row is not None
            row.tx_hash, row.block_number = tx_hash, block
            row.finalises_at = datetime.fromtimestamp(finalises_at, UTC)
            row.status = EpochStatus.PUBLISHED
            row.published_at = utcnow()
            session.add(row)
            session.commit()
            session.refresh(row)
        _fault_point("publish_recorded")
        return row

    def _refusal(self, epoch: Epoch, refused: ChainRefused) -> Exception:
        """What a refused publication means for the operator."""
        errors = self.gateway.distributor.errors
        if isinstance(refused, errors.EpochPending):
            args = refused.args_
            moment = datetime.fromtimestamp(int(args["finalisesAt"]), UTC)
            return Conflict(
                f"epoch {args['epoch']} is still in its challenge window until {moment:%Y-%m-%d %H:%M:%S}Z; "
                f"epoch {epoch.number} can be published after it (run again then)",
                refusal=refused.detail,
            )
        if isinstance(refused, errors.InsufficientBudget | errors.InsufficientReserve):
            # A brand withdrew (or a reserve was released) since the epoch was computed: compute it again.
            with self._session() as session:
                row = session.get(Epoch, epoch.number)
                assert row is not None
                row.status = EpochStatus.OPEN
                session.add(row)
                session.commit()
            return Conflict(
                f"a brand's budget changed since epoch {epoch.number} was computed ({refused.message}); it was "
                "reopened: run again to compute and publish it with the current budgets",
                refusal=refused.detail,
            )
        return refused

    def _find_published(self, number: int) -> tuple[str, int, str, str, int]:
        found = self.gateway.distributor.publications(number, from_block=self.gateway.deployment.block)
        if not found:
            raise Conflict(f"the chain reports epoch {number} but no EpochPublished event for it was found")
        last = found[-1]  # an epoch number vetoed before is published again: the latest counts
        return last.tx_hash, last.block, last.root, last.commitment, last.finalises_at

    def _reopen_vetoed(self) -> None:
        """An epoch whose root the auditor vetoed is computed and published again (same number)."""
        with self._session() as session:
            latest = session.exec(
                select(Epoch)
                .where(col(Epoch.status).in_([EpochStatus.PUBLISHED, EpochStatus.DONE]))
                .order_by(col(Epoch.number).desc())
            ).first()
            if latest is None:
                return
            on_chain = self.gateway.distributor.latest_epoch()
            if on_chain >= latest.number:
                return
            latest.status = EpochStatus.OPEN
            latest.vetoes += 1
            latest.tx_hash = latest.block_number = latest.finalises_at = None
            session.add(latest)
            session.commit()
        self.progress(f"epoch {latest.number}: its root was vetoed by the auditor; computing it again")

    # -- step 4: proofs ---------------------------------------------------------------------

    def _store_proofs(self, epoch: Epoch) -> Epoch:
        n = epoch.number
        directory = self._epoch_dir(n)
        files = TreeFiles(directory)
        if not files.is_final(epoch.root or ""):
            self.progress(f"epoch {n}: storing proofs")
            if not files.finalize(epoch.root or ""):
                reward_trees.rebuild(self.settings, n, epoch.root)
        with self._session() as session:
            row = session.get(Epoch, n)
            assert row is not None
            row.status = EpochStatus.DONE
            row.completed_at = utcnow()
            session.add(row)
            session.commit()
            session.refresh(row)
            return row

    def _epoch_dir(self, number: int) -> Path:
        return self.settings.data_dir / "epochs" / str(number)


# -- SQL and helpers -----------------------------------------------------------------------------


def published_debits(epoch: Epoch) -> list[Debit]:
    """The epoch's IRewardDistributor.Debit entries (brand, fromReserve, fromBudget) from its manifest."""
    manifest = json.loads(epoch.manifest or "{}")
    return [Debit(d["brand"], int(d["from_reserve"]), int(d["from_budget"])) for d in manifest["debits"]]


def _max_purchase_id():  # type: ignore[no-untyped-def]
    from sqlalchemy import func

    from app.models.purchases import Purchase

    return func.max(Purchase.id)
