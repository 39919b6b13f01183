"""Alembic environment: the URL comes from the caller (escalation.store.schema) or the settings."""

from alembic import context

from escalation.settings import get_settings
from escalation.store.db import make_engine
from escalation.store.models import Base

config = context.config
url = config.attributes.get("database_url") or get_settings().database_url
connection = config.attributes.get("connection")


def run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    run(connection)
else:
    engine = make_engine(url)
    with engine.connect() as new_connection:
        run(new_connection)
    engine.dispose()
