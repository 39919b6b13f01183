"""Invented test data: plain functions, no real people or children."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime

from escalation.casework.endings import Learning
from escalation.casework.intake import RaiseRequest
from escalation.directory.csv_rows import import_csv
from escalation.rules.policy import load_policies
from escalation.store.db import transaction

POLICIES = load_policies("policies")
DEFAULT = POLICIES["default"]
FOUR_STAGE = POLICIES["four-stage"]

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the project's directory
ORIGIN = "http://127.0.0.1:8000"  # the default public base URL (the test client's Origin)

RAISER = "hana.visitor@trust.example"
NAMED = "nadia.named@trust.example"
NAMED_DEPUTY = "nathan.nurse@trust.example"
DESIGNATED = "dev.designated@icb.example"
MANAGER = "bea.manager@partnership.example"
CHAIR = "chris.chair@partnership.example"

TEAM_MANAGER = "tia.team@council.example"
SERVICE_MANAGER = "sol.service@council.example"
HEAD_OF_SERVICE = "hal.head@council.example"
COUNCIL_LEAD = "dee.director@council.example"


# Both sides of the default ladder. The trust has two named professionals: the named doctor is
# its primary one (as in Child B1, where the health visitor's case went to the named doctor).
# The council answers for the decision-maker (raise_data()'s counterpart, not listed here): team
# manager, service manager, head of service, then its partnership lead.
def directory_row(
    name: str,
    email: str,
    organisation: str,
    partnership: str,
    roles: str,
    job_title: str = "",
    *,
    agency_type: str = "",
    group: str = "",
    primary_roles: str = "",
    deputy_email: str = "",
) -> str:
    """One more line for DIRECTORY_CSV, in its columns."""
    cells = [name, email, organisation, agency_type, partnership, roles, primary_roles, group]
    return ",".join([*cells, job_title, deputy_email, "", ""]) + "\n"


EXAMPLE = "example-partnership"
DIRECTORY_HEADER = (
    "name,email,organisation,agency_type,partnership,roles,primary_roles,professional_group,"
    "job_title,deputy_email,absent_from,absent_until\n"
)
DIRECTORY_CSV = DIRECTORY_HEADER + "".join(
    [
        directory_row(
            "Hana Visitor",
            RAISER,
            "Example Trust",
            EXAMPLE,
            "practitioner",
            "Health visitor",
            agency_type="health",
            group="nurse",
        ),
        directory_row(
            "Nadia Named",
            NAMED,
            "Example Trust",
            EXAMPLE,
            "named_professional",
            "Named doctor",
            agency_type="health",
            group="doctor",
            primary_roles="named_professional",
            deputy_email=NAMED_DEPUTY,
        ),
        directory_row(
            "Nathan Nurse",
            NAMED_DEPUTY,
            "Example Trust",
            EXAMPLE,
            "named_professional",
            "Named nurse",
            agency_type="health",
            group="nurse",
        ),
        directory_row(
            "Dev Designated",
            DESIGNATED,
            "Example ICB",
            EXAMPLE,
            "designated_professional",
            "Designated doctor",
            agency_type="health",
            group="doctor",
        ),
        directory_row(
            "Bea Manager",
            MANAGER,
            "Example Partnership",
            EXAMPLE,
            "board_manager",
            "Business manager",
            agency_type="other",
            group="other",
        ),
        directory_row(
            "Chris Chair",
            CHAIR,
            "Example Partnership",
            EXAMPLE,
            "chair",
            "Independent chair",
            agency_type="other",
            group="other",
        ),
        *(
            directory_row(
                name,
                email,
                "Example Council",
                EXAMPLE,
                role,
                title,
                agency_type="childrens_social_care",
                group="social_worker",
            )
            for name, email, role, title in (
                ("Tia Team", TEAM_MANAGER, "team_manager", "Team manager"),
                ("Sol Service", SERVICE_MANAGER, "service_manager", "Service manager"),
                ("Hal Head", HEAD_OF_SERVICE, "head_of_service", "Head of service"),
                ("Dee Director", COUNCIL_LEAD, "partnership_lead", "Assistant director"),
            )
        ),
    ]
)


COUNTERPART = "sam.social@council.example"  # raise_data()'s counterpart


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# What whoever closes a disagreement records: themes, systemic or not, a lesson (invented).
LEARNING = Learning(("thresholds",), False, "Thresholds were read differently by the two teams")

MONDAY = utc(2026, 11, 23, 10)  # 10:00 GMT, Monday 23 November 2026


def load_directory(sessions, csv_text: str = DIRECTORY_CSV) -> None:
    with transaction(sessions) as session:
        import_csv(session, csv_text)


def raise_data(**overrides) -> dict:
    data = {
        "raiser": {
            "name": "Hana Visitor",
            "email": RAISER,
            "organisation": "Example Trust",
            "role": "Health visitor",
        },
        "counterpart": {
            "name": "Sam Social",
            "email": COUNTERPART,
            "organisation": "Example Council",
            "role": "Duty social worker",
        },
        "child_reference": "TEST-CHILD-1",
        "category": "referral",
        "decision_disputed": "No further action on the referral",
        "decision_date": "2026-11-20",
        "reason": "Weight static for six months (invented)",
        "outcome_sought": "A strategy discussion including health",
        "immediate_risk": False,
    }
    data.update(overrides)
    return data


def raise_request(**overrides) -> RaiseRequest:
    return RaiseRequest.parse(raise_data(**overrides))


def raise_one(sessions, now: datetime, policy=DEFAULT, **overrides) -> str:
    """Raise one disagreement at `now`; its reference. The decision was made on 20 November
    2026, or on the day it is raised if that is earlier (a decision date is never ahead)."""
    from escalation.casework import disagreements

    overrides.setdefault("decision_date", min(date(2026, 11, 20), now.date()).isoformat())
    with transaction(sessions) as session:
        return disagreements.raise_disagreement(
            session, request=raise_request(**overrides), policy=policy, now=now
        ).reference


def due_at(sessions, reference: str) -> datetime:
    from escalation.casework import disagreements

    with transaction(sessions) as session:
        return disagreements.get(session, reference).due_at


def events_of(sessions, reference: str) -> list:
    """The disagreement's chronology (Event rows), oldest first."""
    from sqlalchemy import select

    from escalation.casework import disagreements
    from escalation.store.models import Event

    with transaction(sessions) as session:
        disagreement = disagreements.get(session, reference)
        return list(
            session.execute(
                select(Event).where(Event.disagreement_id == disagreement.id).order_by(Event.id)
            ).scalars()
        )


def accept_all(sessions, reference: str, now: datetime) -> None:
    """Everyone asked for their say on the proposed resolution accepts it."""
    from escalation.casework import disagreements as d
    from escalation.casework.endings import pending_says

    with transaction(sessions) as session:
        says = [say.email for say in pending_says(session, d.get(session, reference))]
    for email in says:
        with transaction(sessions) as session:
            d.accept(session, reference=reference, actor=email, now=now)
