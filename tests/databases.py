"""Which databases the suite runs on: SQLite always, PostgreSQL when it is reachable (set
ESCALATION_TEST_POSTGRES_URL to use another server; CI=true requires it, see conftest.py)."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, text

POSTGRES_URL = os.environ.get(
    "ESCALATION_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _postgres_reachable() -> bool:
    try:
        engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:
        return False


POSTGRES = _postgres_reachable()

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def with_search_path(url: str, schema: str) -> str:
    """The URL with `schema` first on the search path."""
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options=-csearch_path%3D{schema}"
