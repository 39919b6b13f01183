"""One person as the board's form or a directory CSV row gives them (`DirectoryRow`): the one set
of rules for both, with its rules across fields as named constants (`RowRule`) the form maps to
its own words.

Agency types and professional groups are lower_snake words. A word the service's vocabulary does
not list (vocabulary.AGENCY_TYPES, PROFESSIONAL_GROUPS) is accepted, not refused: a partnership's
policy may extend both lists (`agency_types`, `professional_groups`), and the directory serves
several partnerships' policies. Routing treats an unknown word as matching no rule that names
words, so the directory page warns about every value the partnership's policy does not know
(gaps.role_gaps), before it bites.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from pydantic import BaseModel, Field, field_validator, model_validator

from escalation.directory.people import CONTROL, EMAIL, NO_CONTROL, normalise_email
from escalation.rules.vocabulary import ROLES

WORD = re.compile(r"^[a-z][a-z0-9_]*$")
WORD_EXAMPLES = {"agency_type": "childrens_social_care", "professional_group": "social_worker"}
MAX_PARTNERSHIP = 100  # the column's length (models.PersonPartnership.partnership)
# The fields whose absence from a CSV file leaves what the directory holds as it is, so a file
# written before they existed imports without wiping them. A blank cell clears the person's
# facts; a blank agency type says nothing (the organisation keeps its type: organisations.py).
KEPT_WHEN_NOT_GIVEN = (
    "agency_type",
    "professional_group",
    "line_manager_email",
    "other_partnerships",
    "primary_roles",
)


@dataclass(frozen=True)
class RowRule:
    """A rule across a row's fields, with the field it is about and what breaking it means."""

    field: str
    message: str


UNTIL_WITHOUT_FROM = RowRule("absent_until", "give absent_from as well")
UNTIL_BEFORE_FROM = RowRule("absent_until", "is before absent_from")
OWN_DEPUTY = RowRule("deputy_email", "a person cannot be their own deputy")
OWN_LINE_MANAGER = RowRule("line_manager_email", "a person cannot be their own line manager")
PRIMARY_NOT_HELD = RowRule("primary_roles", "each must be one of the row's roles")


class RowRuleBroken(ValueError):
    """Raised inside DirectoryRow's validation; pydantic keeps it in the error's context."""

    def __init__(self, rule: RowRule):
        self.rule = rule
        super().__init__(f"{rule.field}: {rule.message}")


def broken_rule(item: dict) -> RowRule | None:
    """The row rule a pydantic error item is about, or None for a one-field error."""
    error = item.get("ctx", {}).get("error")
    return error.rule if isinstance(error, RowRuleBroken) else None


def split_list(value: object) -> object:
    """A `;`-separated cell as its parts (blank parts dropped); a list is returned as it is."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(";") if part.strip()]
    return value


class DirectoryRow(BaseModel):
    """One person as the form or a CSV row gives them: the one set of rules for both.

    Lengths are the columns' (models.Person), so a long value is named, not a database error;
    a control character (NUL, CR, LF, tab...) in any text is refused with NO_CONTROL, never
    stored or stripped. `agency_type` is their organisation's (stored once per organisation).
    `model_fields_set` says which fields were given: see KEPT_WHEN_NOT_GIVEN."""

    name: str = Field(max_length=200)
    email: str = Field(max_length=320)
    organisation: str = Field(max_length=200)
    partnership: str = Field(max_length=100)
    roles: list[str]
    job_title: str = Field(default="", max_length=200)
    deputy_email: str = Field(default="", max_length=320)
    absent_from: date | None = None
    absent_until: date | None = None
    agency_type: str = Field(default="", max_length=40)
    professional_group: str = Field(default="", max_length=40)
    line_manager_email: str = Field(default="", max_length=320)
    other_partnerships: list[str] = []
    primary_roles: list[str] = []

    @field_validator("*", mode="before")
    @classmethod
    def no_control_characters(cls, value: object) -> object:
        texts = value if isinstance(value, list) else [value]
        if any(isinstance(text, str) and CONTROL.search(text) for text in texts):
            raise ValueError(NO_CONTROL)
        return value

    @field_validator("name", "organisation", "partnership")
    @classmethod
    def not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("is required")
        return value.strip()

    @field_validator("email", "deputy_email", "line_manager_email")
    @classmethod
    def email_shape(cls, value: str) -> str:
        value = normalise_email(value)
        if value and not EMAIL.match(value):
            raise ValueError(f"{value!r} is not an email address")
        return value

    @field_validator("agency_type", "professional_group")
    @classmethod
    def lower_snake_word(cls, value: str, info) -> str:
        value = value.strip().lower()
        if value and not WORD.match(value):
            example = WORD_EXAMPLES[info.field_name]
            raise ValueError(f"{value!r} is not a lower_snake word, like {example}")
        return value

    @field_validator("roles", "primary_roles", mode="before")
    @classmethod
    def split_roles(cls, value: object) -> object:
        if isinstance(value, str):
            value = split_list(value.replace(",", ";"))
        unknown = [role for role in value if role not in ROLES]
        if unknown:
            raise ValueError(f"unknown role {unknown[0]!r}; use one of {', '.join(ROLES)}")
        return value

    @field_validator("other_partnerships", mode="before")
    @classmethod
    def split_partnerships(cls, value: object) -> object:
        value = split_list(value)
        long = [part for part in value if len(part) > MAX_PARTNERSHIP]
        if long:
            raise ValueError(f"each partnership must be {MAX_PARTNERSHIP} characters or fewer")
        return value

    @field_validator("absent_from", "absent_until", mode="before")
    @classmethod
    def blank_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def rules_across_fields(self) -> DirectoryRow:
        if self.absent_until and not self.absent_from:
            raise RowRuleBroken(UNTIL_WITHOUT_FROM)
        if self.absent_from and self.absent_until and self.absent_until < self.absent_from:
            raise RowRuleBroken(UNTIL_BEFORE_FROM)
        if self.deputy_email and self.deputy_email == self.email:
            raise RowRuleBroken(OWN_DEPUTY)
        if self.line_manager_email and self.line_manager_email == self.email:
            raise RowRuleBroken(OWN_LINE_MANAGER)
        if not set(self.primary_roles) <= set(self.roles):
            raise RowRuleBroken(PRIMARY_NOT_HELD)
        # Their home partnership is theirs already; each other one is listed once.
        others = dict.fromkeys(p for p in self.other_partnerships if p != self.partnership)
        self.other_partnerships[:] = list(others)
        return self

    def gives(self, field: str) -> bool:
        """True if the form or the file gave `field` (a blank cell counts: it clears)."""
        return field not in KEPT_WHEN_NOT_GIVEN or field in self.model_fields_set

    @property
    def organisation_key(self) -> str:
        return self.organisation.strip().lower()
