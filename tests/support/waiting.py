"""Waiting for what happens in the background (a worker's e-mail, a webhook, a metric), up to a timeout."""

import asyncio


async def until(check, timeout: float = 30.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if result := await check():
            return result
        await asyncio.sleep(0.2)
    raise AssertionError("condition not met in time")
