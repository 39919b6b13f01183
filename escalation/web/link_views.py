"""The pages an emailed link shows: whom it is for with a Continue button (all a GET shows), the
case within the link's session (each stage's two sides from reads/casefile, and how it is
ending, from link_endings.py), the neutral page for a link that cannot be used, a message. The
two forms the raising side shares with the board's case page (change the counterpart, move onto
the urgent track) are in side_actions.py.

What each holder is offered follows the link's purpose and the state machine: the stage owner
acts on an active stage (acknowledge, resolve with agreed actions and learning, convene a
meeting, escalate, hand to a deputy) and, once a resolution is proposed or watched, sees what is
awaited; a say link accepts or contests the proposed resolution (at the final stage it accepts,
or adds a note); an action link confirms its holder's own open actions done."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.orm import object_session
from starlette.datastructures import FormData

from escalation.casework import disagreements as d
from escalation.casework.lifecycle import state_of
from escalation.directory.people import deputy_of, find_person
from escalation.outbox import links
from escalation.reads.casefile import casefile, counterpart_choices
from escalation.rules import statemachine as sm
from escalation.rules.calendar import due_text
from escalation.rules.errors import DirectoryError
from escalation.rules.vocabulary import CATEGORIES, OUTCOMES
from escalation.store.models import Disagreement
from escalation.store.pinned_policies import policy_for
from escalation.web import ending_forms
from escalation.web.link_endings import ending_context
from escalation.web.link_pages import choices, chronology, summary_rows
from escalation.web.side_actions import FORM_FIELDS, side_actions

ACTIONS = {
    "acknowledge": "Acknowledge",
    "resolve": "Resolve",
    "convene_meeting": "Convene a meeting",
    "escalate": "Escalate now",
    "hand_to_deputy": "Hand to deputy",
}
ADDRESSEES = {  # whom a link is for, when the directory does not give a first name
    "act": "the owner of this stage",
    "respond": "the professional answering for the agency whose decision is disputed",
    "status": "the professional who raised this disagreement",
    "view": "a professional kept informed of this disagreement",
    "say": "a professional asked to accept or contest a proposed resolution",
    "action": "the owner of an agreed action",
}
ROLES = {
    "act": "the owner of this stage",
    "respond": "answering for the agency whose decision is disputed",
    "status": "who raised it",
    "view": "kept informed",
    "say": "asked for your say on a proposed resolution",
    "action": "who owns an agreed action",
}
VALUE_FIELDS = (
    "outcome",
    "summary",
    "reason",
    "position",
    "response",
    *FORM_FIELDS,
    *ending_forms.FIELDS,
)


def typed_values(form: FormData) -> dict:
    """What the forms sent, as typed (trimmed; "" or [] when not sent)."""
    values: dict = {name: str(form.get(name, "")).strip() for name in VALUE_FIELDS}
    for name in ending_forms.LIST_FIELDS:
        values[name] = [str(value).strip() for value in form.getlist(name)]
    return values


def allowed(holder: links.LinkHolder) -> dict[str, str]:
    """What this link's holder may do now: the owner acts on an active stage; the counterpart
    responds; the owner and the raiser may change the counterpart or make the case urgent; a
    say link answers the proposed resolution; an action link confirms its own actions done."""
    disagreement, purpose = holder.disagreement, holder.token.purpose
    if not disagreement.is_open:
        return {}
    if purpose == "say" and holder.says:
        if _at_final_stage(disagreement):
            return {"say": "Accept the determination", "add_note": "Add a note"}
        return {"say": "Send your answer"}
    if purpose == "action" and holder.items:
        return {"confirm_action": "Confirm it is done"}
    if state_of(disagreement) not in sm.ACTIVE_STATES:
        return {}
    found = dict(ACTIONS) if holder.may_act else {}
    if purpose == "respond" and holder.is_counterpart:
        found["respond"] = "Record your response"
    raiser = purpose == "status" and holder.token.recipient_email == disagreement.raiser_email
    if holder.may_act or raiser:
        found.update(side_actions(disagreement))
    return found


def _at_final_stage(disagreement: Disagreement) -> bool:
    policy = policy_for(object_session(disagreement), disagreement)
    return policy.is_final(disagreement.stage_key)


def continue_page(request, session, holder, token: str, *, status: int = 200, notice: str = ""):
    person = find_person(session, holder.token.recipient_email)
    purpose = holder.token.purpose
    addressee = ADDRESSEES[purpose]
    if person is not None and person.name.split():
        addressee = f"{person.name.split()[0]} ({ROLES[purpose]})"
    return request.app.state.templates.TemplateResponse(
        request,
        "pages/link_continue.html",
        {
            "title": "Open this disagreement",
            "reference": holder.disagreement.reference,
            "addressee": addressee,
            "may_act": holder.may_act,
            "notice": notice,
            "continue_action": f"/l/{token}/continue",
        },
        status_code=status,
    )


def case_page(request, session, holder, now, *, token, csrf, errors=None, done="", status=200):
    """The case as its holder reads it: the summary, "What do you want to do?" (or, once
    acknowledged, a banner saying so), how it is ending, both sides and the chronology."""
    context = _context(session, holder, now, token=token, csrf=csrf, values={})
    errors = errors or {}
    context |= {
        "errors": errors,
        "error_list": [{"text": text, "href": f"#{field}"} for field, text in errors.items()],
        "banner": done == "acknowledge" and holder.disagreement.stage_acknowledged_at is not None,
        "choose_action": f"/l/{token}/choose",
    }
    return request.app.state.templates.TemplateResponse(
        request, "pages/link_case.html", context, status_code=status
    )


def do_page(
    request, session, holder, now, *, token, csrf, action, errors=None, values=None, status=200
):
    """One action's short page (its form, and for handing to the deputy, whom it goes to)."""
    values = _blank_values() | (values or {})
    errors = errors or {}
    context = _context(session, holder, now, token=token, csrf=csrf, values=values)
    context |= {
        "title": ACTION_TITLES.get(action, "Act on this disagreement"),
        "action": action,
        "errors": errors,
        "error_list": [
            {"text": text, "href": f"#{anchor(field)}"} for field, text in errors.items()
        ],
        "values": values,
        "back": f"/l/{token}",
        "deputy": _deputy(session, holder.disagreement, now) if action == "hand_to_deputy" else "",
    }
    return request.app.state.templates.TemplateResponse(
        request, "pages/link_do.html", context, status_code=status
    )


