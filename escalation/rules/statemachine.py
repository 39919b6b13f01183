"""The disagreement's life as a table: (state, event) -> state. Anything not listed is refused.

States: a disagreement is `awaiting_acknowledgement` when a stage has just begun, `acknowledged`
once the owner has acknowledged it, and closed as `resolved` or `withdrawn`. Escalation moves to
the next stage (and back to awaiting acknowledgement); it is refused at the final stage, where an
overdue disagreement stays open and is flagged instead.
"""

from __future__ import annotations

from escalation.rules.errors import NotAllowed

AWAITING = "awaiting_acknowledgement"
ACKNOWLEDGED = "acknowledged"
RESOLVED = "resolved"
WITHDRAWN = "withdrawn"
OPEN_STATES = (AWAITING, ACKNOWLEDGED)
CLOSED_STATES = (RESOLVED, WITHDRAWN)

EVENTS = (
    "raise",
    "acknowledge",
    "escalate",
    "resolve",
    "withdraw",
    "hand_to_deputy",
    "add_note",
    "flag_final_stage_overdue",
    "remind",
    "view",
    "respond",
    "reassign",
    "meeting",
    "request_extension",
    "decide_extension",
)

TRANSITIONS: dict[tuple[str | None, str], str] = {
    (None, "raise"): AWAITING,
    (AWAITING, "acknowledge"): ACKNOWLEDGED,
    (AWAITING, "escalate"): AWAITING,
    (ACKNOWLEDGED, "escalate"): AWAITING,
    (AWAITING, "resolve"): RESOLVED,
    (ACKNOWLEDGED, "resolve"): RESOLVED,
    (AWAITING, "withdraw"): WITHDRAWN,
    (ACKNOWLEDGED, "withdraw"): WITHDRAWN,
    (AWAITING, "hand_to_deputy"): AWAITING,
    (ACKNOWLEDGED, "hand_to_deputy"): ACKNOWLEDGED,
    (AWAITING, "flag_final_stage_overdue"): AWAITING,
    (ACKNOWLEDGED, "flag_final_stage_overdue"): ACKNOWLEDGED,
    (AWAITING, "remind"): AWAITING,
    (ACKNOWLEDGED, "remind"): ACKNOWLEDGED,
    **{(state, "view"): state for state in (AWAITING, ACKNOWLEDGED, RESOLVED, WITHDRAWN)},
    (AWAITING, "respond"): AWAITING,
    (ACKNOWLEDGED, "respond"): ACKNOWLEDGED,
    # A reassigned stage waits for its new owner to acknowledge it.
    **{(state, "reassign"): AWAITING for state in OPEN_STATES},
    **{(state, event): state for state in OPEN_STATES
       for event in ("meeting", "request_extension", "decide_extension")},
    (AWAITING, "add_note"): AWAITING,
    (ACKNOWLEDGED, "add_note"): ACKNOWLEDGED,
    (RESOLVED, "add_note"): RESOLVED,
    (WITHDRAWN, "add_note"): WITHDRAWN,
}

# Guards on the stage, checked after the state: escalation needs a later stage to go to.
NEEDS_LATER_STAGE = {"escalate"}
NEEDS_FINAL_STAGE = {"flag_final_stage_overdue"}


def next_state(state: str | None, event: str, *, at_final_stage: bool = False) -> str:
    """The state after `event`, or NotAllowed naming the state and the event."""
    target = TRANSITIONS.get((state, event))
    if target is None:
        raise NotAllowed(f"cannot {_words(event)} a disagreement that is {_words(state or 'new')}")
    if event in NEEDS_LATER_STAGE and at_final_stage:
        raise NotAllowed(f"cannot {_words(event)}: the disagreement is at the final stage")
    if event in NEEDS_FINAL_STAGE and not at_final_stage:
        raise NotAllowed(f"cannot {_words(event)}: the disagreement is not at the final stage")
    return target


def _words(name: str) -> str:
    return name.replace("_", " ")
