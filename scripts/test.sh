#!/usr/bin/env bash
# Sets everything up, then runs every test: forge (unit, fuzz, invariant), slither, ruff, mypy, import-linter, pytest.
# FOUNDRY_PROFILE=deep scripts/test.sh runs deeper fuzzing (not what CI runs).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$PWD/node_modules/.bin:$PATH"

step() { printf '\n\033[1m== %s ==\033[0m\n' "$*"; }

step "forge test"
# Gas scenarios need --isolate and are a benchmark (bench/gas.py), not tests.
forge test --no-match-path "contracts/test/gas/*"

step "slither (contracts/src)"
# Its own out/cache folders: slither runs `forge clean` first and must not wipe forge's cache.
FOUNDRY_OUT=cache/slither/out FOUNDRY_CACHE_PATH=cache/slither/cache \
  .venv-slither/bin/slither . --config-file slither.config.json

step "ruff"
.venv/bin/ruff check app tests bench scripts
.venv/bin/ruff format --check app tests bench

step "mypy"
.venv/bin/mypy app

step "import-linter (the layer contract, .importlinter)"
.venv/bin/lint-imports

step "pytest"
# One worker per core (PYTEST_WORKERS=1 for one process); a module's tests stay on one worker, so its
# module-scoped servers start once. Every worker has its own anvil and temporary folders.
.venv/bin/pytest --numprocesses "${PYTEST_WORKERS:-auto}" --dist loadfile "$@"
