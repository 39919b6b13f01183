"""The board dashboard's questions: counts by stage, and one page of disagreements in the order
the board works them (urgent first, then the most overdue), with filters.

Reads select only the columns a row shows, and page with LIMIT/OFFSET over the index
(partnership, status, urgent, due_at, id), so a page costs the same at 100 or 100,000 rows
(bench/dashboard.py measures it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import and_, case, exists, func, literal, or_, select
from sqlalchemy.orm import Session

from escalation.rules.calendar import DEFAULT_TIMEZONE, local_midnight
from escalation.store.models import Alert, Disagreement, OutboxMessage, Person

PAGE_SIZE = 50
STATUSES = ("open", "resolved", "withdrawn", "all")
UNDELIVERED = ("dead", "failed_permanent")


@dataclass
class Filters:
    status: str = "open"
    stage: str = ""
    category: str = ""
    raising: str = ""
    receiving: str = ""
    owner: int | None = None
    raised_from: date | None = None
    raised_to: date | None = None
    page: int = 1
    errors: dict[str, str] = field(default_factory=dict)


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


def parse_filters(params: dict[str, str], *, stages: list[str], categories: list[str]) -> Filters:
    """Read the query string; a value that makes no sense is named in `errors` and ignored."""
    filters, errors = Filters(), {}
    status = params.get("status", "open") or "open"
    filters.status = status if status in STATUSES else "open"
    if status not in STATUSES:
        errors["status"] = "Select a status from the list"
    for name, allowed in (("stage", stages), ("category", categories)):
        value = params.get(name, "")
        if value and value not in allowed:
            errors[name] = f"Select a {name} from the list"
        else:
            setattr(filters, name, value)
    filters.raising = params.get("raising", "")[:200]
    filters.receiving = params.get("receiving", "")[:200]
    owner = params.get("owner", "")
    if owner:
        if owner.isdigit() and len(owner) < 10:
            filters.owner = int(owner)
        else:
            errors["owner"] = "Select an owner from the list"
    for name in ("raised_from", "raised_to"):
        text = params.get(name, "")
        if text:
            try:
                day = date.fromisoformat(text)
                if not 2000 <= day.year <= 9998:
                    raise ValueError(text)
                setattr(filters, name, day)
            except ValueError:
                errors[name] = "Enter a real date, like 2026-11-24"
    if filters.raised_from and filters.raised_to and filters.raised_from > filters.raised_to:
        errors["raised_to"] = "The end date must be the same as or after the start date"
        filters.raised_to = None
    page = params.get("page", "1")
    filters.page = int(page) if page.isdigit() and 0 < len(page) < 7 and int(page) > 0 else 1
    filters.errors = errors
    return filters


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
    if filters.status == "open":
        order = (Disagreement.urgent.desc(), Disagreement.due_at, Disagreement.id)
    else:
        order = (Disagreement.raised_at.desc(), Disagreement.id.desc())
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
        )
        .join(Person, Person.id == Disagreement.owner_id)
        .where(*where)
        .order_by(*order)
        .limit(PAGE_SIZE)
        .offset((filters.page - 1) * PAGE_SIZE)
    )
    return [Row(*row) for row in session.execute(query)], total


def undelivered_count(session: Session, partnership: str) -> int:
    return session.execute(
        select(func.count())
        .select_from(OutboxMessage)
        .join(Disagreement, OutboxMessage.disagreement_id == Disagreement.id)
        .where(Disagreement.partnership == partnership, OutboxMessage.status.in_(UNDELIVERED))
    ).scalar_one()


def open_alerts(session: Session, partnership: str) -> list[Alert]:
    """Open alerts this board may see: service-wide ones (mail relay, stalled sweep), and those
    about one disagreement (key "blocked/REF") only when it is in this partnership."""
    about_ours = exists().where(
        Disagreement.partnership == partnership,
        Alert.key == literal("blocked/") + Disagreement.reference,
    )
    return list(
        session.execute(
            select(Alert)
            .where(Alert.cleared_at.is_(None), or_(~Alert.key.startswith("blocked/"), about_ours))
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
        where.append(Disagreement.raiser_organisation == filters.raising)
    if filters.receiving:
        where.append(Disagreement.counterpart_organisation == filters.receiving)
    if filters.owner is not None:
        where.append(Disagreement.owner_id == filters.owner)
    if filters.raised_from:
        where.append(Disagreement.raised_at >= local_midnight(filters.raised_from, timezone))
    if filters.raised_to:
        next_day = filters.raised_to + timedelta(days=1)
        where.append(Disagreement.raised_at < local_midnight(next_day, timezone))
    return where
