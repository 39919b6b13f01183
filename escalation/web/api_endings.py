"""The JSON API's endpoints on how a disagreement ends: propose a resolution, the asked
person's say, an agreed action done. Each names the acting person as `actor`, authorised as
escalation/web/api.py's docstring says; the casework's own checks decide the rest. The API's
router (escalation.web.api) lists them with their paths and adds its rate limit."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from fastapi import Path, Request
from sqlalchemy.orm import Session

from escalation.casework import disagreements as d
from escalation.casework.endings import Learning
from escalation.directory.people import find_person
from escalation.rules.errors import InvalidInput, NotFound
from escalation.store.db import transaction
from escalation.store.models import ApiKey, Disagreement
from escalation.web.api_common import Key, raise_invalid, record_of, visible
from escalation.web.api_models import (
    DisagreementRecord,
    DoneBody,
    ResolutionBody,
    SayBody,
)


def propose_resolution(
    request: Request, reference: str, body: ResolutionBody, key: Key
) -> DisagreementRecord:
    """The stage owner (`actor`) proposes how it ends: the outcome, a summary, the learning and
    the agreed actions (outcomes that arrange something need them; a "convened" one needs a
    meeting among them; "decision changed" and "decision upheld" have none). The raiser is then
    asked for their say, and the agreed actions are watched until each is confirmed done."""
    learning = body.learning and Learning(
        tuple(body.learning.themes), body.learning.systemic, body.learning.lesson
    )

    def act(session: Session, now: datetime) -> None:
        d.resolve(
            session,
            reference=reference,
            actor=body.actor,
            now=now,
            outcome=body.outcome,
            summary=body.summary,
            learning=learning,
            actions=tuple(action.as_input() for action in body.actions),
        )

    return _act(request, key, reference, body.actor, act, "resolution proposed")


def say(request: Request, reference: str, body: SayBody, key: Key) -> DisagreementRecord:
    """Someone asked for their say on a proposed resolution (`actor`: the raiser, or the
    counterpart when the decision stands) accepts it, or contests it with a `reason`: it then
    moves up a stage at once."""

    def act(session: Session, now: datetime) -> None:
        if body.answer == "accept":
            d.accept(session, reference=reference, actor=body.actor, now=now)
        else:
            d.contest(session, reference=reference, actor=body.actor, now=now, reason=body.reason)

    words = "proposed resolution accepted" if body.answer == "accept" else "contested"
    return _act(request, key, reference, body.actor, act, words)


def action_done(
    request: Request,
    reference: str,
    action_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    body: DoneBody,
    key: Key,
) -> DisagreementRecord:
    """The action's owner (`actor`) confirms it done with a note of what happened; a meeting's
    record names who attended. The last one done closes an accepted resolution."""

    def act(session: Session, now: datetime) -> None:
        d.confirm_action(
            session,
            reference=reference,
            actor=body.actor,
            now=now,
            action_id=action_id,
            note=body.note,
            attendees=body.attendees,
        )

    return _act(request, key, reference, body.actor, act, f"agreed action {action_id} done")


def _act(request: Request, key: ApiKey, reference: str, actor: str, act, words: str):
    """Check the key may read it and speaks for the actor (escalation/web/api.py says why), act,
    note on the record that it came through the API, and return the record as it now is."""
    now = request.app.state.clock()
    with transaction(request.app.state.sessions) as session:
        disagreement = d.get(session, reference)
        if not visible(disagreement, key):
            raise NotFound(reference)
        _check_actor(session, disagreement, key, actor)
        try:
            act(session, now)
        except InvalidInput as error:
            raise InvalidInput(_body_fields(error.problems)) from None
        d.add_note(
            session,
            reference=disagreement.reference,
            actor=f"api:{key.organisation}",
            now=now,
            note=f"{words} for {actor} through the API with key {key.prefix}...",
        )
        return record_of(session, disagreement, now)


def _check_actor(session: Session, disagreement: Disagreement, key: ApiKey, actor: str) -> None:
    organisation = _organisation_of(session, disagreement, actor)
    if organisation is None:
        raise_invalid("actor", "not in the directory, nor the raiser or the counterpart here")
    if organisation.strip().lower() != key.organisation.lower():
        raise_invalid("actor", f"this key acts for people of {key.organisation} only")


def _organisation_of(session: Session, disagreement: Disagreement, actor: str) -> str | None:
    """The directory's word first; else what the disagreement names for its raiser or
    counterpart (an agency system's raiser may be known only from the raise)."""
    person = find_person(session, actor)
    if person is not None:
        return person.organisation
    named = {
        disagreement.raiser_email: disagreement.raiser_organisation,
        disagreement.counterpart_email: disagreement.counterpart_organisation,
    }
    return named.get(actor)


# The casework names fields as the web form does; the API names them as its body does.
BODY_FIELDS = {
    "learning_themes": "learning.themes",
    "systemic": "learning.systemic",
    "lesson": "learning.lesson",
}
ACTION_FIELD = re.compile(r"^actions\[(\d+)\]\.(\w+)$")


def _body_fields(problems: dict[str, str]) -> dict[str, str]:
    """`actions[1].owner` (numbered from 1) becomes `actions.0.owner_email`, as the API's
    validation names the body's fields; `learning_themes` becomes `learning.themes`."""
    named = {}
    for field, message in problems.items():
        if match := ACTION_FIELD.match(field):
            name = "owner_email" if match[2] == "owner" else match[2]
            field = f"actions.{int(match[1]) - 1}.{name}"
        named[BODY_FIELDS.get(field, field)] = message
    return named
