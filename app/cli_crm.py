"""`ledger crm …`: the CRM loop's operator jobs: date-window rules fire on `tick`; the brands' webhook outbox."""

from __future__ import annotations

from typing import Annotated

import typer

from app.config import get_settings

crm_cli = typer.Typer(help="The CRM loop: rules, triggers, deliveries and offers' channels.", no_args_is_help=True)


@crm_cli.command("webhooks")
def crm_webhooks(
    brand: Annotated[int | None, typer.Option("--brand", help="Only this brand's events (its id).", min=1)] = None,
) -> None:
    """One pass of the webhook outbox: every event due is sent (signed, retried with backoff)."""
    from app import db
    from app.services.channels_out import run_webhooks

    settings = get_settings()
    db.migrate(settings)
    done = run_webhooks(db.get_engine(), settings, brand_id=brand)
    typer.echo(f"webhooks: {len(done.delivered)} delivered, {len(done.retrying)} to retry, {len(done.failed)} failed")
    if done.failed:
        raise typer.Exit(1)


@crm_cli.command("tick")
def crm_tick() -> None:
    """Fire every date-window rule whose window holds now, once per customer of its audience; start the campaigns
    whose start has come and finish (evaluate, reveal) those past their end."""
    from app import db
    from app.chain.gateway import ChainGateway
    from app.services import triggers

    settings = get_settings()
    db.migrate(settings)
    fired = triggers.tick(settings, db.get_engine(), ChainGateway(settings))
    for f in fired:
        outcome = (
            f"error: {f.error}"
            if f.error
            else f"{f.delivered} delivered, {f.already} already, {f.not_covered} not covered, cost {f.cost}"
        )
        typer.echo(f"rule {f.rule_id} ({f.source}): {outcome}")
    typer.echo(f"{len(fired)} date-window rule(s) fired")
    from sqlmodel import Session

    from app.services import campaigns

    with Session(db.get_engine()) as session:
        moved = campaigns.tick(session, settings, ChainGateway(settings))
    for cid in moved.started:
        typer.echo(f"campaign {cid}: started (members and arms fixed, test arm delivered)")
    for cid in moved.revealed:
        typer.echo(f"campaign {cid}: evaluated, salt and results hash revealed on chain")
    for cid, why in moved.failed.items():
        typer.echo(f"campaign {cid}: error: {why}")
    if any(f.error for f in fired) or moved.failed:
        raise typer.Exit(1)
