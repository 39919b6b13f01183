"""The raise form as a model: its fields as typed (trimmed), which re-render the form, and the
request they make for escalation.casework.intake, whose problems it words in GOV.UK's style."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import FormData

from escalation.casework.intake import DATE_TOO_EARLY, NOT_A_REAL_DATE, NOT_IN_THE_PAST


class RaiseForm(BaseModel):
    """What the form's fields hold, as typed (trimmed; "" when not sent). GOV.UK's date input
    names the decision date's boxes decision_date-day, -month and -year."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    raiser_name: str = ""
    raiser_organisation: str = ""
    raiser_role: str = ""
    counterpart_name: str = ""
    counterpart_email: str = ""
    counterpart_organisation: str = ""
    counterpart_role: str = ""
    child_reference: str = ""
    category: str = ""
    decision_disputed: str = ""
    decision_date_day: str = Field("", alias="decision_date-day")
    decision_date_month: str = Field("", alias="decision_date-month")
    decision_date_year: str = Field("", alias="decision_date-year")
    reason: str = ""
    outcome_sought: str = ""
    immediate_risk: str = ""
    protective_action: str = ""
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
            "child_reference": self.child_reference,
            "category": self.category,
            "decision_disputed": self.decision_disputed,
            "decision_date": self.decision_date(),
            "reason": self.reason,
            "outcome_sought": self.outcome_sought,
            "immediate_risk": risk,
            "protective_action": self.protective_action if risk else "",
            "idempotency_key": f"form:{email}:{self.form_id}" if self.form_id else None,
        }

    def decision_date(self) -> str | None:
        """The date the three boxes make, as ISO text; None if all are blank; otherwise text the
        model refuses as not a real date (never an exception here, whatever was typed)."""
        parts = [self.decision_date_year, self.decision_date_month, self.decision_date_day]
        if not any(parts):
            return None
        if all(part.isascii() and part.isdigit() and len(part) <= 4 for part in parts):
            try:
                return date(*(int(part) for part in parts)).isoformat()
            except ValueError:
                pass
        return "not a real date"


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
MESSAGES = {
    "immediate_risk": "Select yes if the child is at immediate risk of significant harm",
    "decision_date": "Enter the date of the decision, like 20 11 2026",
    "category": "Select what the disagreement is about",
}
DECISION_DATE = {  # the model's messages about decision_date, in GOV.UK's words
    NOT_A_REAL_DATE: "The date of the decision must be a real date",
    NOT_IN_THE_PAST: "The date of the decision must be today or in the past",
    DATE_TOO_EARLY: "The date of the decision must be the same as or after 1 January 1900",
}


def field_errors(problems: dict[str, str]) -> dict[str, str]:
    """Map the model's field names to the form's, in GOV.UK's words where they are fixed."""
    errors = {}
    for field, message in problems.items():
        name = field.replace(".", "_")
        if name in ENTER and "empty" in message:
            errors[name] = ENTER[name]
        elif name == "decision_date" and message in DECISION_DATE:
            errors[name] = DECISION_DATE[message]
        else:
            errors[name] = MESSAGES.get(name, message[:1].upper() + message[1:])
    return errors
