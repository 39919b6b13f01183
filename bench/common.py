"""What every benchmark needs: a throwaway PostgreSQL schema."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine


@contextmanager
def temporary_schema(postgres_url: str) -> Iterator[str]:
    """A URL whose search_path is a new schema, dropped (with everything in it) afterwards."""
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(postgres_url.split("?")[0])
    with admin.begin() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    try:
        yield f"{postgres_url.split('?')[0]}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()
