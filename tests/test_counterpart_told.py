"""When a stage begins its counterpart is always emailed their own link, even if the policy's
`notify` list for the stage leaves them out: the receiving side must be asked to respond."""

from sqlalchemy import select

from escalation.casework import disagreements as d
from escalation.rules.policy import policy_from_document
from escalation.store.db import transaction
from escalation.store.models import OutboxMessage
from tests.factories import DEFAULT, MONDAY, RAISER, TEAM_MANAGER, raise_one


def test_the_counterpart_is_told_when_the_policy_does_not_list_them(directory):
    document = DEFAULT.document() | {"version": "counterpart-not-listed"}
    document["stages"][1]["notify"] = ["raiser"]
    policy = policy_from_document(document, "test")
    reference = raise_one(directory, MONDAY, policy=policy)
    with transaction(directory) as session:
        d.escalate(session, reference=reference, actor=RAISER, now=MONDAY)
    with transaction(directory) as session:
        rows = session.execute(
            select(OutboxMessage).where(OutboxMessage.stage_key == "named_professional")
        ).scalars()
        told = {(row.recipient_email, row.recipient_role, row.link_purpose) for row in rows}
    assert (TEAM_MANAGER, "counterpart", "respond") in told
    assert (RAISER, "raiser", "status") in told
