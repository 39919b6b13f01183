"""The disagreement's life as a table: (state, event) -> state. Anything not listed is refused.

States: a disagreement is `awaiting_acknowledgement` when a stage has just begun, `acknowledged`
once the owner has acknowledged it (these two are the *active* states: the stage's clock runs).
The owner's proposed resolution makes it `resolution_proposed`: the raiser (and, when the decision
stands, the counterpart) accept or contest it within the policy's window. Accepted, it is
`watched` until every agreed action is confirmed done, then `resolved`; contested, it moves up a
stage at once. An agreed action overdue by the policy's grace reopens it one stage higher (at
the final stage, at the final stage again). `withdrawn` ends it from any open state.
Escalation is refused at the final stage, where an overdue disagreement stays open and is
flagged instead. Both stage conditions are in the table.
"""

from __future__ import annotations

from escalation.rules.errors import NotAllowed

AWAITING = "awaiting_acknowledgement"
ACKNOWLEDGED = "acknowledged"
PROPOSED = "resolution_proposed"
WATCHED = "watched"
RESOLVED = "resolved"
WITHDRAWN = "withdrawn"
ACTIVE_STATES = (AWAITING, ACKNOWLEDGED)
ENDING_STATES = (PROPOSED, WATCHED)
OPEN_STATES = ACTIVE_STATES + ENDING_STATES
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
    "accept",
    "contest",
    "complete",
    "reopen",
    "confirm_action",
    "convene_meeting",
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
    **{(state, "escalate"): (AWAITING, BELOW_FINAL) for state in ACTIVE_STATES},
    **{(state, "flag_final_stage_overdue"): (state, AT_FINAL) for state in ACTIVE_STATES},
    # The owner proposes; the raiser's say (or silence) accepts, or a contest moves it up.
    **{(state, "resolve"): (PROPOSED, ANY_STAGE) for state in ACTIVE_STATES},
    (PROPOSED, "accept"): (WATCHED, ANY_STAGE),
    (PROPOSED, "contest"): (AWAITING, BELOW_FINAL),
    # Watched until the last agreed action is done; a missed one reopens it a stage higher.
    (WATCHED, "complete"): (RESOLVED, ANY_STAGE),
    **{(state, "reopen"): (AWAITING, ANY_STAGE) for state in ENDING_STATES},
    **{(state, "withdraw"): (WITHDRAWN, ANY_STAGE) for state in OPEN_STATES},
    # A reassigned stage waits for its new owner to acknowledge it; a deputy takes it as it is.
    **{(state, "reassign"): (AWAITING, ANY_STAGE) for state in ACTIVE_STATES},
    **_stays(
        ACTIVE_STATES,
        "hand_to_deputy",
        "respond",
        "request_extension",
        "decide_extension",
        "change_counterpart",
        "make_urgent",
        "convene_meeting",
    ),
    **_stays(ACTIVE_STATES + (WATCHED,), "meeting"),
    **_stays(OPEN_STATES, "remind", "confirm_action"),
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
