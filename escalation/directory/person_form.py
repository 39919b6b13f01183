"""The board's add/edit person form as typed: its fields (`PersonForm`), the values a page shows
again (what was typed, the three GOV.UK date boxes apart), the choices its lists offer, and the
organisation chosen: from the list of organisations, or added deliberately with its agency type
(a typed name beside a listed one would split one organisation in two in the reports).
Checking and saving it is admin.save_person's."""

from __future__ import annotations

from dataclasses import dataclass

from escalation.directory.people import ROLE_WORDS
from escalation.rules.vocabulary import AGENCY_TYPES, PROFESSIONAL_GROUPS, ROLES
from escalation.store.models import Person

DATE_PARTS = ("day", "month", "year")
TEXT_FIELDS = (
    "name",
    "email",
    "organisation",
    "job_title",
    "deputy",
    "agency_type",
    "professional_group",
    "line_manager",
)


@dataclass(frozen=True)
class PersonForm:
    """What the form gave, as typed. Dates are ISO text ("" when blank); deputy and line
    manager are person ids; agency_type is their organisation's ("" leaves it as it is)."""

    name: str = ""
    email: str = ""
    organisation: str = ""
    job_title: str = ""
    roles: tuple[str, ...] = ()
    deputy: str = ""
    absent_from: str = ""
    absent_until: str = ""
    active: bool = True
    agency_type: str = ""
    professional_group: str = ""
    line_manager: str = ""
    primary_roles: tuple[str, ...] = ()

    @classmethod
    def of(cls, person: Person, agency_type: str = "") -> PersonForm:
        """The form for `person` as stored; `agency_type` their organisation's."""
        return cls(
            name=person.name,
            email=person.email,
            organisation=person.organisation,
            job_title=person.job_title,
            roles=tuple(role for role in ROLES if role in person.roles),
            deputy=str(person.deputy_id or ""),
            absent_from=_iso(person.absent_from),
            absent_until=_iso(person.absent_until),
            active=person.active,
            agency_type=agency_type,
            professional_group=person.professional_group,
            line_manager=str(person.line_manager_id or ""),
            primary_roles=tuple(role for role in ROLES if role in person.primary_roles),
        )


def typed_values(form) -> dict:
    """A posted form's values as the page shows them again (each text cut to 400 characters)."""
    values = {name: str(form.get(name, ""))[:400] for name in TEXT_FIELDS + NEW_FIELDS}
    for name in ("roles", "primary_roles"):
        values[name] = [str(role) for role in form.getlist(name)]
    values["active"] = form.get("active") == "yes"
    for name in ("absent_from", "absent_until"):
        for part in DATE_PARTS:
            values[f"{name}-{part}"] = str(form.get(f"{name}-{part}", ""))[:10].strip()
    return values


def values_of(form: PersonForm) -> dict:
    values = {name: getattr(form, name) for name in TEXT_FIELDS} | dict.fromkeys(NEW_FIELDS, "")
    values.update(
        roles=list(form.roles), primary_roles=list(form.primary_roles), active=form.active
    )
    for name in ("absent_from", "absent_until"):
        year, month, day = (getattr(form, name).split("-") + ["", "", ""])[:3]
        values.update(
            {
                f"{name}-day": day.lstrip("0"),
                f"{name}-month": month.lstrip("0"),
                f"{name}-year": year,
            }
        )
    return values


NEW_FIELDS = ("new_organisation", "new_agency_type")
ORGANISATION_WORDS = {
    "blank": "Select their organisation, or add a new one",
    "unlisted": "Select their organisation from the list, or add it as a new one",
    "both": "Select an organisation from the list or add a new one, not both",
    "new_type": "Select the agency type of the new organisation",
}


def organisation_chosen(values: dict, listed: dict[str, str]) -> tuple[dict, dict[str, str]]:
    """`values` with the organisation the form chose: one from the list `listed` (key to
    name), or the one added deliberately in the "add an organisation" fields with its agency
    type (one already listed, in any case, is that one: never a second column in the reports);
    and the problems, by field."""
    chosen, new = values["organisation"].strip(), values["new_organisation"].strip()
    if chosen and new:
        return values, {"new_organisation": ORGANISATION_WORDS["both"]}
    if new:
        if new.lower() in listed:
            return {**values, "organisation": listed[new.lower()]}, {}
        if not values["new_agency_type"]:
            return values, {"new_agency_type": ORGANISATION_WORDS["new_type"]}
        return {**values, "organisation": new, "agency_type": values["new_agency_type"]}, {}
    if not chosen:
        return values, {"organisation": ORGANISATION_WORDS["blank"]}
    if chosen.lower() not in listed:
        return values, {"organisation": ORGANISATION_WORDS["unlisted"]}
    return {**values, "organisation": listed[chosen.lower()]}, {}


def form_from(values: dict) -> PersonForm:
    return PersonForm(
        **{name: values[name] for name in TEXT_FIELDS},
        roles=tuple(values["roles"]),
        primary_roles=tuple(values["primary_roles"]),
        absent_from=_date_text(values, "absent_from"),
        absent_until=_date_text(values, "absent_until"),
        active=values["active"],
    )


def _date_text(values: dict, name: str) -> str:
    """GOV.UK's three boxes as ISO text ("" when all are blank); a bad part stays bad, and so
    does a two-digit year (it is not padded into the first century)."""
    day, month, year = (values[f"{name}-{part}"] for part in DATE_PARTS)
    if not (day or month or year):
        return ""
    return f"{year}-{month.zfill(2)}-{day.zfill(2)}"


def choices(
    values: dict, people: list, *, agency_types: tuple[str, ...] = (), listed: dict | None = None
) -> dict:
    """The form's lists: roles and primary roles (checkboxes), the agency types (the
    vocabulary's, then `agency_types` a policy adds), the professional groups, and `people`
    (deputy_choices' rows) as deputies and line managers. A stored word no list has is offered
    as it is, so saving the form keeps it."""
    types = {**AGENCY_TYPES, **{word: word for word in agency_types if word not in AGENCY_TYPES}}
    names = {name: name for name in (listed or {}).values()}
    return {
        "organisation_items": _options(names, values["organisation"], "Select an organisation"),
        "new_agency_items": _options(types, values["new_agency_type"], "Select an agency type"),
        "role_items": _boxes(values["roles"]),
        "primary_items": _boxes(values["primary_roles"]),
        "agency_items": _options(types, values["agency_type"], "Not recorded"),
        "group_items": _options(PROFESSIONAL_GROUPS, values["professional_group"], "Not recorded"),
        "deputy_items": _people(people, values["deputy"], "No deputy"),
        "line_manager_items": _people(people, values["line_manager"], "No line manager"),
    }


def _boxes(checked: list[str]) -> list[dict]:
    return [
        {"value": role, "text": ROLE_WORDS[role].capitalize(), "checked": role in checked}
        for role in ROLES
    ]


def _options(words: dict[str, str], chosen: str, blank: str) -> list[dict]:
    if chosen and chosen not in words:
        words = {**words, chosen: chosen}
    return [{"value": "", "text": blank}] + [
        {"value": word, "text": text, "selected": word == chosen} for word, text in words.items()
    ]


def _people(people: list, chosen: str, blank: str) -> list[dict]:
    return [{"value": "", "text": blank}] + [
        {
            "value": str(p.id),
            "selected": str(p.id) == chosen,
            "text": f"{p.name}, {p.organisation}" + ("" if p.active else " (inactive)"),
        }
        for p in people
    ]


def _iso(day) -> str:
    return day.isoformat() if day else ""
