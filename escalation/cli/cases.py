"""Commands on disagreements: raise, show, list, and the events of their life, to their end:
resolve (with the learning and the agreed actions), the raiser's accept or contest, and an
agreed action confirmed done by its owner. The domain is imported inside each command (see
common.py)."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from escalation.cli.common import AsOption, NowOption, now_from, raise_policy, read_text, sessions
from escalation.rules.errors import InvalidInput

if TYPE_CHECKING:
    from escalation.casework.endings import ActionInput


def raise_command(
    json_file: Annotated[Path, typer.Option("--json", help="The disagreement, as JSON.")],
    now: NowOption = None,
) -> None:
    """Raise a disagreement from a JSON file (the same fields as the JSON API). `child_area`
    picks the policy (default: the default policy); the counterpart must be in the directory or
    at one of that area's secure domains."""
    from escalation.casework import disagreements as d
    from escalation.casework.intake import RaiseRequest
    from escalation.reads import plain_text
    from escalation.store.db import transaction

    try:
        data = json.loads(read_text(json_file))
    except json.JSONDecodeError as error:
        raise InvalidInput({"json": f"{json_file}: line {error.lineno}: {error.msg}"}) from None
    request = RaiseRequest.parse(data)
    policy = raise_policy(request)
    with transaction(sessions()) as session:
        disagreement = d.raise_disagreement(
            session, request=request, policy=policy, now=now_from(now)
        )
        typer.echo(plain_text.summary_line(disagreement))


def show(reference: str, now: NowOption = None) -> None:
    """The record, its current stage, owner and deadline, and its chronology."""
    from escalation.casework import disagreements as d
    from escalation.reads import plain_text
    from escalation.store.db import transaction

    with transaction(sessions()) as session:
        disagreement = d.get(session, reference)
        typer.echo(plain_text.record(session, disagreement, now_from(now)))


def list_command(
    open_only: Annotated[bool, typer.Option("--open", help="Only open ones.")] = False,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only overdue ones.")] = False,
    now: NowOption = None,
) -> None:
    """Disagreements, most urgent deadline first."""
    from sqlalchemy import select

    from escalation.reads import plain_text
    from escalation.store.db import transaction
    from escalation.store.models import Disagreement

    at = now_from(now)
    query = select(Disagreement).order_by(Disagreement.due_at)
    if open_only or overdue:
        query = query.where(Disagreement.status == "open")
    if overdue:
        query = query.where(Disagreement.due_at <= at)
    with transaction(sessions()) as session:
        rows = list(session.execute(query).scalars())
        for disagreement in rows:
            typer.echo(plain_text.summary_line(disagreement, at))
    if not rows:
        typer.echo("no disagreements match", err=True)


def acknowledge(reference: str, actor: AsOption, now: NowOption = None) -> None:
    """The stage owner acknowledges the current stage."""
    _act("acknowledge", reference=reference, actor=actor, now=now_from(now))


def escalate(
    reference: str,
    actor: AsOption,
    reason: Annotated[str, typer.Option()] = "",
    now: NowOption = None,
) -> None:
    """Escalate to the next stage now (the owner, or the board)."""
    _act("escalate", reference=reference, actor=actor, now=now_from(now), reason=reason)


def resolve(
    reference: str,
    actor: AsOption,
    outcome: Annotated[str, typer.Option()],
    summary: Annotated[str, typer.Option()],
    theme: Annotated[
        list[str] | None, typer.Option("--theme", help="A learning theme (repeat for more).")
    ] = None,
    systemic: Annotated[
        bool | None,
        typer.Option("--systemic/--not-systemic", help="Does it point to a systemic issue?"),
    ] = None,
    lesson: Annotated[str, typer.Option(help="The lesson, in a sentence or two.")] = "",
    action: Annotated[
        list[str] | None,
        typer.Option(
            "--action",
            help="An agreed action, 'what|owner_email|YYYY-MM-DD'; a meeting, "
            "'what|owner_email|ISO instant|place' (repeat for more).",
        ),
    ] = None,
    now: NowOption = None,
) -> None:
    """Propose how it ends: an outcome from the fixed list, a summary, the learning and the
    agreed actions. The raiser is asked for their say; agreed actions are watched until done."""
    from escalation.casework import disagreements as d
    from escalation.casework.endings import Learning, open_actions
    from escalation.reads import plain_text
    from escalation.store.db import transaction

    actions = tuple(_action(number, text) for number, text in enumerate(action or [], start=1))
    at = now_from(now)
    with transaction(sessions()) as session:
        try:
            disagreement = d.resolve(
                session,
                reference=reference,
                actor=actor,
                now=at,
                outcome=outcome,
                summary=summary,
                learning=Learning(tuple(theme or ()), systemic, lesson),
                actions=actions,
            )
        except InvalidInput as error:
            raise InvalidInput(_option_names(error.problems)) from None
        typer.echo(plain_text.summary_line(disagreement, at))
        for item in open_actions(session, disagreement):
            when = item.meeting_at.isoformat() if item.meeting_at else item.due_on.isoformat()
            typer.echo(f"  agreed action {item.id}: {item.what}; {item.owner.email}; {when}")


