"""Settings of the ledger from the environment and .env, with working local defaults."""

from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AwareDatetime, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.paths import REPO_ROOT

# Well-known development keys of anvil's default mnemonic: public knowledge, so refused outside
# `local`/`test`. Accounts 0 and 1 are the operator and the relayer; 2..9 serve as customers and brands
# in tests (tests/conftest.py); the other roles take accounts 10..13 (anvil starts with 14 or more,
# app/chain/anvil.py).
ANVIL_OPERATOR_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
ANVIL_RELAYER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
ANVIL_CHAIN_ADMIN_KEY = "0xf214f2b2cd398c806f84e317254e0f0b801d0643303237d97a22a48e01628897"
ANVIL_RECORDER_KEY = "0x701b615bbdfb9de65240bc28bd21bbc0d996645a3dd57e7b12bc2bdf6f192c82"
ANVIL_AUDITOR_KEY = "0xa267530f49f8280200edf313ee7af6b827f2a8bce2897751d06a843f644967b1"
ANVIL_PAUSER_KEY = "0x47c99abed3324a2707c28affff1267e45918ec8c3f20b8aa892e8b065d2942dd"
LOCAL_ADMIN_KEY = "local-admin-key"
MIN_PRODUCTION_CHALLENGE_WINDOW = 600  # seconds
LOCAL_LEAF_SALT_KEY = "local-leaf-salt-key"


