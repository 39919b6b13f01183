"""Commands on disagreements: raise, show, list, and the events of their life."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import select

from escalation.casework import disagreements as d
from escalation.casework.intake import RaiseRequest
from escalation.cli.common import AsOption, NowOption, now_from, raise_policy, read_text, sessions
from escalation.reads import plain_text
from escalation.rules.errors import InvalidInput
from escalation.store.db import transaction
from escalation.store.models import Disagreement


def raise_command(
    json_file: Annotated[Path, typer.Option("--json", help="The disagreement, as JSON.")],
    now: NowOption = None,
) -> None:
    """Raise a disagreement from a JSON file (the same fields as the JSON API). `child_area`
    picks the policy (default: the default policy); the counterpart must be in the directory or
    at one of that area's secure domains."""
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
    with transaction(sessions()) as session:
        disagreement = d.get(session, reference)
        typer.echo(plain_text.record(session, disagreement, now_from(now)))


def list_command(
    open_only: Annotated[bool, typer.Option("--open", help="Only open ones.")] = False,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only overdue ones.")] = False,
    now: NowOption = None,
) -> None:
    """Disagreements, most urgent deadline first."""
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
    _act(d.acknowledge, reference=reference, actor=actor, now=now_from(now))


def escalate(
    reference: str,
    actor: AsOption,
    reason: Annotated[str, typer.Option()] = "",
    now: NowOption = None,
) -> None:
    """Escalate to the next stage now (the owner, or the board)."""
    _act(d.escalate, reference=reference, actor=actor, now=now_from(now), reason=reason)


def resolve(
    reference: str,
    actor: AsOption,
    outcome: Annotated[str, typer.Option()],
    summary: Annotated[str, typer.Option()],
    now: NowOption = None,
) -> None:
    """Resolve with an outcome from the fixed list and a summary."""
    _act(
        d.resolve,
        reference=reference,
        actor=actor,
        now=now_from(now),
        outcome=outcome,
        summary=summary,
    )


def withdraw(
    reference: str,
    actor: AsOption,
    reason: Annotated[str, typer.Option()],
    now: NowOption = None,
) -> None:
    """The raiser withdraws the disagreement, with a reason."""
    _act(d.withdraw, reference=reference, actor=actor, now=now_from(now), reason=reason)


def hand_to_deputy(reference: str, actor: AsOption, now: NowOption = None) -> None:
    """The owner hands the current stage to their named deputy."""
    _act(d.hand_to_deputy, reference=reference, actor=actor, now=now_from(now))


def note(
    reference: str,
    actor: AsOption,
    text: Annotated[str, typer.Option("--text")],
    now: NowOption = None,
) -> None:
    """Add a note to the chronology."""
    _act(d.add_note, reference=reference, actor=actor, now=now_from(now), note=text)


def _act(action, **kwargs) -> None:
    with transaction(sessions()) as session:
        disagreement = action(session, **kwargs)
        typer.echo(plain_text.summary_line(disagreement, kwargs["now"]))
