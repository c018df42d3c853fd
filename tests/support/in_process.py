"""The API in-process, as the `api` fixture runs it, for a test that needs it on settings of its own."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from referrals.api.main import create_app
from referrals.config import Settings


@asynccontextmanager
async def api_on(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The API on `settings` (their task queue: a worker serving it is the caller's), its lifespan run."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client:
            yield client
