"""The embedded local stack: anvil with its state in data/, the contracts deployed once, the API."""

from __future__ import annotations

import contextlib
import signal
import threading
from dataclasses import dataclass
from subprocess import Popen

from rich.console import Console

from app.chain.anvil import rpc_alive, start_anvil, stop_anvil
from app.chain.deployment import Deployment, ensure_deployed_at
from app.chain.keys import RoleKeys
from app.config import Settings

console = Console(soft_wrap=True)


@dataclass
class LocalChain:
    """A chain the stack uses, and the anvil process it started (None if one was already running)."""

    deployment: Deployment
    created: bool
    anvil: Popen[bytes] | None


def bring_up_chain(settings: Settings) -> LocalChain:
    """Starts anvil if nothing answers at RPC_URL (local default only), then deploys if needed."""
    process = None
    if not rpc_alive(settings.rpc_url):
        if not settings.start_anvil:
            raise SystemExit(f"no chain answers at {settings.rpc_url} and START_ANVIL is off")
        console.print(f"starting anvil on 127.0.0.1:{settings.anvil_port} (state: {settings.anvil_state_file})")
        process = start_anvil(
            settings.anvil_port,
            state_file=settings.anvil_state_file,
            log_file=settings.data_dir / "anvil" / "anvil.log",
        )
    else:
        console.print(f"using the chain already answering at {settings.rpc_url}")
    deployment, created = ensure_deployed_at(
        settings.rpc_url,
        RoleKeys.from_settings(settings),
        settings.deployments_dir,
        challenge_window=settings.challenge_window_seconds,
    )
    return LocalChain(deployment, created, process)


def print_deployment(chain: LocalChain, settings: Settings) -> None:
    d = chain.deployment
    verb = "deployed" if chain.created else "reused (already deployed)"
    console.print(f"[bold]contracts {verb}[/bold] on chain {d.chain_id} at {settings.rpc_url}")
    console.print(f"  CashbackToken      {d.token}")
    console.print(f"  ConsentRegistry    {d.registry}")
    console.print(f"  RewardDistributor  {d.distributor}")
    console.print(f"  BudgetVault        {d.vault}")
    console.print(
        f"  admin {d.admin}  operator {d.operator}  relayer {d.relayer}  recorder {d.recorder}  auditor {d.auditor}  "
        f"pauser {d.pauser}; challenge window {d.challenge_window} s (kept in {settings.deployments_dir})"
    )


def run(settings: Settings, *, with_api: bool = True, demo: bool = False) -> None:
    """Brings the stack up and keeps it up until Ctrl-C / SIGTERM; anvil then saves its state."""
    chain = bring_up_chain(settings)
    print_deployment(chain, settings)
    try:
        if demo:
            _seed_demo(settings)
        if with_api:
            _serve_api(settings)
        else:
            _wait_for_signal()
    finally:
        if chain.anvil is not None:
            console.print("stopping anvil (saving state)")
            stop_anvil(chain.anvil)


def _seed_demo(settings: Settings) -> None:
    from app import db
    from app.demo import seed

    db.migrate(settings)
    credentials = seed(settings, console=console)
    if not credentials.seeded:
        console.print("demo data was seeded before; fresh credentials:")
    for name, key in credentials.brand_keys.items():
        console.print(f"  brand console key ({name}): {key}")
    console.print(f"  auditor token: {credentials.auditor_token}")
    console.print(
        f"  customer keys (import in the wallet's development wallet): {', '.join(credentials.customer_keys)}"
    )


def _serve_api(settings: Settings) -> None:
    import uvicorn

    from app import db
    from app.chain.indexer import Indexer
    from app.main import create_app
    from app.services import maintenance

    db.migrate(settings)
    # The indexer follows the chain beside the API, so the mirror tables stay current.
    stop_indexer = threading.Event()
    indexer = Indexer(settings)
    follower = threading.Thread(target=_follow, args=(indexer, stop_indexer), name="indexer", daemon=True)
    follower.start()
    base = f"http://{settings.api_host}:{settings.api_port}"
    console.print(f"[bold]API[/bold] {base}  (OpenAPI docs: {base}/docs; database: {settings.sqlalchemy_url})")
    console.print(
        f"[bold]pages[/bold] customer wallet {base}/wallet   brand console {base}/brand   auditor {base}/auditor"
    )
    console.print("[green]local stack running[/green]; Ctrl-C stops it (chain and database are kept in data/)")
    app = create_app(settings)
    # Purges stale rows and reconciles relayed consents with the chain (after a restart or a reorg), with
    # the API's own gateway, so resent relays share the relayer's nonce sequence.
    maintenance.start(app.state.engine, settings, app.state.gateway, stop_indexer)
    config = uvicorn.Config(app, host=settings.api_host, port=settings.api_port, log_level="warning")
    server = uvicorn.Server(config)
    # uvicorn re-raises SIGINT/SIGTERM after its shutdown, which would kill this process before
    # anvil is stopped (and its state saved): take the signals ourselves. (Replacing a method with a
    # no-op context manager of another type, hence the ignore.)
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, server.handle_exit)
    try:
        server.run()
    finally:
        stop_indexer.set()
        follower.join(timeout=10)
        indexer.close()


def _follow(indexer, stop: threading.Event) -> None:  # type: ignore[no-untyped-def]
    from app.errors import LedgerError

    try:
        indexer.follow(stop)
    except LedgerError as exc:  # a different chain or a deep reorg: the operator must act
        console.print(f"[red]indexer stopped:[/red] {exc.message}")


def _wait_for_signal() -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    console.print("[green]chain running[/green]; Ctrl-C stops it (chain state is kept in data/)")
    stop.wait()
