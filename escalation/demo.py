"""Demo data for the embedded default: an invented directory and one invented disagreement."""

from __future__ import annotations

import json
from datetime import datetime
from importlib import resources

from sqlalchemy import select
from sqlalchemy.orm import Session

from escalation.access import second_factor
from escalation.casework.disagreements import raise_disagreement
from escalation.casework.intake import RaiseRequest, uk_date
from escalation.directory.csv_rows import import_csv
from escalation.reads.plain_text import summary_line
from escalation.rules.policy import Policy
from escalation.rules.vocabulary import BOARD_ROLES
from escalation.store.models import Person, PersonRole


def load(session: Session, policies: dict[str, Policy], now: datetime) -> str:
    """Load the demo directory and raise the demo disagreement (again: no duplicate)."""
    data = resources.files("escalation") / "demo_data"
    count = import_csv(session, (data / "directory.csv").read_text(encoding="utf-8"))
    request = RaiseRequest.parse(json.loads((data / "disagreement.json").read_text()))
    # A demo set before the file's decision date (--now) has the decision made that day instead.
    request.decision_date = min(request.decision_date, uk_date(now))
    disagreement = raise_disagreement(session, request=request, policy=policies["default"], now=now)
    enrolled = _enrol_board(session)
    return (
        f"demo directory: {count} people\ndemo disagreement: {summary_line(disagreement, now)}\n"
        f"demo board sign-in: {', '.join(enrolled)} (codes at /demo/authenticator)"
    )


def _enrol_board(session: Session) -> list[str]:
    """The demo's board manager and chair get authenticator secrets (kept if they have one)."""
    people = (
        session.execute(select(Person).join(PersonRole).where(PersonRole.role.in_(BOARD_ROLES)))
        .scalars()
        .unique()
        .all()
    )
    for person in people:
        if person.totp_secret is None:
            second_factor.enrol(session, person.email)
    return sorted(person.email for person in people)