class Settings(BaseSettings):
    """Every knob of the ledger; names match environment variables (case-insensitive)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    environment: Literal["local", "test", "production"] = "local"
    data_dir: Path = REPO_ROOT / "data"

    # Chain: anvil on loopback by default; any EVM JSON-RPC endpoint by RPC_URL.
    rpc_url: str = "http://127.0.0.1:8545"
    anvil_port: int = 8545
    start_anvil: bool = True
    # One key per on-chain role (docs/contracts.md, "Roles"), so no single key can take everything:
    # the admin grants and revokes roles (AccessControlDefaultAdminRules) and deploys; the operator
    # registers brands, funds budgets and publishes epoch roots; the relayer sends customers' signed
    # consent changes and claims; the recorder records brands' data accesses (within each brand's
    # on-chain allowance); the auditor vetoes a published root within its challenge window; the
    # pauser pauses.
    chain_admin_key: SecretStr = SecretStr(ANVIL_CHAIN_ADMIN_KEY)
    operator_key: SecretStr = SecretStr(ANVIL_OPERATOR_KEY)
    relayer_key: SecretStr = SecretStr(ANVIL_RELAYER_KEY)
    recorder_key: SecretStr = SecretStr(ANVIL_RECORDER_KEY)
    auditor_key: SecretStr = SecretStr(ANVIL_AUDITOR_KEY)
    pauser_key: SecretStr = SecretStr(ANVIL_PAUSER_KEY)
    # Seconds after publication before an epoch root pays claims, during which the auditor's watcher
    # (`ledger audit watch`) may veto it. Short locally; a deployment's value is fixed at deploy time.
    challenge_window_seconds: int = Field(default=5, ge=1)
    chain_id: int | None = None  # asked of the RPC endpoint when not set
    confirmations: int = 0

    # Database: a SQLite file under data_dir unless DATABASE_URL names another.
    database_url: str | None = None

    # API.
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    admin_key: SecretStr = SecretStr(LOCAL_ADMIN_KEY)
    # Sign-In with Ethereum: the domain and URI customers' messages must name (default: the API's).
    siwe_domain: str = ""
    siwe_uri: str = ""
    siwe_nonce_ttl_seconds: int = 600
    siwe_clock_skew_seconds: int = Field(default=60, ge=0)  # Issued At / Not Before may be this far ahead
    session_ttl_seconds: int = 86_400
    # Rate limits ("N/second|minute|hour", the `limits` library's notation): generous defaults for the
    # pages and tests; per client address, per bearer identity, and on the unauthenticated sign-in writes.
    rate_limit_enabled: bool = True
    rate_limit_storage: str = "memory://"  # per process; e.g. redis://host:6379 to share between API workers
    rate_limit_per_client: str = "3000/minute"
    rate_limit_per_identity: str = "1200/minute"
    rate_limit_sign_in: str = "300/minute"
    # Largest request body accepted (bulk uploads stream and have their own, larger limit).
    max_body_bytes: int = 1_000_000
    max_upload_bytes: int = 2_000_000_000

    # Analytics (DuckDB over the store): threads and memory before spilling to disk.
    analytics_threads: int = 2
    analytics_memory: str = "1536MB"

    # Consents: receipts (ISO/IEC TS 27560 / Kantara) and how long a signature request stays valid.
    consent_controller: str = "Loyalty and data-consent ledger"
    consent_controller_contact: str = "privacy@ledger.local"
    consent_jurisdiction: str = "KR"
    consent_notice_version: str = "2025-01"
    # keccak256 of the published notice text (0x-hex); empty: keccak256 of the version string.
    consent_notice_hash: str = ""
    consent_signature_ttl_seconds: int = 900

    # Ingestion refuses implausible purchases: above this many won each (items' unit prices too), or
    # made before the programme started; times may run ingest_future_skew_seconds ahead of the clock.
    purchase_max_won: int = Field(default=10_000_000_000, ge=1, le=2**63 - 1)
    programme_start: AwareDatetime = datetime(2020, 1, 1, tzinfo=UTC)
    ingest_future_skew_seconds: int = Field(default=86_400, ge=0, le=31 * 86_400)
    # Relayed consent changes sent or relayed this recently are checked against the chain (restarts, reorgs).
    reconcile_window_seconds: int = Field(default=86_400, ge=0)
    # Housekeeping inside `ledger up`: purge and reconcile every this many seconds; stale rows kept this long.
    maintenance_interval_seconds: float = Field(default=60, gt=0)
    purge_grace_seconds: int = Field(default=600, ge=0)
    # Automatic claims (`ledger claims relay`, and each maintenance round of `ledger up`): accounts per claimMany.
    claim_batch_size: int = Field(default=50, ge=1, le=500)

    # Brand access: audience counts under this many customers are shown as "fewer than" it.
    audience_k_min: int = Field(default=10, ge=1)
    # Audience counts are differentially private (docs/privacy-audience.md): each new query spends this
    # epsilon of the brand's budget per period; a spent budget refuses new queries until the next period.
    audience_epsilon_per_query: float = Field(default=0.5, gt=0, le=10_000)
    audience_epsilon_per_period: float = Field(default=10.0, gt=0, le=10_000_000)
    audience_period_days: int = Field(default=30, ge=1, le=366)

    # CRM channels (docs/crm.md): offers by e-mail through this SMTP server (empty host: no e-mail is
    # sent, inbox only); brands' webhooks retried with backoff, in a pass and across passes.
    smtp_host: str = ""
    smtp_port: int = Field(default=25, ge=1, le=65_535)
    smtp_sender: str = "offers@ledger.local"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    webhook_attempts_per_pass: int = Field(default=3, ge=1, le=10)
    webhook_backoff_seconds: float = Field(default=0.5, ge=0, le=60)
    webhook_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    webhook_max_attempts: int = Field(default=12, ge=1, le=100)  # then the event is marked failed

    @field_validator("rate_limit_per_client", "rate_limit_per_identity", "rate_limit_sign_in")
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        from limits import parse

        parse(value)  # raises ValueError naming the malformed limit
        return value

    # Paid upkeep of one's own profile (docs/data-rights.md) is debited from this budget in the distributor: the
    # programme's own, funded by the operator (`ledger upkeep fund`). The default is an address nobody holds a
    # key to (the last 20 bytes of sha256("loyalty-ledger/profile-upkeep")), so its budget can only pay upkeep.
    upkeep_funder: str = Field(default="0x0c7439b9a1ad87595d50a645f8ab5f6ad9fb8952", pattern=r"^0x[0-9a-fA-F]{40}$")

    # Rewards: the secret the Merkle leaves' salts derive from (docs/privacy.md). Changing it makes
    # the earlier epochs' trees impossible to rebuild: keep it as long as the database.
    leaf_salt_key: SecretStr = SecretStr(LOCAL_LEAF_SALT_KEY)

    @model_validator(mode="after")
    def _fill_siwe_defaults(self) -> "Settings":
        if not self.siwe_domain:
            self.siwe_domain = f"{self.api_host}:{self.api_port}"
        if not self.siwe_uri:
            self.siwe_uri = f"http://{self.siwe_domain}"
        return self

    @model_validator(mode="after")
    def _refuse_insecure_defaults(self) -> "Settings":
        if self.environment == "production":
            insecure = {
                "CHAIN_ADMIN_KEY": self.chain_admin_key.get_secret_value() == ANVIL_CHAIN_ADMIN_KEY,
                "OPERATOR_KEY": self.operator_key.get_secret_value() == ANVIL_OPERATOR_KEY,
                "RELAYER_KEY": self.relayer_key.get_secret_value() == ANVIL_RELAYER_KEY,
                "RECORDER_KEY": self.recorder_key.get_secret_value() == ANVIL_RECORDER_KEY,
                "AUDITOR_KEY": self.auditor_key.get_secret_value() == ANVIL_AUDITOR_KEY,
                "PAUSER_KEY": self.pauser_key.get_secret_value() == ANVIL_PAUSER_KEY,
                "ADMIN_KEY": self.admin_key.get_secret_value() == LOCAL_ADMIN_KEY,
                "LEAF_SALT_KEY": self.leaf_salt_key.get_secret_value() == LOCAL_LEAF_SALT_KEY,
            }
            bad = [name for name, is_default in insecure.items() if is_default]
            if bad:
                raise ValueError(f"insecure development defaults refused in production: set {', '.join(bad)}")
            keys = self.role_keys()
            shared = sorted({a for a in keys for b in keys if a != b and keys[a] == keys[b]})
            if shared:
                raise ValueError(f"each on-chain role needs its own key; these share one: {', '.join(shared)}")
            if self.challenge_window_seconds < MIN_PRODUCTION_CHALLENGE_WINDOW:
                raise ValueError(
                    f"CHALLENGE_WINDOW_SECONDS must be at least {MIN_PRODUCTION_CHALLENGE_WINDOW} in production: "
                    "the auditor's watcher needs the time to re-derive a root before it pays"
                )
        return self

    def role_keys(self) -> dict[str, str]:
        """Private key per on-chain role (CHAIN_ADMIN_KEY is the `admin` role)."""
        return {
            "admin": self.chain_admin_key.get_secret_value(),
            "operator": self.operator_key.get_secret_value(),
            "relayer": self.relayer_key.get_secret_value(),
            "recorder": self.recorder_key.get_secret_value(),
            "auditor": self.auditor_key.get_secret_value(),
            "pauser": self.pauser_key.get_secret_value(),
        }

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'ledger.db'}"

    @property
    def deployments_dir(self) -> Path:
        return self.data_dir / "deployments"

    @property
    def anvil_state_file(self) -> Path:
        return self.data_dir / "anvil" / "state.json"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
