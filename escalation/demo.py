"""Demo data for the embedded default: an invented directory, one invented disagreement at its
first stage, and two showing how a disagreement ends: one watched (its resolution accepted, an
agreed action open) and one whose proposed resolution waits for the raiser's say. Whoever tries
the service sees the emails these send in the captured mail (/demo/mail): the say asked of the
raiser, the action agreed with its owner, each with its link."""

from __future__ import annotations

import json
from datetime import datetime, time
from importlib import resources

from sqlalchemy import select
from sqlalchemy.orm import Session

from escalation.access import second_factor
from escalation.casework import disagreements as d
from escalation.casework.endings import ActionInput, Learning
from escalation.casework.intake import RaiseRequest, uk_date
from escalation.directory.csv_rows import import_csv
from escalation.reads.plain_text import summary_line
from escalation.rules.policy import Policy
from escalation.rules.vocabulary import BOARD_ROLES
from escalation.store.models import Disagreement, Person, PersonRole

DATA = resources.files("escalation") / "demo_data"


def load(session: Session, policies: dict[str, Policy], now: datetime) -> str:
    """Load the demo directory and raise the demo disagreements (again: no duplicate)."""
    count = import_csv(session, (DATA / "directory.csv").read_text(encoding="utf-8"))
    policy = policies["default"]
    disagreement = _raise(
        session, json.loads((DATA / "disagreement.json").read_text()), policy, now
    )
    lines = [
        f"demo directory: {count} people",
        f"demo disagreement: {summary_line(disagreement, now)}",
    ]
    for ending in json.loads((DATA / "endings.json").read_text()):
        shown = _ending(session, ending, policy, now)
        lines.append(f"demo {ending['shows']}: {summary_line(shown, now)}")
    enrolled = _enrol_board(session)
    lines.append(f"demo board sign-in: {', '.join(enrolled)} (codes at /demo/authenticator)")
    return "\n".join(lines)


def _raise(session: Session, data: dict, policy: Policy, now: datetime) -> Disagreement:
    request = RaiseRequest.parse(data)
    # A demo set before the file's decision date (--now) has the decision made that day instead.
    request.decision_date = min(request.decision_date, uk_date(now))
    return d.raise_disagreement(session, request=request, policy=policy, now=now)


def _ending(session: Session, ending: dict, policy: Policy, now: datetime) -> Disagreement:
    """Raise it, move it to the raiser's named professional, who proposes the resolution with
    its learning and one agreed action; the raiser accepts it if the demo says so. Once only:
    a demo loaded again finds it past its first stage and leaves it as it is."""
    disagreement = _raise(session, ending["raise"], policy, now)
    if disagreement.stage_index > 0 or not disagreement.is_open:
        return disagreement
    raiser = disagreement.raiser_email
    d.escalate(session, reference=disagreement.reference, actor=raiser, now=now)
    d.resolve(
        session,
        reference=disagreement.reference,
        actor=disagreement.owner.email,
        now=now,
        outcome=ending["outcome"],
        summary=ending["summary"],
        learning=Learning(**{**ending["learning"], "themes": tuple(ending["learning"]["themes"])}),
        actions=(_action(ending["action"], policy, now),),
    )
    if ending["raiser_accepts"]:
        d.accept(session, reference=disagreement.reference, actor=raiser, now=now)
    return disagreement


def _action(action: dict, policy: Policy, now: datetime) -> ActionInput:
    """Due a few working days from now; a meeting is held that day at its time."""
    day = policy.calendar.local_date(policy.calendar.add_working_days(now, action["working_days"]))
    if "meeting_time" not in action:
        return ActionInput(action["what"], action["owner_email"], day)
    meeting_at = policy.calendar.instant_at(day, time.fromisoformat(action["meeting_time"]))
    return ActionInput(action["what"], action["owner_email"], None, meeting_at, action["place"])


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
