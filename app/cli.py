"""The operator's `ledger` command: local stack, deployment, indexing, maintenance, epochs, audits, voids, reports."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from app.config import get_settings

cli = typer.Typer(help="Loyalty and data-consent ledger: operator commands.", no_args_is_help=True)


@cli.command()
def up(
    api: Annotated[bool, typer.Option(help="Also serve the API (off: only the chain).")] = True,
    demo: Annotated[bool, typer.Option(help="Seed demo brands, customers, consents and a settled epoch.")] = False,
) -> None:
    """Run the local stack on 127.0.0.1: anvil (state in data/), contracts deployed once, API and pages."""
    from app import localstack

    localstack.run(get_settings(), with_api=api, demo=demo)


@cli.command()
def deploy() -> None:
    """Deploy the contracts to RPC_URL if this chain does not have them yet, and print addresses."""
    from app import localstack

    settings = get_settings()
    chain = localstack.bring_up_chain(settings.model_copy(update={"start_anvil": False}))
    localstack.print_deployment(chain, settings)


@cli.command()
def index(
    once: Annotated[bool, typer.Option("--once", help="Catch up with the chain and exit.")] = False,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Re-index from the deployment block.")] = False,
) -> None:
    """Index chain events into the mirror tables: catch up, then follow the chain (Ctrl-C stops)."""
    from app import db
    from app.chain.indexer import Indexer
    from app.errors import LedgerError

    settings = get_settings()
    db.migrate(settings)
    indexer = Indexer(settings)
    show = lambda r: typer.echo(f"indexed to block {r.to_block} (head {r.head}): {r.events} events")  # noqa: E731
    try:
        show(indexer.rebuild() if rebuild else indexer.catch_up())
        if not once:
            indexer.follow(on_report=show)
    except LedgerError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        pass
    finally:
        indexer.close()


@cli.command()
def maintain() -> None:
    """Once, now: purge expired sign-in nonces and abandoned consent requests, reconcile relayed consents
    with the chain (resend what a restart or reorg lost, or mark it failed) and run the automatic claims
    (`ledger claims relay`). `ledger up` does this on a schedule;
    run this one while the API is stopped (both relay from the same key)."""
    from app import db
    from app.chain.gateway import ChainGateway
    from app.services.maintenance import run_once

    settings = get_settings()
    db.migrate(settings)
    engine = db.make_engine(settings.sqlalchemy_url)
    try:
        report = run_once(engine, settings, ChainGateway(settings))
    finally:
        engine.dispose()
    p = report.purged
    typer.echo(
        f"purged: {p.nonces} sign-in nonces, {p.sessions} ended sessions, {p.pending_changes} unsigned consent "
        f"requests, {p.pending_receipts} pending receipts"
    )
    for r in report.reconciled:
        typer.echo(f"consent change {r.change_id} ({r.action}): {r.outcome} {r.detail}".rstrip())
    if report.claims is not None:
        sent = report.claims.sent
        typer.echo(f"automatic claims: {len(sent)} batches, {sum(b.paid for b in sent)} paid")
    if report.claims_error:
        typer.echo(f"error: automatic claims could not run: {report.claims_error}", err=True)
    if report.error:
        typer.echo(f"error: reconciliation could not run: {report.error}", err=True)
        raise typer.Exit(2)


claims_cli = typer.Typer(help="Automatic claims for the customers who opted in.", no_args_is_help=True)
cli.add_typer(claims_cli, name="claims")


@claims_cli.command("relay")
def claims_relay(
    batch_size: Annotated[
        int | None, typer.Option(min=1, max=500, help="Accounts per claimMany (default CLAIM_BATCH_SIZE).")
    ] = None,
) -> None:
    """Once, now: claim for every opted-in account still owed under the latest finalised epoch, in claimMany
    batches, after resolving any batch a killed run left behind. `ledger up` runs it every maintenance round;
    run this one while the API is stopped (both relay from the same key)."""
    from sqlmodel import Session

    from app import db
    from app.chain.gateway import ChainGateway
    from app.errors import LedgerError
    from app.services.auto_claims import relay

    settings = get_settings()
    db.migrate(settings)
    engine = db.make_engine(settings.sqlalchemy_url)
    try:
        with Session(engine) as session:
            report = relay(session, settings, ChainGateway(settings), batch_size=batch_size)
    except LedgerError as exc:
        raise _fail(exc) from None
    finally:
        engine.dispose()
    for b in report.reconciled:
        detail = f" ({b.detail})" if b.detail else ""
        typer.echo(f"batch {b.batch_id} of epoch {b.epoch} ({b.accounts} accounts, {b.tx_hash}): {b.status}{detail}")
    if report.epoch is None:
        typer.echo("no finalised epoch with stored proofs: nothing to claim")
        return
    for b in report.sent:
        per = f", {b.gas_used // b.accounts} gas per account" if b.gas_used else ""
        typer.echo(f"batch {b.batch_id}: {b.accounts} accounts, {b.paid} paid, {b.status} in {b.tx_hash}{per}")
    typer.echo(
        f"epoch {report.epoch}: {len(report.sent)} batches sent, {report.nothing_owed} opted-in accounts owed nothing"
    )
    if report.paused:
        typer.echo("the distributor is paused: the remaining claims wait until it is unpaused", err=True)
        raise typer.Exit(2)


epoch_cli = typer.Typer(help="Epoch settlement: score, reward, publish one root, store proofs.", no_args_is_help=True)
cli.add_typer(epoch_cli, name="epoch")


def _fail(exc: Exception) -> typer.Exit:
    typer.echo(f"error: {getattr(exc, 'message', exc)}", err=True)
    return typer.Exit(1)


@epoch_cli.command("run")
def epoch_run(
    as_of: Annotated[
        datetime | None,
        typer.Option(
            "--as-of",
            help="End of the new epoch's period (UTC, e.g. 2026-11-01T00:00:00). Required unless an "
            "unfinished epoch is resumed.",
            formats=["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"],
        ),
    ] = None,
) -> None:
    """Run the next epoch (or finish an interrupted one): scores, rewards, root on chain, proofs."""
    import json
    import time

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from app import db
    from app.chain.gateway import ChainGateway
    from app.errors import LedgerError
    from app.services.epochs import FULL_RUN_STEPS, EpochRunner

    settings = get_settings()
    db.migrate(settings)
    console = Console(soft_wrap=True)
    started = time.monotonic()
    marks: list[tuple[str, float]] = []
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as bar:
        task = bar.add_task("starting", total=FULL_RUN_STEPS)

        def progress(message: str) -> None:
            if marks:
                bar.advance(task)
            marks.append((message, time.monotonic()))
            bar.update(task, description=message)

        runner = EpochRunner(settings, db.get_engine(), ChainGateway(settings), progress=progress)
        try:
            outcome = runner.run(as_of.replace(tzinfo=UTC) if as_of else None)
        except LedgerError as exc:
            raise _fail(exc) from None
        bar.update(task, completed=FULL_RUN_STEPS, description="done")
    ends = [t for _, t in marks[1:]] + [time.monotonic()]
    for (message, begin), end in zip(marks, ends, strict=True):
        console.print(f"  {end - begin:6.2f} s  {message}")
    e = outcome.epoch
    console.print(
        f"[bold]epoch {e.number}[/bold] {e.status}: {', '.join(outcome.steps)} in {time.monotonic() - started:.1f} s; "
        f"{e.accounts} accounts, total {e.total} units, root {e.root}, tx {e.tx_hash}"
    )
    if e.finalises_at is not None:
        console.print(f"  claimable from {e.finalises_at:%Y-%m-%d %H:%M:%S}Z unless the auditor vetoes the root")
    for short in json.loads(e.manifest or "{}").get("shortfalls", []):
        console.print(
            f"  [yellow]short[/yellow] brand {short['brand']}: purchase cashback {short['owed']} > unreserved budget "
            f"{short['available']}; {short['carried']} carried to the next epoch, the others settled"
        )


audit_cli = typer.Typer(
    help="Auditors: re-derive the ledger from the chain and the committed records.", no_args_is_help=True
)
cli.add_typer(audit_cli, name="audit")


@audit_cli.command("verify")
def audit_verify(
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder for the JSON and HTML report (default: DATA_DIR/audit).")
    ] = None,
) -> None:
    """Check consents, epoch roots, stored proofs, money and the mirror against the chain; exit 1 on a discrepancy."""
    from app import db
    from app.audit import verify
    from app.errors import LedgerError

    settings = get_settings()
    db.migrate(settings)
    try:
        report, path = verify(settings, out=out)
    except LedgerError as exc:  # could not run at all (chain down, another chain): not a verdict
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from None
    for check in report["checks"]:
        typer.echo(f"{check['status']:>6}  {check['check']}: {check['summary']}")
        for d in check["discrepancies"]:
            epoch = f"epoch {d['epoch']}: " if "epoch" in d else ""
            typer.echo(f"        - {epoch}{d['evidence']}")
    typer.echo(f"report: {path} and {path.with_suffix('.html')}")
    if not report["ok"]:
        raise typer.Exit(1)


@audit_cli.command("watch")
def audit_watch(
    once: Annotated[bool, typer.Option("--once", help="Judge the pending root once and exit.")] = False,
    poll: Annotated[float, typer.Option("--poll", help="Seconds between looks at the chain.")] = 2.0,
) -> None:
    """Follow published epoch roots; re-derive each pending one within its challenge window and veto it
    with the auditor key (AUDITOR_KEY) if it does not reproduce. Ctrl-C stops."""
    from app import db
    from app.chain.gateway import ChainGateway
    from app.errors import LedgerError
    from app.services.watcher import Watcher

    settings = get_settings()
    db.migrate(settings)
    watcher = Watcher(settings, db.get_engine(), ChainGateway(settings))
    show = lambda verdict: typer.echo(verdict.describe())  # noqa: E731
    try:
        if once:
            verdict = watcher.check_once()
            typer.echo(verdict.describe() if verdict else "no epoch root is pending")
            if verdict is not None and verdict.vetoed_in:
                raise typer.Exit(1)
            return
        typer.echo(f"watching epoch roots on {settings.rpc_url} (auditor {watcher.gateway.sender('auditor').address})")
        watcher.follow(poll_seconds=poll, on_verdict=show)
    except LedgerError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        pass


from app.cli_crm import crm_cli  # noqa: E402

cli.add_typer(crm_cli, name="crm")

purchases_cli = typer.Typer(help="Purchases: void an implausible one, with a reason.", no_args_is_help=True)
cli.add_typer(purchases_cli, name="purchases")


@purchases_cli.command("void")
def purchases_void(
    purchase_id: Annotated[int, typer.Argument(help="The purchase's id (as ingestion answered it).", min=1)],
    reason: Annotated[str, typer.Option("--reason", help="Why it is voided (kept with the void, audited).")],
) -> None:
    """Void a purchase: it earns nothing from the next epoch computed on; who, when and why are recorded."""
    import getpass

    from sqlmodel import Session

    from app import db
    from app.errors import LedgerError
    from app.services.voids import void_purchase

    settings = get_settings()
    db.migrate(settings)
    with Session(db.get_engine()) as session:
        try:
            void = void_purchase(session, purchase_id, reason=reason, voided_by=f"cli:{getpass.getuser()}")
        except LedgerError as exc:
            raise _fail(exc) from None
    typer.echo(f"purchase {void.purchase_id} voided (void {void.id}) by {void.voided_by}: {void.reason}")


upkeep_cli = typer.Typer(help="Paid upkeep of customers' profiles: the programme's budget.", no_args_is_help=True)
cli.add_typer(upkeep_cli, name="upkeep")


@upkeep_cli.command("fund")
def upkeep_fund(
    cash: Annotated[int, typer.Argument(help="Whole CASH to add to the upkeep budget.", min=1)],
    payment_ref: Annotated[str, typer.Option("--ref", help="The payment it stands for (hashed on chain).")],
) -> None:
    """Fund the budget paid profile upkeep is debited from (UPKEEP_FUNDER), registering it on chain first."""
    from app.chain.gateway import ChainGateway
    from app.errors import LedgerError
    from app.services import upkeep

    settings = get_settings()
    try:
        funding = upkeep.fund(settings, ChainGateway(settings), cash * 10**18, payment_ref)
    except LedgerError as exc:
        raise _fail(exc) from None
    if funding.registered:
        typer.echo(f"registered the upkeep funder {funding.funder} in the registry")
    typer.echo(f"funded {cash} CASH in {funding.tx_hash}; {funding.funder} now has {funding.available} units available")


brands_cli = typer.Typer(
    help="Brands that sign up themselves: applications, decisions, dev CASH.", no_args_is_help=True
)
cli.add_typer(brands_cli, name="brands")


@brands_cli.command("applications")
def brands_applications(
    pending: Annotated[bool, typer.Option("--pending", help="Only the applications awaiting a decision.")] = False,
) -> None:
    """List brand applications: id, status, name, wallet."""
    from sqlmodel import Session

    from app import db
    from app.models.brand_applications import ApplicationStatus
    from app.services import brand_applications

    with Session(db.get_engine()) as session:
        found = brand_applications.applications(session, ApplicationStatus.PENDING if pending else None)
        for a in found:
            typer.echo(f"{a.id}\t{a.status}\t{a.name}\t{a.address}" + (f"\t{a.reason}" if a.reason else ""))
        if not found:
            typer.echo("no brand applications")


@brands_cli.command("approve")
def brands_approve(application: Annotated[int, typer.Argument(help="The application's id.", min=1)]) -> None:
    """Approve an application: the brand is registered in the ConsentRegistry (operator) and recorded."""
    from sqlmodel import Session

    from app import db
    from app.chain.gateway import ChainGateway
    from app.errors import LedgerError
    from app.services import brand_applications

    with Session(db.get_engine()) as session:
        try:
            done = brand_applications.approve(session, ChainGateway(get_settings()), application)
        except LedgerError as exc:
            raise _fail(exc) from None
        typer.echo(f"approved: brand {done.brand_id} {done.name} ({done.address}); it collects its key in the console")


@brands_cli.command("refuse")
def brands_refuse(
    application: Annotated[int, typer.Argument(help="The application's id.", min=1)],
    reason: Annotated[str, typer.Option("--reason", help="Why, for the applicant to read.")],
) -> None:
    """Refuse an application, with a reason; nothing goes on chain."""
    from sqlmodel import Session

    from app import db
    from app.errors import LedgerError
    from app.services import brand_applications

    with Session(db.get_engine()) as session:
        try:
            done = brand_applications.refuse(session, application, reason)
        except LedgerError as exc:
            raise _fail(exc) from None
        typer.echo(f"refused: application {done.id} {done.name} ({done.address})")


@brands_cli.command("dev-cash")
def brands_dev_cash(
    address: Annotated[str, typer.Argument(help="The brand's wallet (0x...).")],
    cash: Annotated[int, typer.Argument(help="Whole CASH to mint to it.", min=1)],
) -> None:
    """Development (anvil only): mint CASH to a local brand wallet, and gas, to try the console's deposit."""
    from app.chain.gateway import ChainGateway
    from app.errors import LedgerError
    from app.services.dev_cash import give_dev_cash

    try:
        given = give_dev_cash(ChainGateway(get_settings()), address, cash * 10**18)
    except LedgerError as exc:
        raise _fail(exc) from None
    typer.echo(f"minted {cash} CASH to {given.address}; it holds {given.balance} units")


