"""The one settings object, read by the worker, the API and the CLI and passed down."""

import os
import sys
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import quote

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from referrals import temporal_environment
from referrals.temporal_environment import Connection

# Where policy/ and templates/ are: beside the package in a source tree (and `make run`, the tests, an editable
# install), or where the wheel installed them (<prefix>/share/incident-referrals).
_SOURCE = Path(__file__).resolve().parent.parent
ROOT = _SOURCE if (_SOURCE / "policy").is_dir() else Path(sys.prefix) / "share" / "incident-referrals"
# Known to everyone: only for development and tests, refused in production.
DEVELOPMENT_KEYS = "dev-1:" + "ZGV2ZWxvcG1lbnQta2V5LW5vdC1hLXNlY3JldC0wMDA="
DEVELOPMENT_ACTOR_KEYS = "dev-actor-1:" + "ZGV2ZWxvcG1lbnQtYWN0b3Ita2V5LW5vdC1zZWNyZXQ="


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REFERRALS_", extra="ignore")

    env: Literal["development", "test", "production"] = "production"
    # Required: there is no database a production deployment could fall back on.
    database_url: str = Field(validation_alias=AliasChoices("DATABASE_URL", "REFERRALS_DATABASE_URL"))
    # Where Temporal is and how to reach it comes from Temporal's own environment configuration (TEMPORAL_ADDRESS,
    # TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*, TEMPORAL_PROFILE, TEMPORAL_CONFIG_FILE; see `temporal`
    # below and referrals/temporal_environment.py). These two, REFERRALS_TEMPORAL_ADDRESS and _NAMESPACE, are the
    # names before 1.0: read throughout 1.x with a warning (gone in 2.0.0), and only where Temporal's configuration is silent.
    temporal_address: str | None = None
    temporal_namespace: str | None = None
    task_queue: str = "incident-referrals"
    # Base URL of the Temporal Web UI, used for each case's `links.temporal_ui`.
    temporal_ui_url: str = "http://localhost:8233"
    # Development: where the Temporal UI itself answers (its dev server started with `--ui-public-path /temporal`);
    # set, the API serves it at <public_url>/temporal/ to people signed in at the desk (referrals/web/temporal_ui.py) and
    # each case's link points there. Unset: no proxy in the API (production puts nginx in front, deploy/nginx/).
    temporal_ui_upstream: str | None = None
    # Base URL people use to reach the API, for links in notifications.
    public_url: str = "http://localhost:8000"
    policy_file: Path = ROOT / "policy" / "chicago.toml"
    # Notifications: e-mail when an SMTP URL is set (smtp://host:port), a webhook when its URL is set.
    smtp_url: str | None = None
    mail_from: str = "referrals@localhost"
    webhook_url: str | None = None
    # The daily digest of open escalations (UTC cron; 13:00 UTC is 07:00 in Chicago in winter).
    digest_cron: str = "0 13 * * *"
    # Payload encryption keys, "id:base64(32 bytes)[,id:...]": the first encrypts, all decrypt. Required in
    # production; development and tests fall back to a published key that protects nothing.
    encryption_keys: str | None = None
    # Keys signing who takes each step (referrals/actor_assertions.py), "id:base64(32 bytes)[,id:...]", the same in the API,
    # the CLI and the worker: the first signs, all verify. Required in production; `make run` makes its own, and
    # development and tests otherwise fall back to a published key that proves nothing.
    actor_keys: SecretStr | None = None
    # Failed authentications allowed per client per minute before it gets 429.
    auth_failures_per_minute: int = 30
    # Reverse proxies (addresses or CIDR ranges, comma-separated) whose X-Forwarded-For is believed; from any
    # other peer the header is ignored and the peer's own address is the client's.
    trusted_proxies: str | None = None
    # Request bodies over this many bytes get 413 before they are parsed. The largest valid filing is about
    # 0.2 MB in ASCII, 0.6 MB in 4-byte UTF-8; 1 MiB also keeps every body under Temporal's 2 MB payload limit.
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    # Evidence files: an upload over this many bytes is refused (413) as soon as it passes it, nothing kept.
    max_evidence_bytes: int = Field(default=2 * 1024**3, ge=1024)
    # A case continues as new when Temporal suggests it; drills and tests may make it sooner (a history length).
    continue_after_events: int | None = Field(default=None, ge=20)
    # A case nobody writes to asks which of its documents are made after a second (README: Documents), and continues
    # as new when due once quiet that long (README: The lifecycle); tests shorten it.
    documents_quiet_seconds: float | None = Field(default=None, gt=0, le=60)
    # The document maker runs below the steps' processes (referrals/document_maker.py); false: at its worker's
    # priority (tests, where the suite's own processes fill both cores and would starve it).
    document_maker_low_priority: bool = True
    # Where evidence bytes go: unset, into PostgreSQL; set (e.g. https://s3.us-east-2.amazonaws.com, or a MinIO
    # or other S3-compatible endpoint), into that object storage's bucket.
    evidence_s3_url: str | None = None
    evidence_s3_bucket: str = "evidence"
    evidence_s3_region: str = "us-east-1"
    evidence_s3_access_key: str | None = None
    evidence_s3_secret_key: SecretStr | None = None
    # Longest a request may take before it is answered 503 (a step waits for its change to be stored).
    request_timeout_seconds: float = Field(default=20.0, gt=0)
    # Every read, search, download and codec use goes into the access trail (referrals/store/access_log.py; CJIS 5.4.1.1).
    # Off only to measure what recording costs (bench/access_log.py): refused in production.
    access_trail: bool = True
    # host:port where the worker serves /metrics for Prometheus (the Temporal SDK's metrics and the product's
    # notifications and document render times), e.g. 0.0.0.0:9464; unset: no endpoint.
    worker_metrics_bind: str | None = None
    # OTLP/HTTP collector (base URL, e.g. http://otel-collector:4318) receiving the traces of the API and the
    # worker; unset: no tracing.
    otlp_endpoint: str | None = None
    # Running cases a worker keeps in memory between their steps. A case waiting days on a timer needs
    # none: evicted, it is replayed from its history when the timer fires. This bounds worker memory.
    max_cached_workflows: int = Field(default=200, ge=0)
    # How long a browser stays signed in to the reviewer's desk, at most (the absolute limit; the token's own
    # expiry and revocation end it sooner), and how long without activity before the session locks.
    web_session_hours: float = Field(default=12, gt=0, le=24 * 30)
    session_idle_minutes: float = Field(default=30, gt=0)
    # Sign-in at the department's OpenID provider (found by discovery from the issuer). Unset: tokens only.
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_scopes: str = "openid profile email"
    # The `aud` the API accepts in the provider's JWT access tokens (default: the client id).
    oidc_audience: str | None = None
    # Claims read for roles (a list or a space-separated string), district and star; each value of the roles
    # claim is a role's name or, through `oidc_group_roles`, a provider group mapped to a role.
    oidc_roles_claim: str = "roles"
    oidc_district_claim: str = "district"
    oidc_star_claim: str = "star"
    # Provider group names to roles: a JSON object ({"CPD-Legal": "legal_reviewer"}) or the path of a JSON file.
    oidc_group_roles: str | None = None
    # Multi-factor authentication required of provider sign-ins (default: on in production): `amr` must contain
    # "mfa", or `acr` must equal `oidc_mfa_acr` when that is set.
    oidc_require_mfa: bool | None = None
    oidc_mfa_acr: str | None = None
    # Seconds of clock difference allowed between the provider and us when checking exp, nbf and iat.
    oidc_clock_skew_seconds: int = Field(default=60, ge=0, le=600)
    # How often each API process looks for a newly published snapshot of the public figures (one small query;
    # a publication through the process itself is served at once).
    public_refresh_seconds: float = Field(default=60, gt=0, le=3600)
    # Every document is also a PDF (PDF/A-2b by LibreOffice, README "PDF documents"). Unset: each worker starts its own
    # LibreOffice when one is installed (Debian: libreoffice-writer-nogui and python3-uno); the URL of a unoserver
    # (http://host:2003) uses that one; "off": no PDFs (the documents say so).
    pdf_converter: str | None = None
    # The department's signature on every PDF (PAdES): its certificate (PEM: the signing certificate, then those of
    # its chain) and its private key (PEM or DER, encrypted with the password or not). Required in production;
    # `make run` makes a self-signed pair under var/, and development and tests otherwise sign with a throwaway one.
    signing_certificate: Path | None = None
    signing_key: Path | None = None
    signing_key_password: SecretStr | None = None
    log_format: Literal["json", "console"] | None = None
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _sqlalchemy_driver(self) -> "Settings":
        # Accept plain `postgresql://` URLs (as most tools print them) and use psycopg 3.
        for prefix in ("postgresql://", "postgres://"):
            if self.database_url.startswith(prefix):
                self.database_url = "postgresql+psycopg://" + self.database_url[len(prefix) :]
        return self

    @model_validator(mode="after")
    def _s3_credentials(self) -> "Settings":
        if self.evidence_s3_url and not (self.evidence_s3_access_key and self.evidence_s3_secret_key):
            raise ValueError(
                "REFERRALS_EVIDENCE_S3_URL needs REFERRALS_EVIDENCE_S3_ACCESS_KEY and REFERRALS_EVIDENCE_S3_SECRET_KEY"
            )
        return self

    @model_validator(mode="after")
    def _keys_outside_development(self) -> "Settings":
        if self.env == "production" and not self.encryption_keys:
            raise ValueError("REFERRALS_ENCRYPTION_KEYS is required in production (id:base64 of 32 random bytes)")
        if self.env == "production" and not self.actor_keys:
            raise ValueError(
                "REFERRALS_ACTOR_KEYS is required in production (id:base64 of 32 random bytes, the same "
                "in the API and the worker)"
            )
        return self

    @model_validator(mode="after")
    def _signing(self) -> "Settings":
        if (self.signing_certificate is None) != (self.signing_key is None):
            raise ValueError(
                "REFERRALS_SIGNING_CERTIFICATE and REFERRALS_SIGNING_KEY go together: set both, or neither"
            )
        if self.env == "production" and self.signing_key is None:
            raise ValueError(
                "REFERRALS_SIGNING_CERTIFICATE and REFERRALS_SIGNING_KEY are required in production: the department's "
                "certificate and key, which sign every PDF"
            )
        converter = self.pdf_converter
        if converter and converter != "off" and not converter.startswith(("http://", "https://")):
            raise ValueError(f"REFERRALS_PDF_CONVERTER must be a unoserver's http:// URL or off, not {converter!r}")
        return self

    @model_validator(mode="after")
    def _oidc_client(self) -> "Settings":
        if self.oidc_issuer and not (self.oidc_client_id and self.oidc_client_secret):
            raise ValueError("REFERRALS_OIDC_ISSUER needs REFERRALS_OIDC_CLIENT_ID and REFERRALS_OIDC_CLIENT_SECRET")
        return self

    @property
    def mfa_required(self) -> bool:
        return self.env == "production" if self.oidc_require_mfa is None else self.oidc_require_mfa

    @model_validator(mode="after")
    def _access_trail_in_production(self) -> "Settings":
        if self.env == "production" and not self.access_trail:
            raise ValueError("REFERRALS_ACCESS_TRAIL cannot be turned off in production: every access is recorded")
        return self

    @property
    def effective_encryption_keys(self) -> str:
        return self.encryption_keys or DEVELOPMENT_KEYS

    @property
    def effective_actor_keys(self) -> str:
        return self.actor_keys.get_secret_value() if self.actor_keys else DEVELOPMENT_ACTOR_KEYS

    def case_url(self, case_id: str) -> str:
        """Where a person is sent to see a case: its desk page (the JSON API wants a bearer token a browser lacks).
        Signed out, the desk asks for a sign-in and comes back here (referrals/web/auth.py's safe_next)."""
        return f"{self.public_url.rstrip('/')}/desk/cases/{quote(case_id, safe='')}"

    def workflow_url(self, workflow_id: str) -> str:
        # With the API's own proxy the UI is at the product's origin, under /temporal (referrals/web/temporal_ui.py).
        ui = (
            f"{self.public_url.rstrip('/')}/temporal" if self.temporal_ui_upstream else self.temporal_ui_url.rstrip("/")
        )
        return f"{ui}/namespaces/{quote(self.temporal.namespace)}/workflows/{quote(workflow_id)}"

    @cached_property
    def temporal(self) -> Connection:
        """Where Temporal is and how to reach it (referrals/temporal_environment.py); read once, at first use."""
        return temporal_environment.read(os.environ, address=self.temporal_address, namespace=self.temporal_namespace)

    @property
    def effective_log_format(self) -> str:
        if self.log_format:
            return self.log_format
        return "json" if self.env == "production" else "console"


@lru_cache
def get_settings() -> Settings:
    return Settings()
