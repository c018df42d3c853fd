"""Where Temporal is and how to reach it, read as Temporal's own tools read it: its environment configuration
(`TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`, `TEMPORAL_TLS_*`, and the profiles of a `temporal.toml`
chosen by `TEMPORAL_PROFILE` and `TEMPORAL_CONFIG_FILE`), through the SDK's `temporalio.envconfig`. A profile the
operator already uses with the `temporal` CLI serves the product as it is.

Pure of the product: referrals/config.py reads the namespace from here, referrals/temporal_client.py connects with it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where used: `referrals policy check` and the like load no Temporal SDK
    from temporalio.envconfig import ClientConfigProfile
    from temporalio.service import TLSConfig

# The variables of Temporal's environment configuration an operator sets for the product (docs/operations.md,
# "Running on Temporal Cloud"). Temporal's others (TEMPORAL_TLS_*_DATA, TEMPORAL_GRPC_META_*) are read as well.
VARIABLES = (
    "TEMPORAL_ADDRESS",
    "TEMPORAL_NAMESPACE",
    "TEMPORAL_API_KEY",
    "TEMPORAL_TLS",
    "TEMPORAL_TLS_CLIENT_CERT_PATH",
    "TEMPORAL_TLS_CLIENT_KEY_PATH",
    "TEMPORAL_TLS_SERVER_CA_CERT_PATH",
    "TEMPORAL_TLS_SERVER_NAME",
    "TEMPORAL_PROFILE",
    "TEMPORAL_CONFIG_FILE",
)
# Secrets among them: given by reference (a Kubernetes Secret, a file), never written into a manifest.
SECRETS = ("TEMPORAL_API_KEY",)
# The product's own names before 1.0, read throughout 1.x with a warning (gone in 2.0.0): each, and the name that replaces it.
DEPRECATED = {"REFERRALS_TEMPORAL_ADDRESS": "TEMPORAL_ADDRESS", "REFERRALS_TEMPORAL_NAMESPACE": "TEMPORAL_NAMESPACE"}
DEFAULT_ADDRESS = "localhost:7233"
DEFAULT_NAMESPACE = "default"


class TemporalSettingError(ValueError):
    """A Temporal setting that cannot work, said in the operator's words: which setting, and what to do."""


class TemporalConnectError(RuntimeError):
    """Temporal cannot be reached as configured: what went wrong and which setting to fix, in one sentence
    (referrals/temporal_client.py's connect_error)."""


@dataclass(frozen=True)
class Connection:
    """Everything Client.connect needs to reach Temporal, and where each part came from (for the messages)."""

    address: str
    namespace: str
    api_key: str | None = None
    tls: bool | TLSConfig = False
    rpc_metadata: Mapping[str, str] = field(default_factory=dict)
    # The profile and file it was read from ("profile 'cloud' of /etc/temporal.toml"), for the messages; "" when
    # only the TEMPORAL_* variables (or nothing) said where.
    source: str = ""
    # Deprecated names this connection was read from, to be warned about in the log.
    deprecated: tuple[str, ...] = ()

    @property
    def client_certificate(self) -> bool:
        return getattr(self.tls, "client_cert", None) is not None

    @property
    def uses_tls(self) -> bool:
        return self.tls is not False

    def describe(self) -> dict[str, object]:
        """For the log: no key, no certificate, only what they are."""
        return {
            "address": self.address,
            "namespace": self.namespace,
            "tls": self.uses_tls,
            "client_certificate": self.client_certificate,
            "api_key": self.api_key is not None,
            "source": self.source,
        }


def read(
    environ: Mapping[str, str],
    *,
    address: str | None = None,
    namespace: str | None = None,
) -> Connection:
    """The connection Temporal's environment configuration describes. `address` and `namespace` are the product's
    own settings (REFERRALS_TEMPORAL_ADDRESS and _NAMESPACE, deprecated, or given by a test): used only where
    Temporal's configuration gives none."""
    from temporalio.envconfig import ClientConfigProfile

    config_file = environ.get("TEMPORAL_CONFIG_FILE")
    if config_file and not Path(config_file).is_file():
        raise TemporalSettingError(f"TEMPORAL_CONFIG_FILE names {config_file}, which is not a file")
    try:
        profile = ClientConfigProfile.load(override_env_vars=dict(environ))
    except Exception as error:  # the SDK's ConfigError: a missing profile, a malformed file
        where = f" in {config_file}" if config_file else ""
        raise TemporalSettingError(
            f"Temporal's client configuration{where} cannot be read: {error}. Check TEMPORAL_PROFILE and "
            "TEMPORAL_CONFIG_FILE"
        ) from None
    try:
        connect = profile.to_client_connect_config()
    except OSError as error:
        setting = _file_setting(profile, str(getattr(error, "filename", "")))
        raise TemporalSettingError(
            f"{setting} names {error.filename}, which cannot be read: {error.strerror}"
        ) from None
    named = environ.get("TEMPORAL_PROFILE")
    from_file = config_file if config_file and _has_settings(config_file, named) else ""
    source = " of ".join(part for part in (f"profile {named!r}" if named else "", from_file) if part)
    deprecated = tuple(old for old in DEPRECATED if environ.get(old))
    return Connection(
        address=connect.get("target_host") or address or DEFAULT_ADDRESS,
        namespace=connect.get("namespace") or namespace or DEFAULT_NAMESPACE,
        api_key=connect.get("api_key"),
        tls=connect.get("tls", False),
        rpc_metadata=dict(connect.get("rpc_metadata") or {}),
        source=source,
        deprecated=deprecated,
    )


def _has_settings(config_file: str, profile: str | None) -> bool:
    """Whether the file's profile says anything (the suite's and `make run`'s files may be all but empty)."""
    from temporalio.envconfig import ClientConfigProfile

    return bool(ClientConfigProfile.load(profile, config_source=Path(config_file), disable_env=True).to_dict())


def _file_setting(profile: ClientConfigProfile, filename: str) -> str:
    tls = profile.tls
    if tls is not None:
        for setting, source in (
            ("TEMPORAL_TLS_CLIENT_CERT_PATH", tls.client_cert),
            ("TEMPORAL_TLS_CLIENT_KEY_PATH", tls.client_private_key),
            ("TEMPORAL_TLS_SERVER_CA_CERT_PATH", tls.server_root_ca_cert),
        ):
            if isinstance(source, Path) and str(source) == filename:
                return setting
    return "A TLS file setting"
