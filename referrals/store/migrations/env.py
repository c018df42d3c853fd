"""Alembic environment: the database comes from the application's settings (DATABASE_URL)."""

from alembic import context
from alembic.util import CommandError
from sqlmodel import SQLModel

import referrals.store.tables  # noqa: F401  (registers the tables on SQLModel.metadata)
from referrals.config import get_settings
from referrals.store.database_tls import DatabaseTLSError, check_database
from referrals.store.engine import sync_engine

config = context.config


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Leave out of the model comparison what the code reads but never loads: the generated search columns
    (migration 0006, searched in referrals/store/cases.py) and their indexes."""
    return not (reflected and compare_to is None and name in referrals.store.tables.GENERATED)


def run_migrations() -> None:
    url = config.attributes.get("database_url")  # the test suite's
    if url is None:
        settings = get_settings()
        try:
            check_database(settings)  # DATABASE_URL's TLS (sslmode, sslrootcert) holds, or nothing is migrated
        except DatabaseTLSError as exc:
            raise CommandError(str(exc)) from None  # alembic's own way: "FAILED: <message>", exit status 255
        url = settings.database_url
    engine = sync_engine(url)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=SQLModel.metadata, include_object=include_object)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()
