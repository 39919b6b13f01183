"""The (state, event) table: every pair is either the business rule's target or refused."""

import itertools

import pytest

from escalation.rules import statemachine as sm
from escalation.rules.errors import NotAllowed

OPEN = [sm.AWAITING, sm.ACKNOWLEDGED]  # the active states: the stage's clock runs
ENDING = [sm.PROPOSED, sm.WATCHED]

# The rule, written out independently of the module's table.
EXPECTED = {
    (None, "raise"): sm.AWAITING,
    (sm.AWAITING, "acknowledge"): sm.ACKNOWLEDGED,
    **{(state, "escalate"): sm.AWAITING for state in OPEN},
    **{(state, "resolve"): sm.PROPOSED for state in OPEN},
    (sm.PROPOSED, "accept"): sm.WATCHED,
    (sm.PROPOSED, "contest"): sm.AWAITING,
    (sm.WATCHED, "complete"): sm.RESOLVED,
    **{(state, "reopen"): sm.AWAITING for state in ENDING},
    **{(state, "withdraw"): sm.WITHDRAWN for state in OPEN + ENDING},
    **{(state, "confirm_action"): state for state in OPEN + ENDING},
    **{(state, "remind"): state for state in ENDING},
    (sm.WATCHED, "meeting"): sm.WATCHED,
    **{(state, "hand_to_deputy"): state for state in OPEN},
    **{(state, "flag_final_stage_overdue"): state for state in OPEN},
    **{(state, "remind"): state for state in OPEN},
    **{(state, "respond"): state for state in OPEN},
    **{(state, "reassign"): sm.AWAITING for state in OPEN},
    **{
        (state, event): state
        for state in OPEN
        for event in (
            "meeting",
            "request_extension",
            "decide_extension",
            "change_counterpart",
            "make_urgent",
            "convene_meeting",
        )
    },
    **{(state, "view"): state for state in OPEN + ENDING + [sm.RESOLVED, sm.WITHDRAWN]},
    **{(state, "add_note"): state for state in OPEN + ENDING + [sm.RESOLVED, sm.WITHDRAWN]},
}
STATES = [None, *OPEN, *ENDING, sm.RESOLVED, sm.WITHDRAWN]
PAIRS = list(itertools.product(STATES, sm.EVENTS))


def _final_stage_needed(event: str) -> bool:
    return event == "flag_final_stage_overdue"


@pytest.mark.parametrize("state, event", PAIRS, ids=[f"{s}-{e}" for s, e in PAIRS])
def test_every_state_event_pair(state, event):
    at_final = _final_stage_needed(event)
    if (state, event) in EXPECTED:
        assert sm.next_state(state, event, at_final_stage=at_final) == EXPECTED[(state, event)]
    else:
        with pytest.raises(NotAllowed, match=f"cannot {event.replace('_', ' ')}"):
            sm.next_state(state, event, at_final_stage=at_final)


@pytest.mark.parametrize("state", OPEN)
def test_escalation_is_refused_at_the_final_stage(state):
    with pytest.raises(NotAllowed, match="final stage"):
        sm.next_state(state, "escalate", at_final_stage=True)


@pytest.mark.parametrize("state", OPEN)
def test_the_final_stage_flag_is_refused_below_the_final_stage(state):
    with pytest.raises(NotAllowed, match="not at the final stage"):
        sm.next_state(state, "flag_final_stage_overdue", at_final_stage=False)


def test_refusal_messages_read_as_sentences():
    with pytest.raises(NotAllowed) as caught:
        sm.next_state(sm.RESOLVED, "hand_to_deputy")
    assert str(caught.value) == "cannot hand to deputy a disagreement that is resolved"


def test_the_table_holds_every_event_and_its_stage_condition():
    """States and stage conditions are both in the one table: no event outside EVENTS, none
    that is never allowed, and escalation and the final-stage flag carry their conditions."""
    assert {event for _, event in sm.TRANSITIONS} == set(sm.EVENTS)
    conditions = {event: stage for (_, event), (_, stage) in sm.TRANSITIONS.items()}
    assert set(conditions.values()) == {sm.ANY_STAGE, sm.BELOW_FINAL, sm.AT_FINAL}
    assert conditions["escalate"] == sm.BELOW_FINAL
    assert conditions["flag_final_stage_overdue"] == sm.AT_FINAL
    assert conditions["contest"] == sm.BELOW_FINAL  # the chair's determination is final
    assert conditions["reopen"] == sm.ANY_STAGE  # at the final stage it opens the final stage


def test_no_closed_state_is_reached_past_an_open_action():
    """Only `complete` (the last action done) resolves, and only from watched: a proposal is
    never a resolution, and no event closes a disagreement as resolved from an active state."""
    into_resolved = [
        (before, event)
        for (before, event), (after, _) in sm.TRANSITIONS.items()
        if after == sm.RESOLVED and before != sm.RESOLVED
    ]
    assert into_resolved == [(sm.WATCHED, "complete")]
