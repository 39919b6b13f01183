"""The gap dry run's memoised directory reads answer exactly as the queries do (it routes
thousands of questions, so it reads each role's holders and the organisations' types once)."""

from escalation.directory.people import agency_of, memoised_reads, role_holders
from escalation.store.db import transaction
from tests.routing_helpers import EXAMPLE, WORLD, build

QUESTIONS = [
    ("named_professional", None, None, ()),
    ("named_professional", "example community health trust", None, ()),
    ("named_professional", None, "health", ("doctor",)),
    ("designated_professional", None, None, ("nurse",)),
    ("team_manager", " Example Council ", None, ()),
    ("senior_manager", None, "early_years", ()),
    ("board_manager", None, None, ()),
]


def test_memoised_answers_are_the_queries_answers(sessions):
    build(sessions)
    with transaction(sessions) as session:
        queried = [
            [p.id for p in role_holders(session, role, EXAMPLE, org, agency=agency, groups=groups)]
            for role, org, agency, groups in QUESTIONS
        ]
        types = [agency_of(session, entry.organisation) for entry in WORLD]
    with transaction(sessions) as session, memoised_reads(session):
        memoised = [
            [p.id for p in role_holders(session, role, EXAMPLE, org, agency=agency, groups=groups)]
            for role, org, agency, groups in QUESTIONS
        ]
        assert [agency_of(session, entry.organisation) for entry in WORLD] == types
    assert memoised == queried
    assert sum(map(len, queried)) > len(QUESTIONS)  # the questions do find people
    assert "directory_reads" not in session.info  # the memo ends with the block
