"""Where the repository's parts live on disk, resolved once from this file's location."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
CONTRACTS_SRC = REPO_ROOT / "contracts" / "src"
NODE_BIN = REPO_ROOT / "node_modules" / ".bin"
SOLC = REPO_ROOT / "scripts" / "solc"
FOUNDRY_TOML = REPO_ROOT / "foundry.toml"
PACKAGE_LOCK = REPO_ROOT / "package-lock.json"
ARTIFACTS_DIR = REPO_ROOT / "artifacts"
