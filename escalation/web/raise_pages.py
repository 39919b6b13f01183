"""The raise journey's question pages, in GOV.UK's one-thing-per-page pattern, then check your
answers (templates/pages/raise_*.html).

The answers travel between the pages in hidden fields of each page's form (every page posts
them all back, with its own), so nothing is stored until the submit, no table is needed and a
session that ends loses only what was typed. Nothing in a hidden field is trusted: each page
checks its own answers with the whole form's validation (raise_form.RaiseForm.checked, keeping
only that page's problems), and the submit checks everything again. Posting them, rather than
putting them in links, keeps a child's details out of addresses and logs; so the check page's
Change links are buttons posting the answers back to that page (`go`), which then returns to
the check page (`return_to`). "About you" is asked only when the directory does not already
know the raiser's name, role and organisation.
"""

from __future__ import annotations

import secrets
from datetime import date

from fastapi import Request
from fastapi.responses import Response

from escalation.casework.counterparts_check import chosen_counterpart, directory_choices
from escalation.rules.errors import InvalidInput
from escalation.rules.vocabulary import CATEGORIES
from escalation.settings import get_settings
from escalation.store.db import transaction
from escalation.web.forms import PostedForm
from escalation.web.raise_common import SignedIn, known_areas, page, policy_of, posted_by
from escalation.web.raise_form import RaiseForm, field_errors

PAGES = {  # each question page's fields, in the journey's order
    "risk": ("immediate_risk", "protective_action"),
    "decision": (
        "counterpart_person",
        "counterpart_name",
        "counterpart_email",
        "counterpart_role",
        "counterpart_organisation",
        "category",
        "decision_disputed",
        "decision_date",
    ),
    "why": ("child_reference", "level_of_need", "reason", "outcome_sought", "other_area"),
    "you": ("raiser_name", "raiser_role", "raiser_organisation"),
}
TITLES = {
    "risk": "Is the child at immediate risk of significant harm?",
    "decision": "The decision you disagree with",
    "why": "Why you disagree and what you want to happen",
    "you": "About you",
    "check": "Check your answers before raising the disagreement",
    "": "Raise a professional disagreement",  # every question at once: the submit's errors
}
CARDS = {  # the check page's summary cards, one per page, each with its Change button
    "risk": "Immediate risk",
    "decision": "The decision and who made it",
    "why": "Why you disagree and what you want to happen",
    "you": "About you",
}
ANCHORS = {"decision_date": "decision_date-day"}
FORM_NAMES = {name: info.alias or name for name, info in RaiseForm.model_fields.items()}


def answer(request: Request, form: PostedForm) -> Response:
    """POST /raise/answer (routed in raising.py): a question page's Continue (`page`: which
    one), or a Change button on the check page (`go`: the page to change). A page with
    problems comes back with them (422); otherwise the next page, or the check page when the
    answer was a change."""
    who = posted_by(request, form)
    if isinstance(who, Response):
        return who
    typed = RaiseForm.posted(form)
    values = typed.model_dump()
    back = form.get("return_to") == "check"
    going = str(form.get("go", ""))
    if going in PAGES:
        return show(request, who, going, values, back=True)
    answered = str(form.get("page", ""))
    if answered not in PAGES:
        return show(request, who, "risk", values)
    errors = page_errors(request, who, typed, answered)
    if errors:
        return show(request, who, answered, values, errors, status=422, back=back)
    return show(request, who, "check" if back else following(answered, values), values)


def following(answered: str, values: dict) -> str:
    """The page after `answered`: "you" only while the raiser's details are incomplete."""
    order = list(PAGES)
    for name in order[order.index(answered) + 1 :]:
        if name != "you" or not all(values[field] for field in PAGES["you"]):
            return name
    return "check"


def page_errors(request: Request, who: SignedIn, typed: RaiseForm, name: str) -> dict[str, str]:
    """The form's problems on page `name`'s fields (the rest wait for their own pages)."""
    try:
        with transaction(request.app.state.sessions) as session:
            typed.checked(
                session,
                email=who.email,
                policies=request.app.state.policies,
                default_id=get_settings().default_policy,
                now=request.app.state.clock(),
            )
    except InvalidInput as error:
        errors = field_errors(error.problems)
        return {field: text for field, text in errors.items() if field in PAGES[name]}
    return {}


def show(
    request: Request,
    who: SignedIn,
    name: str,
    values: dict,
    errors: dict[str, str] | None = None,
    *,
    status: int = 200,
    back: bool = False,
) -> Response:
    """Page `name` of the journey ("" for every question at once), with the answers so far."""
    values = {**values, "form_id": values.get("form_id") or secrets.token_urlsafe(16)}
    context = page_context(
        request, who, values, errors or {}, shown=PAGES.get(name, () if name else None)
    )
    context.update(title=TITLES[name], page=name, return_to="check" if back else "")
    if name == "check":
        rows = answer_rows(request, values)
        context["cards"] = [
            {"title": CARDS[go], "go": go, "rows": [row for row in rows if row["go"] == go]}
            for go in PAGES
        ]
    template = f"pages/raise_{name}.html" if name else "pages/raise.html"
    return page(request, template, context, status)


