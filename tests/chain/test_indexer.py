"""The indexer on a real anvil: mirror equals chain, rebuild identical, restarts resume, wrong chains stop."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, select
from web3 import Web3
from web3.contract import Contract

from app import db
from app.chain.anvil import start_anvil, stop_anvil
from app.chain.deployment import ensure_deployed
from app.chain.indexer import ChainReorganized, Indexer, catch_up, decode_epoch, mirror_dump
from app.chain.transactions import Sender
from app.config import Settings
from app.errors import ChainMismatch
from app.models.mirror import (
    IndexerCursor,
    MirrorAccess,
    MirrorBrand,
    MirrorBudgetEvent,
    MirrorClaim,
    MirrorConsent,
    MirrorConsentEvent,
    MirrorEpoch,
    MirrorEpochDebit,
    MirrorEpochOutcome,
    MirrorSkippedAccess,
    MirrorTransfer,
)
from tests.conftest import free_port
from tests.factories import (
    ANALYTICS,
    BIG,
    INTERESTS,
    MARKETING,
    Contracts,
    contracts_of,
    run_scenario,
)

pytestmark = pytest.mark.chain


# -- helpers shared with tests/api/test_ledger.py ---------------------------------------------------


def assert_mirror_matches_chain(engine: Engine, c: Contracts) -> None:
    """Every mirror table against the contracts' own views."""
    with Session(engine) as s:
        consents = s.exec(select(MirrorConsent)).all()
        assert consents
        for row in consents:
            on_chain = c.registry.functions.consentOf(row.customer, row.brand, row.purpose).call()
            categories, granted_at, expires_at, price, receipt, notice = on_chain
            assert (row.categories, row.granted_at, row.expires_at, row.price) == (
                categories,
                granted_at,
                expires_at,
                price,
            )
            assert (row.receipt_hash, row.notice_hash) == ("0x" + receipt.hex(), "0x" + notice.hex())
            assert row.status == ("active" if categories else "revoked")
            if categories:
                assert c.registry.functions.covers(row.customer, row.brand, row.purpose, row.categories).call()

        for brand in s.exec(select(MirrorBrand)).all():
            assert brand.registered == c.registry.functions.isBrand(brand.brand).call()

        epochs = s.exec(select(MirrorEpoch).order_by(MirrorEpoch.epoch)).all()
        assert epochs
        assert epochs[-1].epoch == c.distributor.functions.claimableEpoch().call()
        assert epochs[-1].root == "0x" + c.distributor.functions.claimableRoot().call().hex()
        assert sum(e.total for e in epochs) == c.distributor.functions.totalAllocated().call()
        finalized = s.exec(select(MirrorEpochOutcome).where(MirrorEpochOutcome.kind == "finalized")).all()
        assert [(o.epoch, o.root, o.total) for o in finalized] == [(e.epoch, e.root, e.total) for e in epochs]
        debits = s.exec(select(MirrorEpochDebit)).all()
        assert sum(d.amount for d in debits) == sum(e.total for e in epochs)

        claims = s.exec(select(MirrorClaim)).all()
        assert claims
        if has_function(c.distributor, "totalClaimed"):
            assert sum(cl.amount for cl in claims) == c.distributor.functions.totalClaimed().call()
        for cl in claims:
            assert max(x.cumulative_amount for x in claims if x.account == cl.account) == (
                c.distributor.functions.claimed(cl.account).call()
            )

        budgets: dict[str, int] = {}
        reserved: dict[str, int] = {}
        sign = {"funded": 1, "deposited": 1, "withdrawn": -1, "returned": -1}
        for b in s.exec(select(MirrorBudgetEvent).order_by(MirrorBudgetEvent.block_number)).all():
            budgets[b.brand] = budgets.get(b.brand, 0) + sign.get(b.kind, 0) * b.amount
            if b.reserved is not None:
                reserved[b.brand] = b.reserved
        for d in debits:
            budgets[d.brand] -= d.amount
            reserved[d.brand] = reserved.get(d.brand, 0) - (d.from_reserve or 0)
        for brand_address, left in budgets.items():
            assert left == c.distributor.functions.budgetOf(brand_address).call()
            assert reserved.get(brand_address, 0) == c.distributor.functions.reservedOf(brand_address).call()

        balances: dict[str, int] = {}
        for t in s.exec(select(MirrorTransfer)).all():
            balances[t.from_address] = balances.get(t.from_address, 0) - t.amount
            balances[t.to_address] = balances.get(t.to_address, 0) + t.amount
        minted = -balances.pop("0x0000000000000000000000000000000000000000")
        assert minted == c.token.functions.totalSupply().call()
        for holder, balance in balances.items():
            assert balance == c.token.functions.balanceOf(holder).call(), holder