ACTION_TITLES = {
    "acknowledge": "Acknowledge this stage",
    "resolve": "Resolve this disagreement",
    "convene_meeting": "Convene a meeting",
    "escalate": "Escalate it now",
    "hand_to_deputy": "Hand this stage to your deputy",
    "respond": "Your response",
    "say": "The proposed resolution",
    "add_note": "Add a note",
    "confirm_action": "Your agreed actions",
    "change_counterpart": "Change the counterpart",
    "make_urgent": "The child is now at immediate risk",
}


def _deputy(session, disagreement, now) -> str:
    """Whom handing to the deputy would give the stage to ("Nathan Nurse (Example Trust)"), or ""
    when the owner has no deputy present today."""
    policy = policy_for(session, disagreement)
    try:
        cover = deputy_of(
            session, disagreement.owner, disagreement.partnership, policy.calendar.local_date(now)
        ).person
    except DirectoryError:
        return ""
    return f"{cover.name} ({cover.organisation})"


def _context(session, holder, now, *, token: str, csrf: str, values: dict) -> dict:
    disagreement = holder.disagreement
    file = casefile(session, disagreement)
    policy, may = file.policy, allowed(holder)
    values = _blank_values() | values
    category = CATEGORIES.get(disagreement.category, disagreement.category)
    ending = ending_context(session, holder, file, may, values, now)
    if not any(item["held"] for item in ending["my_items"]):
        may.pop("confirm_action", None)  # a meeting is recorded once it has been held
    context = {
        "title": f"Disagreement {disagreement.reference}",
        "d": disagreement,
        "stage": policy.stage(disagreement.stage_key),
        "summary_rows": summary_rows(disagreement, category),
        "stage_number": disagreement.stage_index + 1,
        "stage_count": len(policy.stages),
        "due": due_text(disagreement.due_at, policy.timezone),
        "overdue": disagreement.is_overdue(now),
        "stages": file.stages,
        "chronology": chronology(session, file.events, policy.timezone),
        "holder": holder,
        "choices": choices(disagreement, may),
        "counterpart_choices": counterpart_choices(session, disagreement)
        if "change_counterpart" in may
        else [],
        "secure_domains": ", ".join(policy.secure_domains),
        "position_items": [
            {
                "value": key,
                "text": words.removesuffix("; the rationale is"),
                "checked": values["position"] == key,
            }
            for key, words in d.RESPONSES.items()
        ],
        "outcome_items": [
            {"value": key, "text": words, "checked": values["outcome"] == key}
            for key, words in OUTCOMES.items()
        ],
        "values": values,
        "errors": {},
        "csrf": csrf,
        "file": file,
        "token_path": f"/l/{token}",
        "record_href": f"/l/{token}/records/",
        "choice_titles": ACTION_TITLES,
        **ending,
    }
    return context


def _blank_values() -> dict:
    return {name: "" for name in VALUE_FIELDS} | {name: [] for name in ending_forms.LIST_FIELDS}


def anchor(field: str) -> str:
    """The id the error summary links to for `field`: a date's first box, a row's first field."""
    if field == "meeting_at" or field.endswith(".due_on"):
        return f"{field}-day"
    if field == "actions":
        return "actions[1].what"
    return field


def neutral(request: Request) -> Response:
    return request.app.state.templates.TemplateResponse(
        request, "pages/link_neutral.html", {"title": "This link cannot be used"}, status_code=404
    )


def message(request: Request, title: str, message: str, status: int = 200) -> Response:
    return request.app.state.templates.TemplateResponse(
        request, "pages/message.html", {"title": title, "message": message}, status_code=status
    )
