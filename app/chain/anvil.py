"""Starts and stops a local anvil node (the embedded default chain)."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from pathlib import Path

from web3 import Web3
from web3.contract import Contract
from web3.types import RPCEndpoint

from app.paths import NODE_BIN

ANVIL = NODE_BIN / "anvil"
# Funded accounts of the default mnemonic: 0..13 hold the role keys and the test customers/brands
# (app/config.py); a few more are spare.
ACCOUNTS = 20
HISTORY_STATES = 2048  # blocks whose state stays queryable (reads "at block N" look back a few blocks at most)


def rpc_alive(url: str, timeout: float = 0.5) -> bool:
    """Whether a JSON-RPC endpoint answers eth_chainId."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return "result" in json.loads(response.read())
    except (OSError, ValueError):
        return False


def start_anvil(
    port: int,
    *,
    state_file: Path | None = None,
    log_file: Path | None = None,
    extra: list[str] | None = None,
    history_states: int = HISTORY_STATES,
) -> subprocess.Popen[bytes]:
    """Starts anvil on 127.0.0.1:port (state kept in `state_file` if given) and waits until it answers."""
    # --prune-history: recent states in memory only. Without it anvil writes every block's state under
    # ~/.foundry/anvil/tmp, which grew to tens of GB over a test session (each test deploys anew).
    args = [str(ANVIL), "--host", "127.0.0.1", "--port", str(port), "--silent", "--prune-history", str(history_states)]
    args += ["--accounts", str(ACCOUNTS)]
    if state_file is not None:
        state_file.parent.mkdir(parents=True, exist_ok=True)
        # --state loads the file at start and writes it at exit; the interval bounds what a crash loses.
        args += ["--state", str(state_file), "--state-interval", "2"]
    args += extra or []
    out = log_file.open("ab") if log_file else subprocess.DEVNULL
    process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while not rpc_alive(url):
        if process.poll() is not None:
            raise RuntimeError(f"anvil exited with code {process.returncode} (port {port} in use?)")
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"anvil did not answer on {url} within 20 s")
        time.sleep(0.05)
    return process


def stop_anvil(process: subprocess.Popen[bytes], timeout: float = 10) -> None:
    """Stops anvil gracefully (it writes its state file on SIGTERM/SIGINT)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def mint_as_distributor(w3: Web3, token: Contract, minter: str, to: str, amount: int, gas_money: int) -> None:
    """Development only: mints CASH to `to` by impersonating the distributor (its only minter) on anvil, and gives
    `to` gas money if it has less."""
    minter, to = w3.to_checksum_address(minter), w3.to_checksum_address(to)
    w3.provider.make_request(RPCEndpoint("anvil_impersonateAccount"), [minter])
    try:
        w3.provider.make_request(RPCEndpoint("anvil_setBalance"), [minter, hex(gas_money)])
        w3.eth.wait_for_transaction_receipt(token.functions.mint(to, amount).transact({"from": minter}))
    finally:
        w3.provider.make_request(RPCEndpoint("anvil_stopImpersonatingAccount"), [minter])
    if w3.eth.get_balance(to) < gas_money:
        w3.provider.make_request(RPCEndpoint("anvil_setBalance"), [to, hex(gas_money)])
