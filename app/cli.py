"""The operator's command line: `ledger up`, `ledger deploy`, and the jobs added by later parts."""

from __future__ import annotations

from typing import Annotated

import typer

from app.config import get_settings

cli = typer.Typer(help="Loyalty and data-consent ledger: operator commands.", no_args_is_help=True)


@cli.command()
def up(
    api: Annotated[bool, typer.Option(help="Also serve the API (off: only the chain).")] = True,
) -> None:
    """Run the local stack on 127.0.0.1: anvil (state in data/), contracts deployed once, the API."""
    from app import localstack

    localstack.run(get_settings(), with_api=api)


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


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
