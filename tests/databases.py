"""Which databases the suite runs on: SQLite always, PostgreSQL when it is reachable (set
ESCALATION_TEST_POSTGRES_URL to use another server; CI=true requires it, see conftest.py); a
private PostgreSQL schema; a database of a module's own and what its tests share on it."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text

from escalation.store.db import make_engine, session_factory, transaction
from escalation.store.models import Base
from escalation.store.schema import upgrade

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


class PostgresSchema:
    """A private, migrated schema: its URL, and one engine kept to empty it between tests."""

    def __init__(self):
        self.name = f"escalation_test_{uuid.uuid4().hex[:8]}"
        self.admin = create_engine(POSTGRES_URL)
        with self.admin.begin() as connection:
            connection.execute(text(f"CREATE SCHEMA {self.name}"))
        self.url = with_search_path(POSTGRES_URL, self.name)
        migrating = make_engine(self.url)
        upgrade(migrating)
        migrating.dispose()
        self.engine = create_engine(self.url)
        tables = [table.name for table in Base.metadata.sorted_tables]
        self._truncate = text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
        # DELETE with triggers off (the chronology's append-only trigger, the foreign keys'
        # checks) is ten times faster than TRUNCATE, which makes new files for every table; it
        # needs a superuser (the default URL's postgres), else TRUNCATE.
        self._delete = [text(f"DELETE FROM {name}") for name in reversed(tables)]
        with self.engine.begin() as connection:
            sequences = (
                connection.execute(
                    text(
                        "SELECT sequence_name FROM information_schema.sequences"
                        " WHERE sequence_schema = :schema ORDER BY 1"
                    ),
                    {"schema": self.name},
                )
                .scalars()
                .all()
            )
            self.superuser = connection.execute(
                text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            ).scalar()
        self._restart = text(
            "SELECT "
            + ", ".join(f"setval('{self.name}.{sequence}', 1, false)" for sequence in sequences)
        )

    def empty(self) -> str:
        """Every table emptied and its ids restarted; the URL."""
        with self.engine.begin() as connection:
            if self.superuser:
                connection.execute(text("SET LOCAL session_replication_role = replica"))
                for delete in self._delete:
                    connection.execute(delete)
                connection.execute(self._restart)
            else:
                connection.execute(self._truncate)
        return self.url

    def drop(self) -> None:
        self.engine.dispose()
        with self.admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {self.name} CASCADE"))
        self.admin.dispose()


class ModuleDatabase:
    """A database of a module's own (see `module_database`): fresh() empties it and gives
    sessions on it, closing the ones it gave before."""

    def __init__(
        self,
        *,
        template: Path | None = None,
        directory: Path | None = None,
        postgres: PostgresSchema | None = None,
    ):
        """SQLite (copies of `template` in `directory`) or a PostgreSQL schema of its own."""
        self.backend = "postgresql" if postgres else "sqlite"
        self.template, self.directory, self.postgres = template, directory, postgres
        self.engine = None
        self.made = 0

    def fresh(self):
        self.close()
        self.made += 1
        if self.backend == "sqlite":
            path = self.directory / f"escalation{self.made}.db"
            shutil.copy(self.template, path)
            url = f"sqlite:///{path}"
        else:
            url = self.postgres.empty()
        self.engine = make_engine(url)
        return session_factory(self.engine)

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()
            self.engine = None


class Shared:
    """What `build(sessions)` makes on a ModuleDatabase, shared by a module's tests instead of
    built for each: built when first used, and built again (on an emptied database) only after a
    test changed any row of any table, or what `state(built)` says (say, a browser's cookies).
    So every test starts from it as built, whatever ran before."""

    def __init__(
        self,
        database: ModuleDatabase,
        build: Callable[[object], dict],
        state: Callable[[dict], object] = lambda built: None,
        close: Callable[[dict], None] = lambda built: None,
    ):
        self.database, self.build, self.extra_state, self.close = database, build, state, close
        self.built: dict | None = None
        self.sessions = None

    @contextmanager
    def use(self) -> Iterator[dict]:
        if self.built is None:
            self.sessions = self.database.fresh()
            self.built = self.build(self.sessions)
        before = self.state()
        try:
            yield self.built
        finally:
            if self.state() != before:
                self.spoil()

    def state(self) -> tuple:
        with transaction(self.sessions) as session:
            rows = tuple(
                tuple(session.execute(select(table)).all()) for table in Base.metadata.sorted_tables
            )
        return rows, self.extra_state(self.built)

    def spoil(self) -> None:
        if self.built is not None:
            self.close(self.built)
            self.built = None
