"""An invented multi-agency directory for routing tests (no real people), built through the
models: organisations with agency types, people with professional groups, roles (and which
holder is primary), line managers, deputies and the other partnerships they serve; and raising
and escalating a disagreement between two of them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from escalation.casework import disagreements as d
from escalation.casework.intake import RaiseRequest
from escalation.directory.people import find_person
from escalation.store.db import transaction
from escalation.store.models import (
    Alert,
    Event,
    Organisation,
    Person,
    PersonPartnership,
    PersonRole,
    StagePeriod,
)

EXAMPLE = "example-partnership"
LAKESIDE = "lakeside-partnership"
RIVERSIDE = "riverside-partnership"

# alias: (organisation, agency type, the domain of its people's addresses)
ORGANISATIONS = {
    "trust": ("Example Community Health Trust", "health", "trust.example"),
    "icb": ("Example ICB", "health", "icb.example"),
    "surgery": ("Example Surgery", "health", "surgery.example"),
    "council": ("Example Council", "childrens_social_care", "council.example"),
    "police": ("Example Police", "police", "police.example"),
    "rural": ("Rural Police Station", "police", "police.example"),
    "school": ("Example School", "education", "school.example"),
    "education": ("Example Council Education", "education", "council.example"),
    "nursery": ("Little Steps Nursery", "early_years", "nursery.example"),
    "early_years": ("Example Council Early Years", "early_years", "council.example"),
    "board": ("Example Partnership", "other", "partnership.example"),
    "lakeside": ("Lakeside Council", "childrens_social_care", "lakeside.example"),
    "lake_board": ("Lakeside Partnership", "other", "lakeside.example"),
}
# One trust and one ICB serve two local authority areas: their people serve Lakeside too.
SHARED = {"trust": (LAKESIDE,), "icb": (LAKESIDE,)}
TITLES = ("Dr", "PC", "DS", "DI", "Supt", "Sgt")
# name | organisation | roles (* primary) | professional group | job title | line manager, deputy
PEOPLE = """
Hana Visitor      | trust       | practitioner            | nurse          | Health visitor
Dr Paula Paed     | trust       | practitioner            | doctor         | Paediatrician
Nina Named        | trust       | named_professional*     | nurse          | Named nurse
Dr Nadia Named    | trust       | named_professional      | doctor         | Named doctor
Dina Designated   | icb         | designated_professional | nurse          | Designated nurse
Dr Dev Designated | icb         | designated_professional | doctor         | Designated doctor
Ian Executive     | icb         | partnership_lead        | other          | Executive lead
Dr Gail General   | surgery     | practitioner            | doctor         | GP
Dr Lee Lead       | surgery     | named_professional      | doctor         | Practice lead
Sam Social        | council     | practitioner            | social_worker  | Social worker | Tess Team
Tess Team         | council     | team_manager            | social_worker  | TM | Sid Service | Tina Cover
Tina Cover        | council     | practitioner            | social_worker  | Senior practitioner
Sid Service       | council     | service_manager         | social_worker  | Service manager | Hugh Head
Hugh Head         | council     | head_of_service         | social_worker  | Head of service | Dora Director
Dora Director     | council     | partnership_lead        | other          | Director
Ivy Reviewing     | council     | iro_manager             | social_worker  | IRO manager
Eddie Duty        | council     | out_of_hours_manager    | social_worker  | EDT manager
PC Olly Officer   | police      | practitioner            | police_officer | Constable
DS Dee Sergeant   | police      | team_manager            | police_officer | Detective sergeant
DI Ira Inspector  | police      | senior_manager          | police_officer | Detective inspector
Supt Pat Lead     | police      | partnership_lead        | police_officer | Superintendent
PC Rob Rural      | rural       | practitioner            | police_officer | Constable | Sgt Rita Rural
Sgt Rita Rural    | rural       | practitioner            | police_officer | Sergeant | DI Ira Inspector
Tom Teacher       | school      | practitioner            | teacher        | Class teacher
Dana Lead         | school      | named_professional      | teacher        | DSL | | Derek Deputy
Derek Deputy      | school      | practitioner            | teacher        | Deputy DSL
Hal Head          | school      | senior_manager          | teacher        | Head teacher
Liz Learning      | education   | partnership_lead        | other          | Education lead
Nell Nursery      | nursery     | practitioner            | early_years_practitioner | Nursery nurse
Sara Setting      | nursery     | named_professional      | early_years_practitioner | Setting lead
Eli Early         | early_years | senior_manager          | other          | Early years lead
Bea Manager       | board       | board_manager           | other          | Business manager
Chris Chair       | board       | chair                   | other          | Independent chair
Lou Lake          | lakeside    | practitioner            | social_worker  | Social worker | Lottie Lake
Lottie Lake       | lakeside    | team_manager            | social_worker  | Team manager | Luke Lake
Luke Lake         | lakeside    | service_manager         | social_worker  | Service manager | Lyn Lake
Lyn Lake          | lakeside    | head_of_service         | social_worker  | Head of service
Lena Lake         | lake_board  | board_manager           | other          | Business manager
Lars Lake         | lake_board  | chair                   | other          | Independent chair
"""


@dataclass(frozen=True)
class Entry:
    """One person of PEOPLE (roles marked * are the ones they are the primary holder of)."""

    name: str
    alias: str
    roles: str
    group: str
    job_title: str
    line_manager: str = ""
    deputy: str = ""

    @property
    def organisation(self) -> str:
        return ORGANISATIONS[self.alias][0]

    @property
    def email(self) -> str:
        """first.last@ the organisation's domain ("Dr Dev Designated": dev.designated@...)."""
        words = [word for word in self.name.split() if word not in TITLES]
        return f"{'.'.join(words).lower()}@{ORGANISATIONS[self.alias][2]}"


