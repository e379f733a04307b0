#!/usr/bin/env bash
# Sets everything up, then runs the local stack on 127.0.0.1 (anvil with state in data/, contracts
# deployed once, the API). Extra arguments go to `ledger up` (see `ledger up --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/ledger up "$@"
