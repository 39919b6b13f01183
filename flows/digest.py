"""board-digest: daily at 08:00 Europe/London (the only schedule in local time; a daily cron
is safe across clock changes, unlike sub-daily intervals).

1. Queue one digest email per board manager (counts only); a second run that day queues none.
The deliver-notifications flow sends them.
"""

from __future__ import annotations

from datetime import datetime, timezone

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from escalation import runtime
from escalation.calendar import parse_instant
from escalation.db import transaction
from escalation.digest import queue_digests


@task(cache_policy=NO_CACHE, persist_result=False)
def queue_board_digests(now_iso: str) -> int:
    with transaction(runtime.sessions()) as session:
        return queue_digests(session, parse_instant(now_iso))


@flow(name="board-digest", persist_result=False)
def board_digest(now: str | None = None) -> int:
    return queue_board_digests(now or datetime.now(timezone.utc).isoformat())