WORLD = [Entry(*(cell.strip() for cell in line.split("|"))) for line in PEOPLE.strip().splitlines()]
BY_NAME = {entry.name: entry for entry in WORLD}


def email_of(name: str) -> str:
    return BY_NAME[name].email


def build(sessions, home: str = EXAMPLE) -> None:
    """The organisations and the people of PEOPLE, in one transaction: Lakeside's in Lakeside,
    everyone else's home partnership is `home`."""
    with transaction(sessions) as session:
        for name, agency, _ in ORGANISATIONS.values():
            session.add(Organisation(key=name.lower(), name=name, agency_type=agency))
        people = {entry.name: _person(entry, home) for entry in WORLD}
        session.add_all(people.values())
        for entry in WORLD:
            people[entry.name].line_manager = people.get(entry.line_manager)
            people[entry.name].deputy = people.get(entry.deputy)


def _person(entry: Entry, home: str) -> Person:
    roles = entry.roles.split(",")
    return Person(
        name=entry.name,
        email=entry.email,
        organisation=entry.organisation,
        partnership=LAKESIDE if entry.alias.startswith("lake") else home,
        job_title=entry.job_title,
        professional_group=entry.group,
        role_rows=[
            PersonRole(role=role.rstrip("*"), is_primary=role.endswith("*")) for role in roles
        ],
        other_partnership_rows=[
            PersonPartnership(partnership=other) for other in SHARED.get(entry.alias, ())
        ],
    )


def change(sessions, name: str, **values) -> None:
    """Set attributes of the person called `name` (e.g. absent_from, active)."""
    with transaction(sessions) as session:
        person = find_person(session, email_of(name))
        for key, value in values.items():
            setattr(person, key, value)


def set_primary(sessions, name: str, role: str, primary: bool) -> None:
    with transaction(sessions) as session:
        for row in find_person(session, email_of(name)).role_rows:
            if row.role == role:
                row.is_primary = primary


def drop_role(sessions, name: str, role: str) -> None:
    with transaction(sessions) as session:
        person = find_person(session, email_of(name))
        person.role_rows = [row for row in person.role_rows if row.role != role]


def request_between(raiser: str, decision_maker: str, **overrides) -> RaiseRequest:
    """A disagreement `raiser` (a name in WORLD) raises about `decision_maker`'s decision."""
    parties = {
        side: {
            "name": entry.name,
            "email": entry.email,
            "organisation": entry.organisation,
            "role": entry.job_title,
        }
        for side, entry in (("raiser", BY_NAME[raiser]), ("counterpart", BY_NAME[decision_maker]))
    }
    data = {
        **parties,
        "child_reference": "ROUTING-CHILD-7",
        "category": "referral",
        "decision_disputed": "No further action on the referral (invented)",
        "decision_date": "2026-11-20",
        "reason": "Weight static for six months (invented)",
        "outcome_sought": "A strategy discussion including the raiser's agency",
        "immediate_risk": False,
    }
    data.update(overrides)
    return RaiseRequest.parse(data)


def raise_between(sessions, raiser: str, decision_maker: str, *, policy, now, **overrides) -> str:
    """Raise it at `now` under `policy`; its reference."""
    with transaction(sessions) as session:
        return d.raise_disagreement(
            session,
            request=request_between(raiser, decision_maker, **overrides),
            policy=policy,
            now=now,
        ).reference


def escalate_when_due(sessions, reference: str) -> datetime:
    """What the sweep does at the current stage's deadline (escalate, or flag the final stage),
    at exactly that instant; the instant."""
    with transaction(sessions) as session:
        due = d.get(session, reference).due_at
    with transaction(sessions) as session:
        assert d.act_if_due(session, reference=reference, now=due) is not None
    return due


@dataclass(frozen=True)
class Period:
    stage_key: str
    owner: str  # a name
    counterpart: str | None  # a name
    owner_reason: str
    counterpart_reason: str


def periods(sessions, reference: str) -> list[Period]:
    """The disagreement's stage periods, oldest first."""
    with transaction(sessions) as session:
        rows = session.execute(
            select(StagePeriod)
            .where(StagePeriod.disagreement_id == d.get(session, reference).id)
            .order_by(StagePeriod.id)
        ).scalars()
        return [
            Period(
                row.stage_key,
                row.owner.name,
                row.counterpart.name if row.counterpart else None,
                row.owner_reason,
                row.counterpart_reason,
            )
            for row in rows
        ]


def stage_events(sessions, reference: str) -> list[Event]:
    """The events that started a stage (raise, escalate, automatic escalation), oldest first."""
    kinds = ("raise", "escalate", "escalate_automatically")
    with transaction(sessions) as session:
        return list(
            session.execute(
                select(Event)
                .where(Event.disagreement_id == d.get(session, reference).id, Event.kind.in_(kinds))
                .order_by(Event.id)
            ).scalars()
        )


def gap_alerts(sessions) -> list[str]:
    with transaction(sessions) as session:
        rows = session.execute(
            select(Alert).where(Alert.kind == "routing_gap").order_by(Alert.id)
        ).scalars()
        return [row.message for row in rows]
