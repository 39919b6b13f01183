"""What a new disagreement must say: one validated model shared by the CLI, the form and the API."""

from __future__ import annotations

from datetime import UTC, date, datetime

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)

from escalation.directory.people import EMAIL, normalise_email
from escalation.rules.calendar import local_date
from escalation.rules.errors import InvalidInput
from escalation.rules.policy import Policy, partnership_policy
from escalation.rules.vocabulary import CATEGORIES

_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)

# The range a decision date and a raised_at may take. The form words them in GOV.UK's style by
# these messages (escalation.web.raising); the API and the CLI show them as they are.
EARLIEST_DECISION_DATE = date(1900, 1, 1)
EARLIEST_RAISED_AT = datetime(2000, 1, 1, tzinfo=UTC)
NOT_A_REAL_DATE = "must be a real date, like 2026-11-20"
DATE_TOO_EARLY = "must be 1900-01-01 or later"
NOT_IN_THE_PAST = "must be today or in the past"
NOT_A_REAL_TIME = "must be a real date and time, like 2026-11-24T09:30:00+00:00"


def _no_nul(value: object) -> object:
    """NUL cannot be stored (PostgreSQL refuses it) and is never meant: refuse it as input."""
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("must not contain a NUL character")
    return value


class Party(BaseModel):
    model_config = _STRICT
    _text = field_validator("*", mode="before")(_no_nul)
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(max_length=320)
    organisation: str = Field(min_length=1, max_length=200)
    role: str = Field(min_length=1, max_length=200)

    @field_validator("email")
    @classmethod
    def email_shape(cls, value: str) -> str:
        value = normalise_email(value)
        if not EMAIL.match(value):
            raise ValueError("enter a work email address, like name@example.nhs.uk")
        return value


class RaiseRequest(BaseModel):
    model_config = _STRICT
    _text = field_validator("*", mode="before")(_no_nul)
    raiser: Party
    counterpart: Party
    child_reference: str = Field(min_length=1, max_length=100)
    category: str
    decision_disputed: str = Field(min_length=1, max_length=10_000)
    decision_date: date
    reason: str = Field(min_length=1, max_length=20_000)
    outcome_sought: str = Field(min_length=1, max_length=10_000)
    immediate_risk: bool
    protective_action: str = Field(default="", max_length=10_000)
    level_of_need: str = Field(default="", max_length=100)
    policy: str | None = None
    child_area: str | None = Field(
        default=None,
        max_length=100,
        description="The local authority area the child lives in, as a partnership id: it picks "
        "the policy (see area_policy). Through the API it must be the key's partnership; left "
        "out, the key's partnership's policy applies (the command line: the default policy).",
    )
    other_area: str = Field(
        default="",
        max_length=100,
        description="Cross-border: the other area involved (free text). The case follows "
        "child_area.",
    )
    raised_at: datetime | None = None
    idempotency_key: str | None = Field(default=None, max_length=200)

    @field_validator("category")
    @classmethod
    def known_category(cls, value: str) -> str:
        if value not in CATEGORIES:
            raise ValueError(f"must be one of {', '.join(CATEGORIES)}")
        return value

    @field_validator("decision_date", mode="wrap")
    @classmethod
    def real_decision_date(cls, value: object, handler: ValidatorFunctionWrapHandler) -> date:
        """A calendar date from 1900 on (whether it is past is check_against's, with a clock)."""
        if value is None:
            raise ValueError("is required")
        try:
            day = handler(value)
        except ValidationError:
            raise ValueError(NOT_A_REAL_DATE) from None
        if day < EARLIEST_DECISION_DATE:
            raise ValueError(DATE_TOO_EARLY)
        return day

    @field_validator("raised_at")
    @classmethod
    def aware(cls, value: datetime | None) -> datetime | None:
        """An instant with a UTC offset, from 2000 on, as UTC (so later arithmetic cannot
        overflow: 0001-01-01T00:00:00+01:00 has no UTC equivalent)."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("give a UTC offset, e.g. 2026-11-24T09:30:00+00:00")
        try:
            value = value.astimezone(UTC)
        except OverflowError:
            raise ValueError(NOT_A_REAL_TIME) from None
        if value < EARLIEST_RAISED_AT:
            raise ValueError("must be 2000-01-01 or later")
        return value

    @model_validator(mode="after")
    def risk_needs_protective_action(self) -> RaiseRequest:
        if self.immediate_risk and not self.protective_action:
            raise ValueError(
                "protective_action: say what protective action has been taken (a referral to "
                "Children's Social Care, police on 999); it must not wait for this process"
            )
        if self.raiser.email == self.counterpart.email:
            raise ValueError("counterpart.email: the counterpart must be someone other than you")
        if self.raised_at is not None and uk_date(self.raised_at) < self.decision_date:
            raise ValueError("raised_at: must not be before the decision_date")
        return self

    def check_against(self, now: datetime) -> None:
        """The rules that need the caller's clock: the decision was made on or before today's
        date in the UK, and `raised_at` is not later than `now`. InvalidInput names each field."""
        problems = {}
        if self.decision_date > uk_date(now):
            problems["decision_date"] = NOT_IN_THE_PAST
        if self.raised_at is not None and self.raised_at > now:
            problems["raised_at"] = "must not be in the future"
        if problems:
            raise InvalidInput(problems)

    @classmethod
    def parse(cls, data: object) -> RaiseRequest:
        """Validate, or raise InvalidInput mapping each bad field to its problem."""
        try:
            return cls.model_validate(data)
        except ValidationError as error:
            raise InvalidInput(field_problems(error)) from None


def uk_date(instant: datetime) -> date:
    """The calendar date in the UK at `instant` (an aware datetime)."""
    return local_date(instant)


def field_problems(error: ValidationError) -> dict[str, str]:
    problems: dict[str, str] = {}
    for item in error.errors(include_url=False):
        field = ".".join(str(part) for part in item["loc"])
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "missing":
            message = "is required"
        elif item["type"] == "extra_forbidden":
            message = "is not a known field"
        elif item["type"] == "string_too_short":
            message = "must not be empty"
        if not field and ": " in message:
            field, message = message.split(": ", 1)
        problems.setdefault(field or "body", message)
    return problems


def areas(policies: dict[str, Policy], default_id: str) -> dict[str, str]:
    """The local authority areas the loaded policies serve: partnership id -> the area's name
    (of the policy area_policy would choose there), in order of name."""
    named = {
        policy.partnership: partnership_policy(policies, policy.partnership, default_id).area
        for policy in policies.values()
    }
    return dict(sorted(named.items(), key=lambda item: (item[1].lower(), item[0])))


def area_policy(
    policies: dict[str, Policy], area: str, *, policy_id: str | None = None, default_id: str
) -> Policy:
    """The policy a disagreement about a child who lives in `area` (a partnership id) is raised
    under: `policy_id` if it is one of that partnership's; none named, the default policy if it
    is theirs, else their first by id (rules.policy.partnership_policy). A raiser who works in
    several partnerships raises in the child's. InvalidInput on `child_area` for an area no
    loaded policy serves; on `policy` for a policy of another area (naming only this area's)."""
    own = {key: policy for key, policy in sorted(policies.items()) if policy.partnership == area}
    if not own:
        raise InvalidInput({"child_area": f"no policy is loaded for the area {area[:100]!r}"})
    if policy_id is None:
        return partnership_policy(policies, area, default_id)
    if policy_id not in own:
        raise InvalidInput(
            {"policy": f"no policy {policy_id[:100]!r} for this area; known: {', '.join(own)}"}
        )
    return own[policy_id]
