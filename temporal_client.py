"""Connecting to Temporal the same way from the worker, the API and the tests: pydantic payloads,
encrypted by the codec before they leave the process."""

import dataclasses
from collections.abc import Sequence

from temporalio.client import Client, Plugin
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter
from temporalio.runtime import Runtime

from codec import EncryptionCodec, parse_keys
from config import Settings


def data_converter(keys: str) -> DataConverter:
    codec = EncryptionCodec(parse_keys(keys))
    return dataclasses.replace(pydantic_data_converter, payload_codec=codec)


async def connect(settings: Settings, *, runtime: Runtime | None = None, plugins: Sequence[Plugin] = ()) -> Client:
    """`runtime` serves the SDK's metrics (the worker's); `plugins` add tracing (observability.tracing)."""
    return await Client.connect(
        settings.temporal_address, namespace=settings.temporal_namespace,
        data_converter=data_converter(settings.effective_encryption_keys), runtime=runtime, plugins=plugins,
    )