def has_function(contract: Contract, name: str) -> bool:
    return any(i.get("type") == "function" and i["name"] == name for i in contract.abi)


def count(engine: Engine, model) -> int:
    with Session(engine) as s:
        return int(s.exec(select(func.count()).select_from(model)).one())


# -- fixtures ---------------------------------------------------------------------------------------


@pytest.fixture()
def engine(settings: Settings) -> Iterator[Engine]:
    db.migrate(settings)
    engine = db.make_engine(settings.sqlalchemy_url)
    yield engine
    engine.dispose()


@pytest.fixture()
def chain(w3: Web3, settings: Settings) -> Contracts:
    return contracts_of(w3, settings)


# -- tests ------------------------------------------------------------------------------------------


def test_mirror_matches_chain_after_the_whole_lifecycle(w3, settings, engine, chain, operator, relayer, dev_accounts):
    run_scenario(w3, chain, operator, relayer, dev_accounts)
    report = catch_up(settings, engine=engine)
    assert report.to_block == w3.eth.block_number
    assert report.events > 0
    assert_mirror_matches_chain(engine, chain)

    alice, bob, carol, brand = dev_accounts[0], dev_accounts[1], dev_accounts[2], dev_accounts[5]
    with Session(engine) as s:
        kinds = [e.kind for e in s.exec(select(MirrorConsentEvent).order_by(MirrorConsentEvent.block_number)).all()]
        assert kinds == ["granted", "granted", "granted", "narrowed", "revoked"]
        carol_now = s.get(MirrorConsent, (carol.address, brand.address, ANALYTICS))
        assert carol_now.categories == INTERESTS and carol_now.price == 2**96 - 1
        assert s.get(MirrorConsent, (bob.address, brand.address, MARKETING)).status == "revoked"
        accesses = s.exec(select(MirrorAccess).order_by(MirrorAccess.block_number, MirrorAccess.position)).all()
        assert [(a.customer, a.price, a.request_id) for a in accesses] == [
            (alice.address, 250 * 10**18, "0x" + "01" * 32),
            (bob.address, 7, "0x" + "01" * 32),
        ]
        assert accesses[0].batch_total == 250 * 10**18 + 7
        skipped = s.exec(select(MirrorSkippedAccess)).all()
        assert [(k.customer, k.reason, k.request_id) for k in skipped] == [
            (carol.address, 3, "0x" + "02" * 32)
        ]  # OverAllowance
        kinds = [b.kind for b in s.exec(select(MirrorBudgetEvent).order_by(MirrorBudgetEvent.block_number))]
        assert kinds == ["funded", "withdrawn", "reserved", "withdrawn"]
        assert {b.brand: b.registered for b in s.exec(select(MirrorBrand)).all()} == {
            brand.address: True,
            dev_accounts[6].address: False,
        }
        big = s.exec(select(MirrorTransfer).where(MirrorTransfer.to_address == dev_accounts[7].address)).one()
        assert big.amount == BIG
        cursor = s.get(IndexerCursor, 1)
        assert cursor.last_block_hash == "0x" + w3.eth.get_block(cursor.last_block)["hash"].hex()
        assert cursor.genesis_hash == chain.deployment.genesis_hash.lower()


def test_rebuild_produces_identical_rows(w3, settings, engine, chain, operator, relayer, dev_accounts):
    run_scenario(w3, chain, operator, relayer, dev_accounts)
    indexer = Indexer(settings, engine=engine, chunk_blocks=4)  # many chunks
    indexer.catch_up()
    with Session(engine) as s:
        before = mirror_dump(s)
        cursor_before = s.get(IndexerCursor, 1).last_block
    assert all(before[t] for t in ("mirror_consents", "mirror_accesses", "mirror_epochs", "mirror_transfers"))

    indexer.rebuild()
    with Session(engine) as s:
        assert mirror_dump(s) == before
        assert s.get(IndexerCursor, 1).last_block == cursor_before

    # Chunk size does not change the result either.
    Indexer(settings, engine=engine, chunk_blocks=CHUNK_ALL).rebuild()
    with Session(engine) as s:
        assert mirror_dump(s) == before


