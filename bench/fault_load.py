"""The fault bench's cases: disagreements raised through the domain code (the demo
disagreement, invented text), then made due at chosen moments so that cases keep falling due
while each fault happens.

A case's deadline is moved by writing its due time (and its open stage period's) directly, as
an earlier bench did (bench/sweep.py make_due); everything after that is the service's own work.
The due times given are kept here (`Cases.due`), because escalating a case replaces its due time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, bindparam, text
from sqlalchemy.orm import sessionmaker

from escalation.casework.disagreements import raise_disagreement
from escalation.casework.intake import RaiseRequest
from escalation.rules.policy import load_policies
from escalation.store.db import UTCDateTime, transaction


@dataclass
class Cases:
    unscheduled: list[str]
    due: dict[str, tuple[datetime, str]] = field(default_factory=dict)  # ref -> (due, phase)

    def take(self, count: int) -> list[str]:
        taken, self.unscheduled = self.unscheduled[:count], self.unscheduled[count:]
        return taken


def raise_cases(root: Path, sessions: sessionmaker, count: int, now: datetime) -> Cases:
    """`count` routine disagreements at their first stage (due in working days)."""
    template = json.loads((root / "escalation" / "demo_data" / "disagreement.json").read_text())
    template.pop("idempotency_key", None)
    template.pop("child_area", None)
    policy = load_policies(root / "policies")["default"]
    references = []
    for number in range(1, count + 1):
        request = RaiseRequest.parse({**template, "child_reference": f"FAULTS-{number:04d}"})
        with transaction(sessions) as session:
            disagreement = raise_disagreement(session, request=request, policy=policy, now=now)
            references.append(disagreement.reference)
    return Cases(references)


def forget_setup_mail(engine: Engine, until: datetime) -> int:
    """Drop the emails raising the cases queued (set-up, not under test: 2,000 at once would
    otherwise be the first thing the workers do); the number dropped."""
    with engine.begin() as connection:
        result = connection.execute(
            text("DELETE FROM outbox WHERE created_at <= :until").bindparams(
                bindparam("until", type_=UTCDateTime())
            ),
            {"until": until},
        )
    return result.rowcount


def make_due(engine: Engine, cases: Cases, phase: str, times: list[datetime]) -> None:
    """The next len(times) cases fall due at those times (no reminder pending)."""
    references = cases.take(len(times))
    rows = [{"ref": ref, "due": due} for ref, due in zip(references, times, strict=False)]
    if not rows:
        return
    due = bindparam("due", type_=UTCDateTime())
    with engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE disagreements SET due_at = :due, remind_at = NULL WHERE reference = :ref"
            ).bindparams(due),
            rows,
        )
        connection.execute(
            text(
                "UPDATE stage_periods SET due_at = :due WHERE ended_at IS NULL AND "
                "disagreement_id = (SELECT id FROM disagreements WHERE reference = :ref)"
            ).bindparams(due),
            rows,
        )
    for row in rows:
        cases.due[row["ref"]] = (row["due"], phase)


def spread(start: datetime, seconds: float, count: int) -> list[datetime]:
    """`count` moments evenly over `seconds` from `start`."""
    if count <= 0:
        return []
    step = seconds / count
    return [start + timedelta(seconds=step * (index + 0.5)) for index in range(count)]


def escalated_count(engine: Engine, references: list[str]) -> int:
    """How many of these cases the sweep has escalated so far."""
    with engine.connect() as connection:
        return connection.execute(
            text(
                "SELECT count(*) FROM events e JOIN disagreements d ON d.id = e.disagreement_id "
                "WHERE e.kind = 'escalate_automatically' AND d.reference = ANY(:refs)"
            ),
            {"refs": references},
        ).scalar_one()
