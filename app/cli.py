"""The operator's command line: `ledger up`, `ledger deploy`, and the jobs added by later parts."""

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
    import time

    from rich.console import Console

    from app import db
    from app.chain.gateway import ChainGateway
    from app.errors import LedgerError
    from app.services.epochs import EpochRunner

    settings = get_settings()
    db.migrate(settings)
    console = Console(soft_wrap=True)
    started = last = time.monotonic()
    with console.status("starting") as status:

        def progress(message: str) -> None:
            nonlocal last
            now = time.monotonic()
            console.log(f"{message}  [dim](+{now - last:.1f} s)[/dim]")
            status.update(message)
            last = now

        runner = EpochRunner(settings, db.get_engine(), ChainGateway(settings), progress=progress)
        try:
            outcome = runner.run(as_of.replace(tzinfo=UTC) if as_of else None)
        except LedgerError as exc:
            raise _fail(exc) from None
    e = outcome.epoch
    console.print(
        f"[bold]epoch {e.number}[/bold] {e.status}: {', '.join(outcome.steps)} in {time.monotonic() - started:.1f} s; "
        f"{e.accounts} accounts, total {e.total} units, root {e.root}, tx {e.tx_hash}"
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
    """Check consents, epoch roots, money and the mirror against the chain; exit 1 on any discrepancy."""
    from app import db
    from app.errors import LedgerError
    from app.services.audit import verify

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


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