CHUNK_ALL = 100_000


def test_restart_resumes_without_duplicates(w3, settings, engine, chain, operator, relayer, dev_accounts):
    ops = Sender(w3, operator)
    brand = dev_accounts[5]
    ops.send(chain.registry.functions.registerBrand(brand.address))
    first = catch_up(settings, engine=engine)
    assert first.events >= 1
    assert catch_up(settings, engine=engine).events == 0  # nothing new: nothing applied twice
    consents_after_first = count(engine, MirrorConsentEvent)

    # More transactions while the indexer is "down"; a new process (new engine) resumes at the cursor.
    run_scenario(w3, chain, operator, relayer, dev_accounts, register=False)
    restarted = db.make_engine(settings.sqlalchemy_url)
    try:
        second = catch_up(settings, engine=restarted)
        assert second.from_block == first.to_block + 1
        assert count(restarted, MirrorConsentEvent) == consents_after_first + 5
        assert_mirror_matches_chain(restarted, chain)
    finally:
        restarted.dispose()

    with Session(engine) as s:
        resumed = mirror_dump(s)
    Indexer(settings, engine=engine).rebuild()
    with Session(engine) as s:
        assert mirror_dump(s) == resumed


def test_confirmations_keep_the_indexer_behind_the_head(w3, settings, engine, chain, operator, dev_accounts):
    Sender(w3, operator).send(chain.registry.functions.registerBrand(dev_accounts[5].address))
    for _ in range(3):
        w3.provider.make_request("evm_mine", [])
    behind = settings.model_copy(update={"confirmations": 2})
    report = catch_up(behind, engine=engine)
    assert report.to_block == w3.eth.block_number - 2
    status = Indexer(behind, engine=engine).status()
    assert status.indexed_block == report.to_block
    assert status.lag == 2 and status.confirmations == 2


def test_decode_epoch_reads_debit_structs() -> None:
    brand = Web3.to_checksum_address("0x" + "ab" * 20)
    args = {"epoch": 3, "root": b"\x01" * 32, "commitment": b"\x02" * 32, "total": 5}
    as_tuples = decode_epoch({**args, "debits": [(brand, 2, 3)]})
    as_dicts = decode_epoch({**args, "debits": [{"brand": brand, "fromReserve": 2, "fromBudget": 3}]})
    assert as_tuples == as_dicts == (3, "0x" + "01" * 32, "0x" + "02" * 32, 5, [(brand, 5)])


# -- another chain at the same URL, and reorgs ---------------------------------------------------------


@pytest.fixture()
def other_anvil() -> Iterator[tuple[str, Web3]]:
    """A second anvil with another genesis (its own genesis timestamp), same chain id."""
    port = free_port()
    process = start_anvil(port, extra=["--timestamp", "1000"])
    try:
        url = f"http://127.0.0.1:{port}"
        yield url, Web3(Web3.HTTPProvider(url))
    finally:
        stop_anvil(process)


def test_another_chain_at_the_url_is_refused(
    w3, settings, engine, chain, operator, relayer, role_keys, dev_accounts, other_anvil
):
    Sender(w3, operator).send(chain.registry.functions.registerBrand(dev_accounts[5].address))
    catch_up(settings, engine=engine)
    url, other = other_anvil
    ensure_deployed(other, role_keys, settings.deployments_dir, challenge_window=5)
    moved = settings.model_copy(update={"rpc_url": url})
    before = count(engine, MirrorBrand)

    with pytest.raises(ChainMismatch) as refused:
        catch_up(moved, engine=engine)
    message = refused.value.message
    assert chain.deployment.genesis_hash.lower() in message
    assert ("0x" + other.eth.get_block(0)["hash"].hex()) in message
    assert chain.deployment.block_hash.lower() in message
    assert "ledger index --rebuild" in message and "DATA_DIR" in message
    assert count(engine, MirrorBrand) == before  # nothing of the other chain was mixed in

    # The way out: rebuild against the chain now served.
    Indexer(moved, engine=engine).rebuild()
    with Session(engine) as s:
        assert s.get(IndexerCursor, 1).genesis_hash == "0x" + other.eth.get_block(0)["hash"].hex()
        assert s.exec(select(MirrorBrand)).all() == []


