"""Waiting for what happens in the background (a worker's e-mail, a webhook, a metric), up to a timeout."""

import asyncio


async def until(check, timeout: float = 30.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if result := await check():
            return result
        await asyncio.sleep(0.2)
    raise AssertionError("condition not met in time")


async def handed_on(handle, run_id: str, timeout: float = 10.0) -> str:
    """The run that a case's workflow (`handle`, with no run id: its latest) has handed itself on to since `run_id`. A
    run due to continue as new does so once nothing has happened for its quiet period (0.2 s in the suite)."""

    async def newer() -> str | None:
        latest = (await handle.describe()).run_id
        return latest if latest != run_id else None

    return await until(newer, timeout)
