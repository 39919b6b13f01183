"""A routing gap's alert: seen only by its own partnership's board, and cleared once that
stage's side routes again for the same organisation's cases (the directory was mended)."""

from escalation.directory.people import find_person
from escalation.reads.dashboard import open_alerts
from escalation.store.db import transaction
from escalation.store.models import PersonRole
from tests.factories import MONDAY, POLICIES
from tests.routing_helpers import (
    build,
    drop_role,
    email_of,
    escalate_when_due,
    periods,
    raise_between,
)

NOBODY = "nobody matches named professional or agency safeguarding lead in the same organisation"


def _teacher_at_stage_2(sessions) -> str:
    reference = raise_between(
        sessions, "Tom Teacher", "Sam Social", policy=POLICIES["default"], now=MONDAY
    )
    escalate_when_due(sessions, reference)
    return reference


def _open_gap_messages(sessions, partnership: str) -> list[str]:
    with transaction(sessions) as session:
        return [
            alert.message
            for alert in open_alerts(session, partnership)
            if alert.kind == "routing_gap"
        ]


def test_a_gap_alert_is_its_own_partnerships_and_clears_once_mended(sessions):
    build(sessions)
    drop_role(sessions, "Dana Lead", "named_professional")
    gapped = _teacher_at_stage_2(sessions)
    assert periods(sessions, gapped)[1].owner == "Bea Manager"
    [message] = _open_gap_messages(sessions, "example-partnership")
    assert NOBODY in message and message.endswith("the board manager holds it. Fix the directory.")
    assert _open_gap_messages(sessions, "lakeside-partnership") == []

    with transaction(sessions) as session:
        lead = find_person(session, email_of("Dana Lead"))
        lead.role_rows.append(PersonRole(role="named_professional"))
    mended = _teacher_at_stage_2(sessions)
    assert periods(sessions, mended)[1].owner == "Dana Lead"
    assert _open_gap_messages(sessions, "example-partnership") == []