def test_anvil_restarted_on_the_same_port(tmp_path, settings, engine, operator, relayer, role_keys, dev_accounts):
    """Same state file: the mirror carries on (anvil's regenerated genesis is no reason to stop).
    A fresh anvil on that port: ChainMismatch."""
    port = free_port()
    state = tmp_path / "anvil" / "state.json"
    url = f"http://127.0.0.1:{port}"
    local = settings.model_copy(update={"rpc_url": url, "data_dir": tmp_path / "restart"})
    process = start_anvil(port, state_file=state)
    try:
        other = Web3(Web3.HTTPProvider(url))
        ensure_deployed(other, role_keys, local.deployments_dir, challenge_window=5)
        c = contracts_of(other, local)
        Sender(other, operator).send(c.registry.functions.registerBrand(dev_accounts[5].address))
        catch_up(local, engine=engine)
    finally:
        stop_anvil(process)

    process = start_anvil(port, state_file=state)
    try:
        Sender(other, operator).send(c.registry.functions.registerBrand(dev_accounts[6].address))
        catch_up(local, engine=engine)
        assert count(engine, MirrorBrand) == 2
    finally:
        stop_anvil(process)

    process = start_anvil(port, extra=["--timestamp", "1000"])  # a new chain, no state
    try:
        with pytest.raises(ChainMismatch) as refused:
            catch_up(local, engine=engine)
        assert "ledger index --rebuild" in refused.value.message
    finally:
        stop_anvil(process)


def test_reorg_below_the_cursor_stops_the_indexer(
    settings, engine, operator, relayer, role_keys, dev_accounts, other_anvil
):
    url, other = other_anvil
    local = settings.model_copy(update={"rpc_url": url, "data_dir": settings.data_dir / "other"})
    ensure_deployed(other, role_keys, local.deployments_dir, challenge_window=5)
    c = contracts_of(other, local)
    ops = Sender(other, operator)
    snapshot = other.provider.make_request("evm_snapshot", [])["result"]
    ops.send(c.registry.functions.registerBrand(dev_accounts[5].address))
    catch_up(local, engine=engine)

    # The chain drops the block the mirror applied and grows a different one in its place.
    other.provider.make_request("evm_revert", [snapshot])
    ops2 = Sender(other, operator)
    ops2.send(c.registry.functions.registerBrand(dev_accounts[6].address))
    other.provider.make_request("evm_mine", [])
    with pytest.raises(ChainReorganized) as refused:
        catch_up(local, engine=engine)
    assert "ledger index --rebuild" in refused.value.message

    Indexer(local, engine=engine).rebuild()
    with Session(engine) as s:
        assert [b.brand for b in s.exec(select(MirrorBrand)).all()] == [dev_accounts[6].address]


def test_follow_picks_up_new_blocks_until_stopped(w3, settings, engine, chain, operator, dev_accounts):
    indexer = Indexer(settings, engine=engine)
    stop = threading.Event()
    follower = threading.Thread(target=indexer.follow, args=(stop,), kwargs={"poll_seconds": 0.05})
    follower.start()
    try:
        Sender(w3, operator).send(chain.registry.functions.registerBrand(dev_accounts[5].address))
        deadline = time.monotonic() + 10
        while count(engine, MirrorBrand) == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert count(engine, MirrorBrand) == 1
    finally:
        stop.set()
        follower.join(5)
    assert not follower.is_alive()


def test_cli_index_once_and_rebuild(w3, settings, engine, chain, operator, dev_accounts, monkeypatch):
    from typer.testing import CliRunner

    from app.cli import cli
    from app.config import get_settings

    Sender(w3, operator).send(chain.registry.functions.registerBrand(dev_accounts[5].address))
    for name, value in {
        "ENVIRONMENT": "test",
        "DATA_DIR": str(settings.data_dir),
        "RPC_URL": settings.rpc_url,
        "START_ANVIL": "false",
        "DATABASE_URL": settings.sqlalchemy_url,
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        once = runner.invoke(cli, ["index", "--once"])
        assert once.exit_code == 0, once.output
        assert f"indexed to block {w3.eth.block_number}" in once.output
        with Session(engine) as s:
            before = mirror_dump(s)
        assert before["mirror_brands"]
        rebuilt = runner.invoke(cli, ["index", "--once", "--rebuild"])
        assert rebuilt.exit_code == 0, rebuilt.output
        with Session(engine) as s:
            assert mirror_dump(s) == before
    finally:
        get_settings.cache_clear()
