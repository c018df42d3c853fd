"""Connecting to Temporal the same way from the worker, the API, the `referrals` command and the tests: where Temporal
is and how to reach it from Temporal's environment configuration (referrals/temporal_environment.py: plain text,
TLS, mutual TLS or an API key), and on top of it the product's own: pydantic payloads, encrypted by the codec before
they leave the process, and every update signed with its actor assertion.

A connection that cannot work fails at once, in the operator's words, naming the setting to fix (`connect_error`)."""

import dataclasses
from collections.abc import Sequence

import structlog
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client, Plugin
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter
from temporalio.runtime import Runtime
from temporalio.service import RPCError

from referrals.actor_assertions import SignSteps, VerifySteps
from referrals.codec import EncryptionCodec, WorkerPayloadConverter, parse_keys
from referrals.config import Settings
from referrals.temporal_environment import DEPRECATED, Connection, TemporalConnectError

log = structlog.get_logger()


def data_converter(keys: str) -> DataConverter:
    codec = EncryptionCodec(parse_keys(keys))
    return dataclasses.replace(pydantic_data_converter, payload_codec=codec)


def worker_data_converter(keys: str) -> DataConverter:
    """The worker's: an unencrypted payload is refused, not read."""
    codec = EncryptionCodec(parse_keys(keys), refuse_plain=True)
    return dataclasses.replace(
        pydantic_data_converter, payload_converter_class=WorkerPayloadConverter, payload_codec=codec
    )


def signing(keys: str) -> SignSteps:
    """The client interceptor that signs every update with its actor assertion."""
    return SignSteps(parse_keys(keys, "REFERRALS_ACTOR_KEYS"))


def worker_client(client: Client, settings: Settings) -> Client:
    """The client a worker polls with: the same connection, refusing unencrypted payloads."""
    config = client.config()
    config["data_converter"] = worker_data_converter(settings.effective_encryption_keys)
    return Client(**config)


def verifying(settings: Settings) -> VerifySteps:
    """The worker interceptor that refuses an update whose actor assertion does not hold."""
    return VerifySteps(parse_keys(settings.effective_actor_keys, "REFERRALS_ACTOR_KEYS"))


async def connect(settings: Settings, *, runtime: Runtime | None = None, plugins: Sequence[Plugin] = ()) -> Client:
    """The one client builder. `runtime` serves the SDK's metrics (the worker's); `plugins` add tracing
    (observability.tracing). Raises TemporalSettingError for a setting that cannot be read, TemporalConnectError
    when Temporal refuses or cannot be reached, each naming the setting to fix."""
    target = settings.temporal
    for old in target.deprecated:
        log.warning("deprecated_setting", setting=old, use=DEPRECATED[old], removed_in="2.0.0")
    try:
        client = await Client.connect(
            target.address,
            namespace=target.namespace,
            api_key=target.api_key,
            tls=target.tls,
            rpc_metadata=dict(target.rpc_metadata),
            data_converter=data_converter(settings.effective_encryption_keys),
            runtime=runtime,
            plugins=plugins,
            interceptors=[signing(settings.effective_actor_keys)],
        )
        await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace=target.namespace))
    except RPCError as error:
        raise TemporalConnectError(connect_error(target, error.status, error.message)) from None
    except RuntimeError as error:  # the SDK's "Failed client connect: ..." from its core
        raise TemporalConnectError(connect_error(target, None, str(error))) from None
    log.info("temporal_connected", **target.describe())
    return client


# What the SDK's core says when a connection fails, and what it means. Matched in order on its message.
_TRANSPORT = (
    (("UnknownIssuer", "certificate verify failed", "BadSignature"), "server_ca"),
    (("NotValidForName", "CertNotValidForName"), "server_name"),
    (("CertificateRequired", "certificate required", "BadCertificate", "UnknownCA", "400 Bad Request"), "credentials"),
    (("code: Unauthenticated", "code: PermissionDenied", "401 Unauthorized", "403 Forbidden"), "credentials"),
    (("InvalidContentType", "InvalidMessage", "CorruptMessage", "wrong version number"), "not_tls"),
    (("FRAME_SIZE_ERROR", "h2 protocol error", "connection reset", "connection closed"), "wants_tls"),
    (("Connection refused", "dns error", "failed to lookup", "Name or service not known", "timed out"), "unreachable"),
)


def connect_error(target: Connection, status: object, message: str) -> str:
    """One sentence for an operator: where, what went wrong, and the setting to fix. `status` is the gRPC status
    code when Temporal itself answered (an RPCError), None when the SDK's core could not get that far."""
    where = f"Temporal at {target.address}" + (f" ({target.source})" if target.source else "")
    name = getattr(status, "name", None)
    kind = {"UNAUTHENTICATED": "credentials", "PERMISSION_DENIED": "credentials", "NOT_FOUND": "namespace"}.get(
        str(name), ""
    )
    if not kind:
        kind = next((k for words, k in _TRANSPORT if any(w in message for w in words)), "other")
    if kind == "server_ca":
        return (
            f"{where} presents a certificate this client does not trust: set TEMPORAL_TLS_SERVER_CA_CERT_PATH to the "
            "certificate of the CA that signed it (Temporal Cloud's is publicly trusted: leave it unset there)"
        )
    if kind == "server_name":
        return (
            f"{where} presents a certificate for another name: set TEMPORAL_TLS_SERVER_NAME to the name in its "
            "certificate, or TEMPORAL_ADDRESS to that name"
        )
    if kind == "credentials" and target.api_key is not None:
        return f"{where} refused the API key: set TEMPORAL_API_KEY to a key that is valid for namespace {target.namespace!r}"
    if kind == "credentials" and target.client_certificate:
        return (
            f"{where} refused the client certificate: set TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH "
            "to a certificate and key signed by a CA the server trusts"
        )
    if kind == "credentials":
        return (
            f"{where} asks who is connecting: set TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH "
            "(mutual TLS), or TEMPORAL_API_KEY"
        )
    if kind == "namespace":
        return (
            f"{where} has no namespace {target.namespace!r}: set TEMPORAL_NAMESPACE to the namespace made for the "
            "product, or create it (docs/operations.md)"
        )
    if kind == "not_tls" and target.uses_tls:
        return (
            f"{where} does not answer in TLS: set TEMPORAL_TLS=false for a plain-text server, or TEMPORAL_ADDRESS to "
            "its TLS port"
        )
    if kind in ("wants_tls", "not_tls", "credentials") and not target.uses_tls:
        return (
            f"{where} expects TLS: set TEMPORAL_TLS=true, with TEMPORAL_TLS_CLIENT_CERT_PATH and "
            "TEMPORAL_TLS_CLIENT_KEY_PATH (mutual TLS) or TEMPORAL_API_KEY"
        )
    if kind == "unreachable":
        return f"{where} does not answer: check TEMPORAL_ADDRESS (host:port) and that the server is running"
    return f"{where} cannot be reached: {_first_line(message)}. Check TEMPORAL_ADDRESS and the TEMPORAL_TLS_* settings"


def _first_line(message: str) -> str:
    return message.removeprefix("Failed client connect: ").splitlines()[0][:300]
