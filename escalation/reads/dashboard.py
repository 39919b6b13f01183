"""The board dashboard's questions: counts by stage, and one page of disagreements in the order
the board works them (urgent first, then the most overdue), with filters (among them a
counterpart silent past a stage's deadline, the endings: a resolution proposed, or watched until
its agreed actions are done, and the flags of reads/dashboard_flags.py).

A page's ids come first, by LIMIT/OFFSET over the index (partnership, status, urgent, due_at,
id); only those 50 rows then get the columns shown, their flags and their open actions (one
grouped subquery), so a page costs about the same at 100 or 100,000 rows (bench/dashboard.py).
In one query SQLite computed every column of every matching row before sorting (page 600 of
100,000 took 1.2 s).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from pydantic import (
    BaseModel,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from sqlalchemy import and_, case, exists, func, literal, or_, select
from sqlalchemy.orm import Session

from escalation.reads.dashboard_flags import FLAG_WORDS, FLAGS, UNDELIVERED, same_organisation
from escalation.reads.watched import open_action_totals
from escalation.rules import statemachine as sm
from escalation.rules.calendar import DEFAULT_TIMEZONE, local_midnight
from escalation.store.models import Alert, Disagreement, OutboxMessage, Person

PAGE_SIZE = 50
# The "ending" filter's values and the resolution states they stand for.
ENDING = {"proposed": (sm.PROPOSED,), "watched": (sm.WATCHED,), "either": sm.ENDING_STATES}


class Filters(BaseModel):
    """The dashboard's filters, from its query string. Each field's rule is its validator; a
    value that makes no sense is named in `errors` (in ERROR_WORDS' words) and ignored, so the
    page still shows what the other filters ask for. The stages and categories offered are the
    validation context (they are the policy's)."""

    status: Literal["open", "resolved", "withdrawn", "all"] = "open"
    stage: str = ""
    category: str = ""
    raising: str = ""
    receiving: str = ""
    owner: int | None = None
    raised_from: date | None = None
    raised_to: date | None = None
    counterpart_silent: bool = False
    missed_deadline: bool = False
    escalated_automatically: bool = False
    unacknowledged: bool = False
    ending: Literal["proposed", "watched", "either"] | None = None
    page: int = 1
    errors: dict[str, str] = Field(default_factory=dict, exclude=True)

    @field_validator("stage", "category")
    @classmethod
    def offered(cls, value: str, info: ValidationInfo) -> str:
        if value and value not in info.context[info.field_name]:
            raise ValueError("not offered")
        return value

    @field_validator("raising", "receiving")
    @classmethod
    def at_most_200(cls, value: str) -> str:
        return value[:200]  # longer than any organisation: cut, not refused

    @field_validator("owner", mode="before")
    @classmethod
    def person_id(cls, value: str) -> int:
        if not (value.isdigit() and len(value) < 10):
            raise ValueError("not an id")
        return int(value)

    @field_validator("raised_from", "raised_to", mode="before")
    @classmethod
    def iso_day(cls, value: str) -> date:
        day = date.fromisoformat(value)  # ValueError for anything else
        if not 2000 <= day.year <= 9998:  # and date.max + 1 day would overflow
            raise ValueError("out of range")
        return day

    @field_validator("counterpart_silent", *FLAGS, mode="before")
    @classmethod
    def ticked(cls, value: str) -> bool:
        """A ticked box sends "yes"; an unticked one nothing."""
        if value != "yes":
            raise ValueError("not yes")
        return True

    @field_validator("page", mode="before")
    @classmethod
    def page_number(cls, value: str) -> int:
        """Any page number that is not one is the first page (not an error)."""
        return int(value) if value.isdigit() and 0 < len(value) < 7 and int(value) > 0 else 1

    @model_validator(mode="after")
    def dates_in_order(self) -> Filters:
        if self.raised_from and self.raised_to and self.raised_from > self.raised_to:
            raise ValueError("raised_to before raised_from")
        return self


ERROR_WORDS = {
    "status": "Select a status from the list",
    "stage": "Select a stage from the list",
    "category": "Select a category from the list",
    "owner": "Select an owner from the list",
    "raised_from": "Enter a real date, like 2026-11-24",
    "raised_to": "Enter a real date, like 2026-11-24",
    "counterpart_silent": "Tick “Counterpart silent” or leave it clear",
    **{name: f"Tick “{words}” or leave it clear" for name, words in FLAG_WORDS.items()},
    "ending": "Select how it is ending from the list",
}
DATES_OUT_OF_ORDER = "The end date must be the same as or after the start date"


@dataclass(frozen=True)
class Row:
    reference: str
    stage_key: str
    status: str
    urgent: bool
    due_at: datetime
    raised_at: datetime
    closed_at: datetime | None
    category: str
    raiser_organisation: str
    counterpart_organisation: str
    owner_name: str
    undelivered: bool
    final_stage_overdue: bool
    counterpart_silent: bool  # silent past a stage's deadline, at any stage
    resolution_state: str | None  # resolution_proposed, watched, or None (see statemachine)
    open_actions: int  # agreed actions and convened meetings not yet confirmed done
    next_action_on: date | None  # the earliest open one's date
    missed_deadline: bool  # see reads/dashboard_flags.py for these three
    escalated_automatically: bool
    unacknowledged: bool


def parse_filters(params: dict[str, str], *, stages: list[str], categories: list[str]) -> Filters:
    """The filters the query string asks for; each value that makes no sense is named in
    `errors` and left out (a backwards date range drops its end)."""
    given = {name: params[name] for name in Filters.model_fields if params.get(name)}
    given.pop("errors", None)  # not a filter: what parsing the others found
    context = {"stage": stages, "category": categories}  # what each may be
    errors: dict[str, str] = {}
    while True:
        try:
            return Filters.model_validate(given, context=context).model_copy(
                update={"errors": errors}
            )
        except ValidationError as error:
            for item in error.errors():
                if item["loc"]:
                    name = str(item["loc"][0])
                    errors[name] = ERROR_WORDS[name]
                else:  # the dates are the wrong way round: the end goes
                    name = "raised_to"
                    errors[name] = DATES_OUT_OF_ORDER
                given.pop(name)


def counts_by_stage(session: Session, partnership: str, now: datetime) -> dict[str, dict[str, int]]:
    """Open disagreements per stage: all, overdue, urgent."""
    open_here = and_(Disagreement.partnership == partnership, Disagreement.status == "open")
    rows = session.execute(
        select(
            Disagreement.stage_key,
            func.count(),
            func.sum(case_when(Disagreement.due_at <= now)),
            func.sum(case_when(Disagreement.urgent)),
        )
        .where(open_here)
        .group_by(Disagreement.stage_key)
    )
    return {
        stage: {"open": total, "overdue": int(overdue or 0), "urgent": int(urgent or 0)}
        for stage, total, overdue, urgent in rows
    }


def case_when(condition):
    return case((condition, 1), else_=0)


def page_of_rows(
    session: Session, partnership: str, filters: Filters, *, timezone: str = DEFAULT_TIMEZONE
) -> tuple[list[Row], int]:
    """One page of rows and the number of rows matching the filters (whose dates are local
    days in `timezone`, the partnership policy's)."""
    where = _conditions(partnership, filters, timezone)
    total = session.execute(
        select(func.count()).select_from(Disagreement).where(*where)
    ).scalar_one()
    undelivered = exists().where(
        OutboxMessage.disagreement_id == Disagreement.id, OutboxMessage.status.in_(UNDELIVERED)
    )
    totals = open_action_totals()
    if filters.status == "open":
        order = (Disagreement.urgent.desc(), Disagreement.due_at, Disagreement.id)
    else:
        order = (Disagreement.raised_at.desc(), Disagreement.id.desc())
    page_ids = (  # the page's ids first, from the index's columns alone (see the docstring)
        select(Disagreement.id)
        .where(*where)
        .order_by(*order)
        .limit(PAGE_SIZE)
        .offset((filters.page - 1) * PAGE_SIZE)
        .subquery("page_ids")
    )
    query = (
        select(
            Disagreement.reference,
            Disagreement.stage_key,
            Disagreement.status,
            Disagreement.urgent,
            Disagreement.due_at,
            Disagreement.raised_at,
            Disagreement.closed_at,
            Disagreement.category,
            Disagreement.raiser_organisation,
            Disagreement.counterpart_organisation,
            Person.name,
            undelivered.label("undelivered"),
            Disagreement.final_stage_overdue_at.is_not(None),
            Disagreement.counterpart_silent_at.is_not(None),
            Disagreement.resolution_state,
            func.coalesce(totals.c.open_actions, 0),
            totals.c.next_action_on,
            *(flag().label(name) for name, flag in FLAGS.items()),
        )
        .join(page_ids, page_ids.c.id == Disagreement.id)
        .join(Person, Person.id == Disagreement.owner_id)
        .outerjoin(totals, totals.c.disagreement_id == Disagreement.id)
        .order_by(*order)
    )
    return [Row(*row) for row in session.execute(query)], total


def open_alerts(session: Session, partnership: str) -> list[Alert]:
    """Open alerts this board may see: service-wide ones (mail relay, stalled sweep), those
    about one disagreement (key "blocked/REF") only when it is in this partnership, and routing
    gaps (key "gap/PARTNERSHIP/...") only this partnership's."""
    about_ours = exists().where(
        Disagreement.partnership == partnership,
        Alert.key == literal("blocked/") + Disagreement.reference,
    )
    service_wide = ~Alert.key.startswith("blocked/") & ~Alert.key.startswith("gap/")
    our_gaps = Alert.key.startswith(f"gap/{partnership}/", autoescape=True)
    return list(
        session.execute(
            select(Alert)
            .where(Alert.cleared_at.is_(None), or_(service_wide, about_ours, our_gaps))
            .order_by(Alert.last_at.desc())
            .limit(10)
        ).scalars()
    )


def _conditions(partnership: str, filters: Filters, timezone: str) -> list:
    where = [Disagreement.partnership == partnership]
    if filters.status != "all":
        where.append(Disagreement.status == filters.status)
    if filters.stage:
        where.append(Disagreement.stage_key == filters.stage)
    if filters.category:
        where.append(Disagreement.category == filters.category)
    if filters.raising:
        where.append(same_organisation(Disagreement.raiser_organisation, filters.raising))
    if filters.receiving:
        where.append(same_organisation(Disagreement.counterpart_organisation, filters.receiving))
    if filters.owner is not None:
        where.append(Disagreement.owner_id == filters.owner)
    if filters.counterpart_silent:
        where.append(Disagreement.counterpart_silent_at.is_not(None))
    where.extend(flag() for name, flag in FLAGS.items() if getattr(filters, name))
    if filters.ending:
        where.append(Disagreement.resolution_state.in_(ENDING[filters.ending]))
    if filters.raised_from:
        where.append(Disagreement.raised_at >= local_midnight(filters.raised_from, timezone))
    if filters.raised_to:
        next_day = filters.raised_to + timedelta(days=1)
        where.append(Disagreement.raised_at < local_midnight(next_day, timezone))
    return where
