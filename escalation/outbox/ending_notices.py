"""Who is told how a disagreement is ending (casework/endings.py and its neighbours): the asked
people (accept or contest), agreed actions' owners (agreed, reminded, chased), meeting invitees,
the raiser and the board when it reopens, the board at once when the policy says so, and the
policy's last step when the chair determines it. Outbox rows as in notifications.py: one per
recipient, unique keys, and a context that never holds the child's or the case's text (an
action's `what` is free text, so its emails say only its kind and date).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from escalation.directory.people import role_holders
from escalation.outbox.kinds import MessageKind
from escalation.outbox.notifications import board_managers, interval, queue, without
from escalation.outbox.rows import Recipient
from escalation.rules.calendar import due_text
from escalation.rules.policy import Policy
from escalation.store.models import Disagreement


def say_asked(session: Session, disagreement: Disagreement, policy: Policy, say, now) -> None:
    """Asked to accept or contest a proposed resolution, by when."""
    context = {"say_due_text": due_text(say.due_at, policy.timezone), "part": say.part}
    recipient = Recipient(say.email, "asked")
    queue(
        session,
        disagreement,
        policy,
        MessageKind.SAY_ASKED,
        [recipient],
        now,
        f"say{say.id}",
        context,
    )


def action_agreed(session: Session, disagreement: Disagreement, policy: Policy, item, now) -> None:
    _about_action(session, disagreement, policy, MessageKind.ACTION_AGREED, item, now)


def action_reminder(session: Session, disagreement: Disagreement, policy: Policy, item, now):
    _about_action(session, disagreement, policy, MessageKind.ACTION_REMINDER, item, now)


def action_chase(session: Session, disagreement: Disagreement, policy: Policy, item, now) -> None:
    """Its owner, and the stage owner who is accountable for it."""
    _about_action(session, disagreement, policy, MessageKind.ACTION_CHASE, item, now)
    if disagreement.owner.email != item.owner.email:
        owner = Recipient(disagreement.owner.email, "owner")
        context = _action_context(policy, item)
        queue(
            session,
            disagreement,
            policy,
            MessageKind.ACTION_CHASE,
            [owner],
            now,
            f"action{item.id}",
            context,
        )


def meeting_invitation(session: Session, disagreement: Disagreement, policy: Policy, item, now):
    """Each invitee and the convener: the email carries the meeting's calendar entry."""
    invited = [Recipient(email, "invitee") for email in item.invitees]
    convener = Recipient(item.owner.email, "action_owner")
    context = _action_context(policy, item)
    queue(
        session,
        disagreement,
        policy,
        MessageKind.MEETING_INVITATION,
        [convener, *without(invited, convener.email)],
        now,
        f"action{item.id}",
        context,
    )


def reopened(session: Session, disagreement: Disagreement, policy: Policy, now: datetime) -> None:
    """An agreed action was missed: the raiser and the board managers hear it has reopened
    (the new stage's owner and counterpart are told by stage_entered)."""
    recipients = [
        Recipient(disagreement.owner.email, "owner"),
        Recipient(disagreement.raiser_email, "raiser"),
        *board_managers(session, disagreement.partnership),
    ]
    extra = f"{interval(now)}"
    queue(session, disagreement, policy, MessageKind.REOPENED, recipients, now, extra)


def ending(
    session: Session, disagreement: Disagreement, policy: Policy, how: str, now: datetime
) -> None:
    """The board managers at once, if the policy says so for `how` (every ending is also in
    the daily digest)."""
    if how not in policy.endings.tell_board_at_once:
        return
    managers = board_managers(session, disagreement.partnership)
    context = {"how": how, "outcome": disagreement.outcome or ""}
    extra = f"{how}{interval(now)}"
    queue(session, disagreement, policy, MessageKind.ENDING_NOTICE, managers, now, extra, context)


def determination(session: Session, disagreement: Disagreement, policy: Policy, now) -> None:
    """The chair's written determination: to the policy's last step (partners' lead
    representatives), each with a link to read it."""
    people = [
        Recipient(person.email, "last_step")
        for role in policy.endings.last_step
        for person in role_holders(session, role, disagreement.partnership)
    ]
    queue(session, disagreement, policy, MessageKind.DETERMINATION, people, now)


def _about_action(session, disagreement, policy, kind, item, now) -> None:
    recipient = Recipient(item.owner.email, "action_owner")
    context = _action_context(policy, item)
    queue(session, disagreement, policy, kind, [recipient], now, f"action{item.id}", context)


def _action_context(policy: Policy, item) -> dict:
    """What an action email may say: its kind and date, never what it is (free text may name
    the child); a meeting's time and place (its form says not to name the child there)."""
    context = {
        "action_id": item.id,
        "action_kind": item.kind,
        "action_due_text": due_text(
            policy.calendar.close_of_business_at(item.due_on), policy.timezone
        ),
    }
    if item.meeting_at is not None:
        context["meeting_at"] = item.meeting_at.isoformat()
        context["meeting_text"] = due_text(item.meeting_at, policy.timezone)
        context["place"] = item.place
    return context
