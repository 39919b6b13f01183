"""The disagreement's life as a table: (state, event) -> state. Anything not listed is refused.

States: a disagreement is `awaiting_acknowledgement` when a stage has just begun, `acknowledged`
once the owner has acknowledged it, and closed as `resolved` or `withdrawn`. Escalation moves to
the next stage (and back to awaiting acknowledgement); it is refused at the final stage, where an
overdue disagreement stays open and is flagged instead. Both stage conditions are in the table.
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
    "change_counterpart",
    "make_urgent",
)

# Where the disagreement's stage must be for an event: anywhere, below the final stage (there
# must be a later stage to escalate to), or at the final stage (only there is an overdue
# disagreement flagged instead of escalated).
ANY_STAGE = "any stage"
BELOW_FINAL = "below the final stage"
AT_FINAL = "at the final stage"


def _stays(states: tuple[str, ...], *events: str) -> dict:
    """Each of `events` in each of `states` leaves the state as it was, at any stage."""
    return {(state, event): (state, ANY_STAGE) for state in states for event in events}


# (state, event) -> (state after, where the stage must be). Anything not listed is refused.
TRANSITIONS: dict[tuple[str | None, str], tuple[str, str]] = {
    (None, "raise"): (AWAITING, ANY_STAGE),
    (AWAITING, "acknowledge"): (ACKNOWLEDGED, ANY_STAGE),
    **{(state, "escalate"): (AWAITING, BELOW_FINAL) for state in OPEN_STATES},
    **{(state, "flag_final_stage_overdue"): (state, AT_FINAL) for state in OPEN_STATES},
    **{(state, "resolve"): (RESOLVED, ANY_STAGE) for state in OPEN_STATES},
    **{(state, "withdraw"): (WITHDRAWN, ANY_STAGE) for state in OPEN_STATES},
    # A reassigned stage waits for its new owner to acknowledge it; a deputy takes it as it is.
    **{(state, "reassign"): (AWAITING, ANY_STAGE) for state in OPEN_STATES},
    **_stays(
        OPEN_STATES,
        "hand_to_deputy",
        "remind",
        "respond",
        "meeting",
        "request_extension",
        "decide_extension",
        "change_counterpart",
        "make_urgent",
    ),
    # The record stays open to reading and to notes after the disagreement has closed.
    **_stays(OPEN_STATES + CLOSED_STATES, "view", "add_note"),
}


def next_state(state: str | None, event: str, *, at_final_stage: bool = False) -> str:
    """The state after `event`, or NotAllowed naming the state and the event (or the stage)."""
    target, stage = TRANSITIONS.get((state, event), (None, ANY_STAGE))
    if target is None:
        raise NotAllowed(f"cannot {_words(event)} a disagreement that is {_words(state or 'new')}")
    if stage == BELOW_FINAL and at_final_stage:
        raise NotAllowed(f"cannot {_words(event)}: the disagreement is at the final stage")
    if stage == AT_FINAL and not at_final_stage:
        raise NotAllowed(f"cannot {_words(event)}: the disagreement is not at the final stage")
    return target


def _words(name: str) -> str:
    return name.replace("_", " ")
