"""Engines and sessions: async for the API and the activities, sync for Alembic and the CLI."""

from sqlalchemy import create_engine
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

# While PostgreSQL is unreachable a request or an activity fails within seconds (the API answers
# 503, the activity is retried with backoff) instead of waiting on a connection that never comes.
CONNECT_TIMEOUT_SECONDS = 5
POOL_TIMEOUT_SECONDS = 10


def async_engine(url: str) -> AsyncEngine:
    return create_async_engine(
        url,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=10,
        pool_timeout=POOL_TIMEOUT_SECONDS,
        connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS},
    )


def sync_engine(url: str):
    return create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS})


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
