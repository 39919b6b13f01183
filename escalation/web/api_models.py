"""The JSON API's bodies and answers, as pydantic models (so /api/openapi.json describes them
and a body that does not fit is a 422 naming the field before anything is looked up)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from escalation.casework.endings import ActionInput
from escalation.directory.people import CONTROL, EMAIL, normalise_email
from escalation.rules.vocabulary import OUTCOMES


class Owner(BaseModel):
    name: str
    email: str
    organisation: str


class CurrentStage(BaseModel):
    key: str
    title: str
    number: int
    owner: Owner
    due_at: datetime
    acknowledged_at: datetime | None
    overdue: bool


class ChronologyEntry(BaseModel):
    at: datetime
    actor: str
    kind: str
    from_stage: str | None
    to_stage: str | None
    note: str


class DisagreementSummary(BaseModel):
    reference: str
    status: str
    urgent: bool
    category: str
    raiser_organisation: str
    counterpart_organisation: str
    raised_at: datetime
    stage: CurrentStage | None


class AgreedActionLine(BaseModel):
    id: int
    kind: Literal["action", "meeting"]
    what: str
    owner: Owner
    due_on: date
    meeting_at: datetime | None
    state: Literal["open", "done", "missed", "cancelled"]
    ended_at: datetime | None


class Say(BaseModel):
    part: str
    email: str
    asked_at: datetime
    due_at: datetime
    answer: Literal["awaited", "accepted", "contested", "accepted_by_silence", "lapsed"]
    answered_at: datetime | None
    reason: str


class DisagreementRecord(DisagreementSummary):
    child_reference: str
    raiser_name: str
    raiser_email: str
    raiser_role: str
    counterpart_name: str
    counterpart_email: str
    counterpart_role: str
    decision_disputed: str
    decision_date: date
    reason: str
    outcome_sought: str
    immediate_risk: bool
    protective_action: str
    outcome: str | None
    outcome_summary: str | None
    state: str = Field(
        description="awaiting_acknowledgement or acknowledged (the stage's clock runs), "
        "resolution_proposed (waiting for the says), watched (agreed actions open), resolved "
        "or withdrawn"
    )
    actions: list[AgreedActionLine]
    says: list[Say]
    chronology: list[ChronologyEntry]


class ErrorBody(BaseModel):
    errors: dict[str, str] | None = None
    error: str | None = None


ERRORS = {code: {"model": ErrorBody} for code in (401, 404, 409, 422, 429, 503)}
# Dates the calendar can count working days from and to (a date in year 9999 has no next day).
EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)
_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _no_nul(value: object) -> object:
    """NUL cannot be stored (PostgreSQL refuses it) and is never meant: refuse it as input."""
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("must not contain a NUL character")
    return value


def _in_range(day: date) -> date:
    if not EARLIEST <= day <= LATEST:
        raise ValueError(f"must be between {EARLIEST} and {LATEST}")
    return day


class LearningBody(BaseModel):
    model_config = _STRICT
    _text = field_validator("*", mode="before")(_no_nul)
    themes: list[Annotated[str, Field(max_length=100)]] = Field(
        default=[], max_length=20, description="Keys from the policy's learning themes."
    )
    systemic: bool | None = Field(default=None, description="Does it point to a systemic issue?")
    lesson: str = Field(default="", max_length=20_000)


class ActionBody(BaseModel):
    model_config = _STRICT
    _text = field_validator("*", mode="before")(_no_nul)
    what: str = Field(max_length=20_000)
    owner_email: str = Field(
        max_length=320, description="A directory person of the partnership, either side."
    )
    due_on: date | None = Field(default=None, description="Not needed for a meeting.")
    meeting_at: datetime | None = Field(
        default=None, description="A meeting or conference: when it is held (with a UTC offset)."
    )
    place: str = Field(default="", max_length=2000, description="A meeting's place or call.")

    @field_validator("due_on")
    @classmethod
    def due_in_range(cls, value: date | None) -> date | None:
        return None if value is None else _in_range(value)

    @field_validator("meeting_at")
    @classmethod
    def aware(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("give a UTC offset, e.g. 2026-11-24T09:30:00+00:00")
        try:
            value = value.astimezone(UTC)
        except OverflowError:
            raise ValueError("must be a real date and time") from None
        _in_range(value.date())
        return value

    def as_input(self) -> ActionInput:
        return ActionInput(self.what, self.owner_email, self.due_on, self.meeting_at, self.place)


class ActingBody(BaseModel):
    model_config = _STRICT
    _text = field_validator("*", mode="before")(_no_nul)
    actor: str = Field(max_length=320, description="Work email of the person acting.")

    @field_validator("actor")
    @classmethod
    def email_shape(cls, value: str) -> str:
        value = normalise_email(value)
        if CONTROL.search(value) or not EMAIL.match(value):
            raise ValueError("enter a work email address, like name@example.nhs.uk")
        return value


class ResolutionBody(ActingBody):
    outcome: str = Field(description="One of: " + ", ".join(OUTCOMES))
    summary: str = Field(max_length=20_000)
    learning: LearningBody | None = None
    actions: list[ActionBody] = Field(default=[], max_length=20)


class SayBody(ActingBody):
    answer: Literal["accept", "contest"]
    reason: str = Field(default="", max_length=20_000, description="Why, when contesting.")


class DoneBody(ActingBody):
    note: str = Field(max_length=20_000, description="What was done (a meeting: what it decided).")
    attendees: str = Field(default="", max_length=20_000, description="A meeting: who came.")
