"""Invented data for the directory's routing facts: a small two-sided policy of the partnership
(independent of the shipped policies, which change with the procedures) and the factory
directory with agency types, professional groups and a primary holder, which has no gap under
it; and the CSV header with every column."""

from __future__ import annotations

from datetime import date

from escalation.directory.csv_rows import CSV_COLUMNS, import_csv
from escalation.directory.gaps import role_gaps
from escalation.rules.policy import policy_from_document
from escalation.store.db import transaction

PARTNERSHIP = "example-partnership"
MONDAY_DATE = date(2026, 11, 23)
HEADER = ",".join(CSV_COLUMNS)

NAMED_RULES = [
    {
        "when": {"agency": "health", "group": "doctor"},
        "role": "named_professional",
        "within": "organisation",
        "group": "doctor",
    },
    {
        "when": {"agency": "health"},
        "role": "named_professional",
        "within": "organisation",
        "or_line_manager": True,
    },
    {"role": "team_manager", "within": "organisation", "or_line_manager": True},
]
DESIGNATED_RULES = [
    {
        "when": {"agency": "health", "previous_group": "doctor"},
        "role": "designated_professional",
        "group": "doctor",
    },
    {"when": {"agency": "health"}, "role": "designated_professional"},
    {"role": "service_manager", "within": "organisation", "or_line_manager": True},
]
LADDER = {
    "id": "ladder",
    "name": "A small two-sided ladder (tests)",
    "version": "1",
    "partnership": PARTNERSHIP,
    "nation": "england-and-wales",
    "stages": [
        {
            "key": "practitioner",
            "title": "Practitioners",
            "owner": "raiser",
            "counterpart": "decision_maker",
            "timescale": {"working_days": 5},
        },
        {
            "key": "named",
            "title": "Named professional or line manager",
            "owner": NAMED_RULES,
            "counterpart": NAMED_RULES,
            "timescale": {"working_days": 3},
        },
        {
            "key": "designated",
            "title": "Designated professional or service manager",
            "owner": DESIGNATED_RULES,
            "counterpart": DESIGNATED_RULES,
            "timescale": {"working_days": 5},
        },
        {
            "key": "board",
            "title": "Board manager",
            "owner": "board_manager",
            "counterpart": [{"role": "partnership_lead", "within": "agency"}],
            "timescale": {"working_days": 5},
        },
    ],
    "urgent": {
        "start_stage": "named",
        "timescales": {"named": {"hours": 4}, "designated": {"hours": 8}, "board": {"hours": 24}},
    },
}
LADDER_POLICY = policy_from_document(LADDER, source="tests/directory_helpers.py")


def person_csv(
    name: str,
    email: str,
    organisation: str,
    roles: str,
    *,
    agency_type: str = "",
    group: str = "",
    deputy: str = "",
    line_manager: str = "",
    others: str = "",
    primary: str = "",
    partnership: str = PARTNERSHIP,
) -> str:
    """One row in CSV_COLUMNS order (no job title, no absence)."""
    cells = [name, email, organisation, partnership, roles, "", deputy, "", ""]
    cells += [agency_type, group, line_manager, others, primary]
    return ",".join(cells)


# The factory directory (tests.factories.DIRECTORY_CSV), its facts given: no gap under LADDER.
TYPED_ROWS = [
    person_csv(
        "Hana Visitor",
        "hana.visitor@trust.example",
        "Example Trust",
        "practitioner",
        agency_type="health",
        group="nurse",
    ),
    person_csv(
        "Nadia Named",
        "nadia.named@trust.example",
        "Example Trust",
        "named_professional",
        group="doctor",
        deputy="nathan.nurse@trust.example",
    ),
    person_csv(
        "Nathan Nurse",
        "nathan.nurse@trust.example",
        "Example Trust",
        "named_professional",
        group="nurse",
        primary="named_professional",
    ),
    person_csv(
        "Dev Designated",
        "dev.designated@icb.example",
        "Example ICB",
        "designated_professional;partnership_lead",
        agency_type="health",
        group="doctor",
    ),
    person_csv(
        "Bea Manager",
        "bea.manager@partnership.example",
        "Example Partnership",
        "board_manager",
        agency_type="other",
    ),
    person_csv(
        "Chris Chair",
        "chris.chair@partnership.example",
        "Example Partnership",
        "chair",
        agency_type="other",
    ),
]
TYPED_CSV = "\n".join([HEADER, *TYPED_ROWS]) + "\n"


def import_rows(sessions, *rows: str, source: str = "people.csv") -> int:
    """Import `rows` (CSV_COLUMNS order) under the full header."""
    with transaction(sessions) as session:
        return import_csv(session, "\n".join([HEADER, *rows]) + "\n", source=source)


def gaps(sessions, policy=LADDER_POLICY, on: date = MONDAY_DATE) -> list[str]:
    with transaction(sessions) as session:
        return role_gaps(session, partnership=PARTNERSHIP, policies=[policy], on=on)


def rule_words(stage: int, side: str, rule: int, policy=LADDER_POLICY) -> str:
    """A rule of `policy` in the routing's own words, as a gap names it ("nobody matches ...")."""
    routes = getattr(policy.stages[stage], side)
    return routes[rule].describe().removeprefix("rule: ")