rfm_cli = typer.Typer(help="RFM reports.", no_args_is_help=True)
cli.add_typer(rfm_cli, name="rfm")
rewards_cli = typer.Typer(help="Customers' rewards.", no_args_is_help=True)
cli.add_typer(rewards_cli, name="rewards")


@rfm_cli.command("report")
def rfm_report(
    epoch: Annotated[int | None, typer.Option(help="Epoch to report (default: the latest scored).")] = None,
) -> None:
    """Segments, tiers and the cut points of an epoch's scoring run, as tables."""
    from rich.console import Console
    from rich.table import Table
    from sqlalchemy import func
    from sqlmodel import Session, col, select

    from app import db
    from app.models.epochs import EpochCutPoint, EpochScore

    settings = get_settings()
    db.migrate(settings)
    console = Console()
    with Session(db.get_engine()) as session:
        number = epoch or session.exec(select(func.max(EpochScore.epoch))).one()
        if number is None:
            raise _fail(ValueError("no epoch has been scored yet: run `ledger epoch run --as-of ...`"))
        for column, title in ((EpochScore.segment, "segment"), (EpochScore.tier, "tier")):
            table = Table(title=f"epoch {number}: customers by {title}")
            table.add_column(title)
            table.add_column("customers", justify="right")
            rows = session.exec(
                select(column, func.count())
                .where(EpochScore.epoch == number)
                .group_by(column)
                .order_by(func.count().desc())
            ).all()
            for value, count in rows:
                table.add_row(str(value), f"{count:,}")
            console.print(table)
        cuts = Table(title=f"epoch {number}: cut points (value range per score)")
        for name in ("measure", "score", "lower", "upper", "customers"):
            cuts.add_column(name, justify="right" if name != "measure" else "left")
        for c in session.exec(
            select(EpochCutPoint)
            .where(EpochCutPoint.epoch == number)
            .order_by(col(EpochCutPoint.measure), col(EpochCutPoint.score))
        ):
            cuts.add_row(c.measure, str(c.score), f"{c.lower_bound:,}", f"{c.upper_bound:,}", f"{c.customers:,}")
        console.print(cuts)


