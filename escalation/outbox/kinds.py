"""The kinds of email the service sends: one name each, used for the outbox row's `kind`, its
idempotency key and its templates (`templates/email/<kind>.subject.txt`, `.txt`, `.html`;
tests/test_message_kinds.py checks that every kind has all three and every template a kind)."""

from __future__ import annotations

from enum import StrEnum

TEMPLATE_PARTS = ("subject.txt", "txt", "html")


class MessageKind(StrEnum):
    STAGE_ASSIGNED = "stage_assigned"  # to the new owner: you own this stage, act by ...
    STAGE_UPDATE = "stage_update"  # to those the stage names in `notify`
    REMINDER = "reminder"  # to the owner, before the deadline
    COUNTERPART_RESPONSE = "counterpart_response"  # to the owner: the counterpart answered
    FINAL_STAGE_OVERDUE = "final_stage_overdue"  # to the owner and the board managers
    CLOSED = "closed"  # resolved or withdrawn: to the owner, the raiser and the counterpart
    UNDELIVERABLE = "undeliverable"  # to the board managers: an owner cannot be emailed
    FRESH_LINKS = "fresh_links"  # new links for each open case of the address
    SIGN_IN = "sign_in"  # a one-time sign-in link
    DIGEST = "digest"  # the board manager's daily counts
    SWEEP_STALLED = "sweep_stalled"  # to every board manager: deadlines are not enforced
    # How a disagreement ends (casework/endings.py).
    SAY_ASKED = "say_asked"  # to the raiser (and counterpart): accept or contest the proposal
    ACTION_AGREED = "action_agreed"  # to an agreed action's owner: yours, due ...
    ACTION_REMINDER = "action_reminder"  # to its owner, before its date
    ACTION_CHASE = "action_chase"  # to its owner and the stage owner: its date has passed
    MEETING_INVITATION = "meeting_invitation"  # to each invitee, with an iCalendar attachment
    REOPENED = "reopened"  # to the raiser and the board managers: an action was missed
    ENDING_NOTICE = "ending_notice"  # to the board managers at once (policy): how it ended
    DETERMINATION = "determination"  # to the policy's last step: the chair has determined it

    def template(self, part: str) -> str:
        """The template of one part of this kind's email (a TEMPLATE_PARTS entry)."""
        if part not in TEMPLATE_PARTS:
            raise ValueError(f"an email has the parts {TEMPLATE_PARTS}, not {part!r}")
        return f"email/{self.value}.{part}"


# An owner who cannot be emailed these is offered their deputy (delivery.py).
OWNER_KINDS = frozenset({MessageKind.STAGE_ASSIGNED, MessageKind.REMINDER})

# Which emails a delivery run claims first (lower first; outbox.priority): alarms about the
# service, and a board manager told that a case's owner cannot be emailed, before anything else;
# then the emails someone is waiting for at a "check your email" page; then the rest. The
# database sets each row's priority from its kind (the generated column of migration 0010, its
# SQL in store/models.OUTBOX_PRIORITY); tests/test_delivery_priority.py checks both agree.
ALARM, WAITING, ROUTINE = 0, 1, 2
ALARM_KINDS = frozenset({MessageKind.SWEEP_STALLED, MessageKind.UNDELIVERABLE})
WAITING_KINDS = frozenset({MessageKind.SIGN_IN, MessageKind.FRESH_LINKS})


def priority(kind: MessageKind) -> int:
    """The outbox priority of an email of this kind (lower is sent first)."""
    if kind in ALARM_KINDS:
        return ALARM
    return WAITING if kind in WAITING_KINDS else ROUTINE
