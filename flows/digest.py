"""board-digest: daily at 08:00 Europe/London (the only schedule in local time; a daily cron
is safe across clock changes, unlike sub-daily intervals).

1. Queue one digest email per board manager (counts only); a second run that day queues none.
The deliver-notifications flow sends them.
2. Refresh SQLite's planner statistics (escalation.store.db.refresh_statistics), once a day.
"""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from escalation import runtime
from escalation.outbox.digest import queue_digests
from escalation.rules.calendar import parse_instant
from escalation.settings import get_settings
from escalation.store.db import make_engine, refresh_statistics, transaction


@task(cache_policy=NO_CACHE, persist_result=False)
def queue_board_digests(now_iso: str) -> int:
    with transaction(runtime.sessions()) as session:
        return queue_digests(session, parse_instant(now_iso))


@task(cache_policy=NO_CACHE, persist_result=False)
def refresh_planner_statistics() -> None:
    engine = make_engine(get_settings().database_url)
    refresh_statistics(engine)
    engine.dispose()


@flow(name="board-digest", persist_result=False)
def board_digest(now: str | None = None) -> int:
    queued = queue_board_digests(now or datetime.now(UTC).isoformat())
    refresh_planner_statistics()
    return queued
