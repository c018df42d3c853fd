"""Alembic environment: the database comes from the application's settings (DATABASE_URL)."""

from alembic import context
from sqlmodel import SQLModel

import store.tables  # noqa: F401  (registers the tables on SQLModel.metadata)
from config import get_settings
from store.engine import sync_engine

config = context.config


def run_migrations() -> None:
    url = config.attributes.get("database_url") or get_settings().database_url
    engine = sync_engine(url)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=SQLModel.metadata)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()