@rewards_cli.command("show")
def rewards_show(address: Annotated[str, typer.Argument(help="The customer's address (0x...).")]) -> None:
    """A customer's rewards by epoch and source, and what they can claim now."""
    from rich.console import Console
    from rich.table import Table
    from sqlmodel import Session

    from app import db
    from app.chain.gateway import ChainGateway
    from app.errors import LedgerError
    from app.services import wallet

    settings = get_settings()
    db.migrate(settings)
    console = Console()
    cash = lambda units: f"{units / 10**18:,.2f}"  # noqa: E731 - display only; amounts stay integers
    with Session(db.get_engine()) as session:
        table = Table(title=f"rewards of {address}")
        for name in ("epoch", "as of", "cashback", "data accesses", "earned", "cumulative"):
            table.add_column(name, justify="right")
        for e, r in wallet.rewards_by_epoch(session, address):
            table.add_row(
                str(e.number),
                f"{e.as_of:%Y-%m-%d}",
                cash(r.purchase_cashback),
                cash(r.access_earnings),
                cash(r.earned),
                cash(r.cumulative),
            )
        console.print(table)
        try:
            status = wallet.claim_status(session, settings, ChainGateway(settings), address)
        except LedgerError as exc:
            raise _fail(exc) from None
        console.print(
            f"claimed {cash(status.claimed)} CASH, claimable now {cash(status.claimable)} CASH (epoch {status.epoch})"
        )


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
