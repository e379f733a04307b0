#!/usr/bin/env bash
# Installs everything the project needs, from the package registries only, into the project folder:
# node_modules (Foundry binaries, solc, OpenZeppelin, forge-std), .venv (the app, pinned by
# requirements/app.lock) and .venv-slither (slither needs web3 < 8, so it lives apart).
# Each step is skipped when its inputs have not changed, so a second run takes a second or two.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
fingerprint() { cat "$@" | sha256sum | cut -c1-16; }
# Up to date: the stamp matches the inputs' fingerprint and the tool it promises is really there.
current() { [ -f "$1" ] && [ "$(cat "$1")" = "$2" ] && [ -x "$3" ]; }

command -v node >/dev/null || { echo "setup: node and npm are needed (the base image has them)" >&2; exit 1; }
PY=${PYTHON:-python3}
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "setup: Python >= 3.11 needed" >&2; exit 1; }

# 1. npm toolchain, exactly as package-lock.json says.
npm_fp=$(fingerprint package.json package-lock.json)
if ! current node_modules/.ledger-stamp "$npm_fp" node_modules/.bin/forge; then
  say "npm ci (Foundry, solc, OpenZeppelin, forge-std)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$npm_fp" > node_modules/.ledger-stamp
fi

# 2. The app's virtualenv.
py_fp=$(fingerprint pyproject.toml requirements/app.lock)
if ! current .venv/.ledger-stamp "$py_fp" .venv/bin/ledger; then
  say "python venv .venv (app + dev tools, pinned)"
  [ -x .venv/bin/python ] || "$PY" -m venv .venv
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -c requirements/app.lock -e '.[dev]'
  echo "$py_fp" > .venv/.ledger-stamp
fi

# 3. Slither in its own virtualenv.
sl_fp=$(fingerprint requirements/slither.lock)
if ! current .venv-slither/.ledger-stamp "$sl_fp" .venv-slither/bin/slither; then
  say "python venv .venv-slither (static analysis)"
  [ -x .venv-slither/bin/python ] || "$PY" -m venv .venv-slither
  .venv-slither/bin/python -m pip install --quiet --disable-pip-version-check -r requirements/slither.lock
  echo "$sl_fp" > .venv-slither/.ledger-stamp
fi

# 4. Chromium for the page tests (Debian's; Playwright drives it, never downloads a browser).
if [ ! -x /usr/bin/chromium ]; then
  say "apt: chromium (page tests)"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get install -y -q chromium fonts-liberation >/dev/null 2>&1 || {
    $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q chromium fonts-liberation >/dev/null
  }
fi

say "ready"
