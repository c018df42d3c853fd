"""Connecting to Temporal the same way from the worker, the API and the tests: pydantic payloads,
encrypted by the codec before they leave the process, and every update signed with its actor assertion."""

import dataclasses
from collections.abc import Sequence

from temporalio.client import Client, Plugin
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter
from temporalio.runtime import Runtime

from referrals.actor_assertions import SignSteps, VerifySteps
from referrals.codec import EncryptionCodec, WorkerPayloadConverter, parse_keys
from referrals.config import Settings


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
    """`runtime` serves the SDK's metrics (the worker's); `plugins` add tracing (observability.tracing)."""
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(settings.effective_encryption_keys),
        runtime=runtime,
        plugins=plugins,
        interceptors=[signing(settings.effective_actor_keys)],
    )
