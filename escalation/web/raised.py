"""The confirmation page's words (templates/pages/raised.html): the reference, then what happens
next in plain English: who holds the stage (at the first, you: talk to the decision-maker),
by when, where it goes next if it is not resolved by then, and where to follow it."""

from __future__ import annotations

from escalation.rules.calendar import due_text
from escalation.rules.policy import Policy
from escalation.store.models import Disagreement


def confirmation(disagreement: Disagreement, policy: Policy, *, email: str) -> dict:
    """What raised.html shows for `disagreement` just raised by `email` under `policy`."""
    route = policy.for_category(disagreement.category)
    stage = route.stage(disagreement.stage_key)
    after = route.next_stage(disagreement.stage_key)
    owner = disagreement.owner
    return {
        "title": "Disagreement raised",
        "d": disagreement,
        "area": policy.area,
        "stage_title": stage.title,
        "due": due_text(disagreement.due_at, policy.timezone),
        "owner": owner,
        "yours": owner.email.lower() == email.lower(),
        "next_title": after.title if after else None,
    }
