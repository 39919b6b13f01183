"""The raise form as a model: its fields as typed (trimmed), which re-render the form, and the
request they make for escalation.casework.intake, whose problems it words in GOV.UK's style.

The child's area (`child_area`) picks the policy; the counterpart is a directory person chosen
from a list (`counterpart_person`, their id) or typed in, and then must be at one of that area's
secure domains (escalation.casework.counterparts_check)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from escalation.casework.counterparts_check import chosen_counterpart, counterpart_problem
from escalation.casework.intake import (
    DATE_TOO_EARLY,
    NOT_A_REAL_DATE,
    NOT_IN_THE_PAST,
    RaiseRequest,
    area_policy,
    uk_date,
)
from escalation.directory.people import EMAIL, normalise_email
from escalation.rules.errors import InvalidInput
from escalation.rules.policy import Policy
from escalation.web.forms import typed_date


class RaiseForm(BaseModel):
    """What the form's fields hold, as typed (trimmed; "" when not sent). GOV.UK's date input
    names the decision date's boxes decision_date-day, -month and -year."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    # In the order of the pages (escalation.web.raise_pages.PAGES), the error summary's order.
    child_area: str = ""
    immediate_risk: str = ""
    protective_action: str = ""
    counterpart_person: str = ""
    counterpart_name: str = ""
    counterpart_email: str = ""
    counterpart_role: str = ""
    counterpart_organisation: str = ""
    category: str = ""
    decision_disputed: str = ""
    decision_date_day: str = Field("", alias="decision_date-day")
    decision_date_month: str = Field("", alias="decision_date-month")
    decision_date_year: str = Field("", alias="decision_date-year")
    child_reference: str = ""
    level_of_need: str = ""
    reason: str = ""
    outcome_sought: str = ""
    other_area: str = ""
    raiser_name: str = ""
    raiser_role: str = ""
    raiser_organisation: str = ""
    form_id: str = ""

    @classmethod
    def posted(cls, form: FormData) -> RaiseForm:
        return cls.model_validate({name: str(value).strip() for name, value in form.items()})

    def as_request(self, email: str) -> dict:
        """The request these fields make (intake.RaiseRequest validates it), raised by `email`."""
        risk = {"yes": True, "no": False}.get(self.immediate_risk)
        return {
            "raiser": {
                "name": self.raiser_name,
                "email": email,
                "organisation": self.raiser_organisation,
                "role": self.raiser_role,
            },
            "counterpart": {
                "name": self.counterpart_name,
                "email": self.counterpart_email,
                "organisation": self.counterpart_organisation,
                "role": self.counterpart_role,
            },
            "child_area": self.child_area or None,
            "other_area": self.other_area,
            "child_reference": self.child_reference,
            "category": self.category,
            "decision_disputed": self.decision_disputed,
            "decision_date": self.decision_date(),
            "reason": self.reason,
            "outcome_sought": self.outcome_sought,
            "level_of_need": self.level_of_need,
            "immediate_risk": risk,
            "protective_action": self.protective_action if risk else "",
            "idempotency_key": f"form:{email}:{self.form_id}" if self.form_id else None,
        }

    def checked(
        self,
        session: Session,
        *,
        email: str,
        policies: dict[str, Policy],
        default_id: str,
        now: datetime,
    ) -> tuple[RaiseRequest, Policy]:
        """The request these fields make, raised by `email`, and the child's area's policy; or
        InvalidInput naming every problem at once: an unknown area, a chosen person who is not
        in the directory (or chosen as well as typed in), a typed address at no secure domain,
        a decision date after today (at `now`), a missing protective action, and whatever
        RaiseRequest refuses (its checks across fields run only once every field is valid, so
        the ones a page must show together are made here too)."""
        problems = self._own_problems(now)
        data = self.as_request(email)
        policy = None
        try:
            policy = area_policy(policies, self.child_area or "", default_id=default_id)
        except InvalidInput as error:
            problems.update(error.problems)
        if self.counterpart_person:
            try:
                data["counterpart"] = chosen_counterpart(session, self.counterpart_person)
            except InvalidInput as error:
                problems.update(error.problems)
            if any(self.typed_counterpart()):
                problems["counterpart_person"] = CHOSEN_AND_TYPED
        elif policy is not None and EMAIL.match(normalise_email(self.counterpart_email)):
            problem = counterpart_problem(session, email=self.counterpart_email, policy=policy)
            if problem:
                problems["counterpart.email"] = problem
        try:
            parsed = RaiseRequest.parse(data)
        except InvalidInput as error:
            problems = {**error.problems, **problems}
        if problems:
            raise InvalidInput(problems)
        parsed.check_against(now)
        return parsed, policy

    def _own_problems(self, now: datetime) -> dict[str, str]:
        problems = {}
        if self.immediate_risk == "yes" and not self.protective_action:
            problems["protective_action"] = "is required"
        day = self.decision_date()
        if day and day[:1].isdigit() and date.fromisoformat(day) > uk_date(now):
            problems["decision_date"] = NOT_IN_THE_PAST
        return problems

    def typed_counterpart(self) -> tuple[str, ...]:
        return (
            self.counterpart_name,
            self.counterpart_email,
            self.counterpart_role,
            self.counterpart_organisation,
        )

    def decision_date(self) -> str | None:
        """The date the three boxes make, as ISO text; None if all are blank; otherwise text the
        model refuses as not a real date (never an exception here, whatever was typed)."""
        try:
            day = typed_date(
                self.decision_date_day, self.decision_date_month, self.decision_date_year
            )
        except ValueError:
            return "not a real date"
        return day.isoformat() if day else None