def accept(reference: str, actor: AsOption, now: NowOption = None) -> None:
    """Accept the proposed resolution (the raiser, or the counterpart when it was asked)."""
    _act("accept", reference=reference, actor=actor, now=now_from(now))


def contest(
    reference: str,
    actor: AsOption,
    reason: Annotated[str, typer.Option(help="Why you do not accept it.")],
    now: NowOption = None,
) -> None:
    """Contest the proposed resolution, saying why: it moves up a stage at once."""
    _act("contest", reference=reference, actor=actor, now=now_from(now), reason=reason)


def confirm_action(
    reference: str,
    actor: AsOption,
    action_id: Annotated[int, typer.Option("--id", help="The agreed action's number.")],
    note: Annotated[str, typer.Option(help="What was done (a meeting: what it decided).")],
    attendees: Annotated[str, typer.Option(help="A meeting: who attended.")] = "",
    now: NowOption = None,
) -> None:
    """The agreed action's owner confirms it done; the last one done closes an accepted
    resolution."""
    from escalation.casework import disagreements as d
    from escalation.reads import plain_text
    from escalation.store.db import transaction

    with transaction(sessions()) as session:
        at = now_from(now)
        item = d.confirm_action(
            session,
            reference=reference,
            actor=actor,
            now=at,
            action_id=action_id,
            note=note,
            attendees=attendees,
        )
        typer.echo(f"agreed action {item.id} done")
        typer.echo(plain_text.summary_line(d.get(session, reference), at))


def _action(number: int, text: str) -> ActionInput:
    """'what|owner_email|YYYY-MM-DD', or a meeting: 'what|owner_email|ISO instant|place'."""
    from escalation.casework.endings import ActionInput
    from escalation.rules.calendar import parse_instant

    parts = [part.strip() for part in text.split("|")]
    try:
        if len(parts) == 3 and re.fullmatch(r"\d{4}-\d{2}-\d{2}", parts[2]):
            action = ActionInput(parts[0], parts[1], date.fromisoformat(parts[2]))
        elif len(parts) == 4:
            meeting_at = parse_instant(parts[2])
            action = ActionInput(parts[0], parts[1], None, meeting_at, parts[3])
        else:
            action = None
    except (ValueError, OverflowError):
        action = None
    day = action and (action.meeting_at.date() if action.meeting_at else action.due_on)
    if day is None or not EARLIEST <= day <= LATEST:
        raise InvalidInput(
            {
                f"--action {number}": "give 'what|owner_email|YYYY-MM-DD' or, for a meeting, "
                "'what|owner_email|2026-11-25T14:00:00+00:00|place', dated this century"
            }
        )
    return action


# Dates the calendar can count working days from and to.
EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)
# The casework names fields as the web form does; here they are the options.
OPTION_NAMES = {
    "learning_themes": "--theme",
    "systemic": "--systemic/--not-systemic",
    "lesson": "--lesson",
    "actions": "--action",
}


def _option_names(problems: dict[str, str]) -> dict[str, str]:
    """`actions[2].owner` becomes `--action 2: owner`."""
    named = {}
    for field, message in problems.items():
        field = re.sub(r"^actions\[(\d+)\]\.", r"--action \1: ", field)
        named[OPTION_NAMES.get(field, field)] = message
    return named


def withdraw(
    reference: str,
    actor: AsOption,
    reason: Annotated[str, typer.Option()],
    now: NowOption = None,
) -> None:
    """The raiser withdraws the disagreement, with a reason."""
    _act("withdraw", reference=reference, actor=actor, now=now_from(now), reason=reason)


def hand_to_deputy(reference: str, actor: AsOption, now: NowOption = None) -> None:
    """The owner hands the current stage to their named deputy."""
    _act("hand_to_deputy", reference=reference, actor=actor, now=now_from(now))


def note(
    reference: str,
    actor: AsOption,
    text: Annotated[str, typer.Option("--text")],
    now: NowOption = None,
) -> None:
    """Add a note to the chronology."""
    _act("add_note", reference=reference, actor=actor, now=now_from(now), note=text)


def _act(action: str, **kwargs) -> None:
    """Do the event `action` (a function of casework.disagreements) and print the summary line."""
    from escalation.casework import disagreements as d
    from escalation.reads import plain_text
    from escalation.store.db import transaction

    with transaction(sessions()) as session:
        disagreement = getattr(d, action)(session, **kwargs)
        typer.echo(plain_text.summary_line(disagreement, kwargs["now"]))
