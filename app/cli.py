"""The operator's command line: `ledger up`, `ledger deploy`, and the jobs added by later parts."""

from __future__ import annotations

import typer

from app.config import get_settings

cli = typer.Typer(help="Loyalty and data-consent ledger: operator commands.", no_args_is_help=True)


@cli.command()
def up() -> None:
    """Run the local stack: anvil (state in data/), contracts deployed once, then wait."""
    from app import localstack

    localstack.run(get_settings())


@cli.command()
def deploy() -> None:
    """Deploy the contracts to RPC_URL if this chain does not have them yet, and print addresses."""
    from app import localstack

    settings = get_settings()
    chain = localstack.bring_up_chain(settings.model_copy(update={"start_anvil": False}))
    localstack.print_deployment(chain, settings)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