ENTER = {
    "raiser_name": "Enter your name",
    "raiser_role": "Enter your role",
    "raiser_organisation": "Enter your organisation",
    "counterpart_name": "Enter their name",
    "counterpart_role": "Enter their role",
    "counterpart_organisation": "Enter their organisation",
    "child_reference": "Enter the child reference",
    "decision_disputed": "Enter the decision you disagree with",
    "reason": "Enter why you disagree",
    "outcome_sought": "Enter the outcome you are seeking",
}
CHOSEN_AND_TYPED = "Choose them from the list or enter their details, not both"
MESSAGES = {
    "child_area": "Select the local authority area the child lives in",
    "immediate_risk": "Select yes if the child is at immediate risk of significant harm",
    "decision_date": "Enter the date of the decision, like 20 11 2026",
    "category": "Select what the disagreement is about",
    "protective_action": "Enter what protective action has been taken",
}
DECISION_DATE = {  # the model's messages about decision_date, in GOV.UK's words
    NOT_A_REAL_DATE: "The date of the decision must be a real date",
    NOT_IN_THE_PAST: "The date of the decision must be today or in the past",
    DATE_TOO_EARLY: "The date of the decision must be the same as or after 1 January 1900",
}


def field_errors(problems: dict[str, str]) -> dict[str, str]:
    """Map the model's field names to the form's, in GOV.UK's words where they are fixed, in
    the order of the page (the error summary lists them so)."""
    errors = {}
    for field, message in problems.items():
        name = field.replace(".", "_")
        if name in ENTER and "empty" in message:
            errors[name] = ENTER[name]
        elif name == "decision_date" and message in DECISION_DATE:
            errors[name] = DECISION_DATE[message]
        else:
            errors[name] = MESSAGES.get(name, _sentence(message))
    order = [name.removesuffix("_day") for name in RaiseForm.model_fields]
    return dict(sorted(errors.items(), key=lambda item: _position(order, item[0])))


def _sentence(message: str) -> str:
    """The message with a capital, unless it begins with a domain (nhs.net stays nhs.net)."""
    if "." in message.split(" ", 1)[0]:
        return message
    return message[:1].upper() + message[1:]


def _position(order: list[str], name: str) -> int:
    return order.index(name) if name in order else len(order)
