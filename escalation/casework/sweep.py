"""The sweep: at `now`, escalate every disagreement whose deadline has passed, flag the overdue
ones at the final stage, remind owners whose deadline is near, and watch how disagreements end
(agreed actions reminded, chased and, when missed, reopened; a say window's silence taken as
acceptance: casework/endings.py). Free of Prefect.

Exactly once in effect, however many sweeps run at the same instant: disagreements are claimed
and changed in groups of up to `GROUP`, one transaction a group and a savepoint each (one that
fails is rolled back alone and the group goes on). PostgreSQL claims with FOR UPDATE SKIP LOCKED
(a concurrent sweep takes the next one); SQLite's BEGIN IMMEDIATE serialises writers (the second
sweep waits, then no longer sees the row as due). The claim re-reads the row, so it is a
compare-and-set on the stage and deadline; the ORM's row_version check backs it up. The outbox
rows are written in the same transaction, with unique keys. A sweep killed half-way leaves each
group done or untouched, and the rest for the next sweep. Decision: groups, not a transaction a
disagreement, because a durable commit costs more than an escalation's own work; 50 keeps a
group's locks and its lost work on a crash small. Within a group's transaction the directory is
read once (directory/people.memoised_reads): casework never changes it.

A sweep of thousands of due cases outlasts 3 intervals, so it records its progress (every
`PROGRESS_EVERY` disagreements or `PROGRESS_SECONDS`, in its own short transaction; the
`escalation-sweep/progress` heartbeat row): the stall check counts progress as alive.

Most sweeps find nothing to do: one question (`anything_to_do`) asks, in the transaction that
records the start, and an idle sweep records its completion there too, one commit in all.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Select, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, lazyload, sessionmaker

from escalation.casework import disagreements as d
from escalation.casework import health
from escalation.casework.lifecycle import hold
from escalation.directory.people import memoised_reads
from escalation.outbox.rows import QUEUED
from escalation.rules.errors import EscalationError
from escalation.store.db import transaction
from escalation.store.models import Disagreement

log = logging.getLogger(__name__)
SWEEP = "escalation-sweep"
GROUP = 50  # disagreements a transaction
PROGRESS_EVERY = 50  # disagreements
PROGRESS_SECONDS = 15


@dataclass
class SweepSummary:
    escalated: int = 0
    reminded: int = 0
    final_stage_overdue: int = 0
    # Agreed actions and convened meetings: reminded, chased, missed (reopened or moved up);
    # proposed resolutions accepted by silence.
    action_reminders: int = 0
    actions_chased: int = 0
    reopened: int = 0
    accepted_by_silence: int = 0
    queued_emails: int = 0
    blocked: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def run_sweep(
    sessions: sessionmaker[Session],
    *,
    now: datetime,
    after_each: Callable[[str], None] | None = None,
    clock: Callable[[], datetime] | None = None,
    group: int | None = None,
) -> SweepSummary:
    """One whole sweep at `now`; records a heartbeat when it completes, and progress as it goes.

    `after_each(reference)` is called after each committed disagreement (used to inject faults).
    `clock` tells the time of a progress record; by default `now` plus the time elapsed.
    `group`: disagreements a transaction (default `GROUP`).
    """
    with transaction(sessions) as session:
        health.sweep_started(session, SWEEP, now)
        idle = not anything_to_do(session, now)
        if idle:
            health.sweep_completed(session, SWEEP, now, SweepSummary().as_dict())
    if idle:
        return SweepSummary()
    summary = SweepSummary()
    progress = Progress(sessions, now, clock or _elapsed_since(now))
    for claim, act in ((due_claim, _act_on_due), (reminder_claim, _remind), (watch_claim, _watch)):
        each = progress.after(after_each)
        _drain(sessions, now, summary, claim, act, each, group or GROUP)
    with transaction(sessions) as session:
        health.sweep_completed(session, SWEEP, now, summary.as_dict())
    return summary


def anything_to_do(session: Session, now: datetime) -> bool:
    """Is anything due, to remind or to watch at `now`? One statement: three index ranges
    that find nothing when the sweep is idle. Decision: an idle sweep (most of them) is then one
    short transaction, its heartbeat and this question, where the three claims would take three
    transactions more; when anything is there, every claim runs as before."""
    return any(session.execute(anything_query(now)).one())


def anything_query(now: datetime) -> Select:
    """Three booleans: is anything due, to remind, to watch? (the claims' own questions)."""
    questions = (d.due_query(now=now, limit=1), reminder_query(now), watch_query(now))
    return select(*(question.order_by(None).exists() for question in questions))


class Progress:
    """Records that a sweep is alive every `PROGRESS_EVERY` disagreements or `PROGRESS_SECONDS`,
    whichever comes first, in its own short transaction."""

    def __init__(self, sessions: sessionmaker[Session], now: datetime, clock) -> None:
        self.sessions, self.started_at, self.clock = sessions, now, clock
        self.done, self.recorded_done, self.recorded_at = 0, 0, clock()

    def after(self, after_each: Callable[[str], None] | None) -> Callable[[str], None]:
        def each(reference: str) -> None:
            if after_each is not None:
                after_each(reference)
            self.one_done()

        return each

    def one_done(self) -> None:
        self.done += 1
        at = self.clock()
        every = self.done - self.recorded_done >= PROGRESS_EVERY
        if every or at - self.recorded_at >= timedelta(seconds=PROGRESS_SECONDS):
            with transaction(self.sessions) as session:
                health.sweep_progress(session, SWEEP, self.started_at, at, self.done)
            self.recorded_done, self.recorded_at = self.done, at


def _elapsed_since(now: datetime) -> Callable[[], datetime]:
    """`now` plus the time elapsed since: a sweep at a given instant keeps its own time line."""
    start = time.monotonic()
    return lambda: now + timedelta(seconds=time.monotonic() - start)


def due_claim(now: datetime, skip: set[int]) -> Select:
    """The next disagreement past its deadline, locked; a range on the indexed due time."""
    return _claim(d.due_query(now=now, limit=1), skip)


def reminder_claim(now: datetime, skip: set[int]) -> Select:
    """The next reminder due, locked."""
    return _claim(reminder_query(now), skip)


def watch_claim(now: datetime, skip: set[int]) -> Select:
    """The next disagreement whose agreed actions, meeting or say window need a look, locked."""
    return _claim(watch_query(now), skip)


def reminder_query(now: datetime) -> Select:
    """The next reminder due: a range on the index of open rows by reminder time."""
    return (
        select(Disagreement.reference)
        .where(d.IS_OPEN, Disagreement.remind_at.is_not(None), Disagreement.remind_at <= now)
        .order_by(Disagreement.remind_at)
        .limit(1)
    )


def watch_query(now: datetime) -> Select:
    """The next disagreement to watch: a range on the index of open rows by watch time."""
    return (
        select(Disagreement.reference)
        .where(d.IS_OPEN, Disagreement.watch_at.is_not(None), Disagreement.watch_at <= now)
        .order_by(Disagreement.watch_at)
        .limit(1)
    )


def _claim(query: Select, skip: set[int]) -> Select:
    """The whole row, locked and read once: the event that follows does not read it again
    (lifecycle.hold). No eager join to the owner (see lifecycle.locked)."""
    if skip:
        query = query.where(Disagreement.id.not_in(skip))
    return (
        query.with_only_columns(Disagreement)
        .options(lazyload(Disagreement.owner))
        .with_for_update(skip_locked=True, of=Disagreement, key_share=True)
        .execution_options(populate_existing=True)
    )


def _drain(sessions, now, summary, claim, act, after_each, group: int) -> None:
    skip: set[int] = set()
    finished = False
    while not finished:
        with transaction(sessions) as session, memoised_reads(session):
            done, finished = _group(session, now, summary, claim, act, skip, group)
            summary.queued_emails += session.info.pop(QUEUED, 0)
        for reference in done:
            after_each(reference)


def _group(session, now, summary, claim, act, skip, size) -> tuple[list[str], bool]:
    """Up to `size` claimed and acted on in this transaction, each in its own savepoint; and
    whether nothing more was due."""
    done: list[str] = []
    statement, skipping = claim(now, skip), len(skip)  # built again only when `skip` grows
    while len(done) < size:
        if len(skip) != skipping:
            statement, skipping = claim(now, skip), len(skip)
        disagreement = session.execute(statement).scalar()
        if disagreement is None:
            return done, True
        _act_alone(session, disagreement, now, summary, act, skip)
        done.append(disagreement.reference)
    return done, False


def _act_alone(session, disagreement, now, summary, act, skip) -> None:
    """`act` in a savepoint: a failure rolls back this disagreement only, raises the alert
    and the group goes on; a failure of the database itself stops the sweep (the group is
    rolled back whole: the next sweep, or a retry, goes on)."""
    reference, row_id = disagreement.reference, disagreement.id
    queued = session.info.get(QUEUED, 0)
    try:
        with session.begin_nested():
            hold(session, disagreement)
            act(session, reference, now, summary)
    except DBAPIError:
        raise
    except Exception as error:  # one bad case must not hold up all the others
        session.info[QUEUED] = queued  # rolled back with the savepoint
        skip.add(row_id)
        problem = (
            str(error)
            if isinstance(error, EscalationError)
            else (f"unexpected {type(error).__name__}: {error}")
        )
        if not isinstance(error, EscalationError):
            log.exception("sweep failed on %s", reference)
        _blocked(session, reference, problem, now, summary)


def _act_on_due(session: Session, reference: str, now: datetime, summary: SweepSummary) -> None:
    action = d.act_if_due(session, reference=reference, now=now)
    if action is None:
        return
    if action.action == "escalate":
        summary.escalated += 1
    else:
        summary.final_stage_overdue += 1


def _remind(session: Session, reference: str, now: datetime, summary: SweepSummary) -> None:
    if d.remind(session, reference=reference, now=now):
        summary.reminded += 1


WATCH_COUNTS = {
    "remind": "action_reminders",
    "chase": "actions_chased",
    "reopen": "reopened",
    "escalate": "escalated",
    "accept": "accepted_by_silence",
}


def _watch(session: Session, reference: str, now: datetime, summary: SweepSummary) -> None:
    for done in d.watch(session, reference=reference, now=now):
        if done in WATCH_COUNTS:
            name = WATCH_COUNTS[done]
            setattr(summary, name, getattr(summary, name) + 1)


def _blocked(session: Session, reference: str, problem: str, now: datetime, summary) -> None:
    """The sweep could not act on one disagreement (e.g. nobody can own the next stage): it is
    left as it was, the sweep goes on with the others, and the alert says why."""
    log.error("sweep could not act on %s: %s", reference, problem)
    summary.blocked.append(reference)
    health.raise_alert(
        session,
        key=f"blocked/{reference}",
        kind="escalation_blocked",
        message=f"{reference}: the sweep could not act: {problem}",
        now=now,
    )