def page_context(
    request: Request, who: SignedIn, values: dict, errors: dict[str, str], *, shown
) -> dict:
    """What every raise page shows: the answers (those of other pages as hidden fields; all of
    them when `shown` is None and the page has every question, none of them hidden), the
    errors with the summary's links, the choices (areas, categories, the area's directory by
    organisation: names and job titles, never an address) and the area's contacts."""
    known = known_areas(request)
    chosen = values.get("child_area")
    policy = policy_of(request, chosen) if chosen in known else None
    with transaction(request.app.state.sessions) as session:
        directory = directory_choices(
            session, partnerships=[chosen] if policy else list(known), leave_out=who.email
        )
    kept = set() if shown is None else {question(field) for field in FORM_NAMES} - set(shown)
    return {
        "values": values,
        "errors": errors,
        "error_list": [
            {"text": text, "href": f"#{ANCHORS.get(field, field)}"}
            for field, text in errors.items()
            if field != "form"
        ],
        "hidden": [
            (FORM_NAMES[field], values[field])
            for field in FORM_NAMES
            if field != "form_id" and question(field) in kept
        ],
        "categories": [
            {"value": key, "text": text, "checked": values.get("category") == key}
            for key, text in CATEGORIES.items()
        ],
        "areas": [
            {"value": key, "text": text, "checked": chosen == key} for key, text in known.items()
        ],
        "area_name": known.get(chosen) if chosen and "child_area" not in errors else None,
        "several_areas": len(known) > 1,
        "directory": [
            {
                "label": organisation,
                "people": [
                    {
                        "value": str(person.id),
                        "text": ", ".join(filter(None, (person.name, person.job_title))),
                        "selected": values.get("counterpart_person") == str(person.id),
                    }
                    for person in people
                ],
            }
            for organisation, people in directory
        ],
        "secure_domains": ", ".join(policy.secure_domains) if policy else "",
        "front_door_phone": policy.front_door_phone if policy else "",
        "csrf": who.csrf,
        "email": who.email,
    }


def question(field: str) -> str:
    """The question a field answers (the date's three boxes answer one)."""
    for part in ("_day", "_month", "_year"):
        field = field.removesuffix(part)
    return field


def answer_rows(request: Request, values: dict) -> list[dict]:
    """The check page's summary list: each answer (as lines), and the page that changes it."""

    def row(key: str, value: object, go: str, lines: list[str] | None = None) -> dict:
        return {"key": key, "lines": lines or str(value).splitlines() or [""], "go": go}

    risk = values["immediate_risk"] == "yes"
    rows = [row("Immediate risk of significant harm", "Yes" if risk else "No", "risk")]
    if risk:
        rows.append(row("Protective action taken", values["protective_action"], "risk"))
    rows += [
        row("Who made the decision", "", "decision", counterpart_lines(request, values)),
        row("What it is about", CATEGORIES.get(values["category"], ""), "decision"),
        row("The decision", values["decision_disputed"], "decision"),
        row("Date of the decision", decision_day(values), "decision"),
        row("Child reference", values["child_reference"], "why"),
    ]
    if values["level_of_need"]:
        rows.append(row("Level of need", values["level_of_need"], "why"))
    rows += [
        row("Why you disagree", values["reason"], "why"),
        row("What you want to happen", values["outcome_sought"], "why"),
    ]
    if values["other_area"]:
        rows.append(row("The other area (cross-border)", values["other_area"], "why"))
    you = [values[field] for field in PAGES["you"]]
    rows.append(row("You", "", "you", [line for line in you if line] or [""]))
    return rows


def counterpart_lines(request: Request, values: dict) -> list[str]:
    """Who made the decision: the chosen directory person, or what was typed in."""
    if values["counterpart_person"]:
        try:
            with transaction(request.app.state.sessions) as session:
                person = chosen_counterpart(session, values["counterpart_person"])
        except InvalidInput:
            return ["Not found in the directory: choose them again"]
        return [person["name"], person["role"], person["organisation"]]
    typed = ("name", "role", "organisation", "email")
    return [values[f"counterpart_{part}"] for part in typed if values[f"counterpart_{part}"]]


def decision_day(values: dict) -> str:
    """The decision date as GOV.UK writes one (20 November 2026), or as typed."""
    typed = RaiseForm.model_validate(values).decision_date()
    if typed and typed[:1].isdigit():
        day = date.fromisoformat(typed)
        return f"{day.day} {day:%B %Y}"
    parts = ("decision_date_day", "decision_date_month", "decision_date_year")
    return " ".join(values[part] for part in parts)
