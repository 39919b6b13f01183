"""Your disagreements: a signed-in practitioner's own list (reads/yours.py) and a page per
disagreement with the short forms the casework offers them now: add a note, withdraw with a
reason (the raiser), move onto the urgent track (the raiser or the owner), accept or contest a
proposed resolution (whoever is asked for their say).

Whoever is not involved gets the same 404 as for a reference that does not exist. Every POST
carries the web session's CSRF token; what the casework refuses re-renders the page with a
GOV.UK error summary; what it does ends on the page again (Post/Redirect/Get) with a
notification banner naming what happened and who holds the disagreement now.
"""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from escalation.access import signin
from escalation.casework import disagreements as d
from escalation.casework.lifecycle import state_of
from escalation.reads.yours import Yours, one_of_yours, yours
from escalation.rules import statemachine as sm
from escalation.rules.errors import InvalidInput, NotAllowed, NotFound
from escalation.rules.vocabulary import CATEGORIES, OUTCOMES
from escalation.store.db import transaction
from escalation.store.pinned_policies import policy_for
from escalation.web import ending_forms
from escalation.web.forms import PostedForm
from escalation.web.raising import cookie_name

router = APIRouter(include_in_schema=False)

FIELDS = ("action", "note", "reason", "withdraw_reason", "protective_action", "answer")
SIGN_IN = {
    "title": "Sign in to see your disagreements",
    "intro": "We will email you a link to sign in. Use your work email address. "
    "Then choose “Your disagreements” at the top of the page.",
}
PARTS = {
    "raised": "You raised it.",
    "owner": "You own this stage.",
    "say": "Your say is asked on the proposed resolution.",
    "action": "You own an agreed action.",
}


@router.get("/yours")
def your_disagreements(request: Request) -> Response:
    now = request.app.state.clock()
    with transaction(request.app.state.sessions) as session:
        web = signin.current(session, request.cookies.get(cookie_name()), now=now)
        if web is None:
            return _page(request, "pages/signin.html", dict(SIGN_IN), 401)
        found = yours(session, web.email, now)
        return _page(
            request,
            "pages/yours.html",
            {
                "title": "Your disagreements",
                "email": web.email,
                "open_rows": [one for one in found if one.disagreement.is_open],
                "closed_rows": [one for one in found if not one.disagreement.is_open],
                "parts_words": _parts_words,
            },
        )


@router.get("/yours/{reference}")
def your_disagreement(request: Request, reference: str, done: str = "") -> Response:
    now = request.app.state.clock()
    with transaction(request.app.state.sessions) as session:
        web = signin.current(session, request.cookies.get(cookie_name()), now=now)
        if web is None:
            return _page(request, "pages/signin.html", dict(SIGN_IN), 401)
        one = _involved(session, web.email, reference, now)
        return _case(request, session, one, web, done=done)


@router.post("/yours/{reference}")
def act(request: Request, reference: str, form: PostedForm) -> Response:
    now = request.app.state.clock()
    values = {name: str(form.get(name, "")).strip() for name in FIELDS}
    with transaction(request.app.state.sessions) as session:
        web = signin.current(session, request.cookies.get(cookie_name()), now=now)
        if web is None:
            return _page(request, "pages/signin.html", dict(SIGN_IN), 401)
        email, csrf = web.email, web.csrf_token
        reference = _involved(session, email, reference, now).reference
    if not secrets.compare_digest(str(form.get("csrf", "")), csrf):
        return _page(
            request,
            "pages/message.html",
            {
                "title": "Sorry, there is a problem",
                "message": "This form had expired. Nothing was changed. "
                "Go back, reload the page and try again.",
            },
            403,
        )
    try:
        with transaction(request.app.state.sessions) as session:
            done = _do(session, values, reference=reference, actor=email, now=now)
    except (InvalidInput, NotAllowed) as error:
        errors = error.problems if isinstance(error, InvalidInput) else {"form": str(error)}
        with transaction(request.app.state.sessions) as session:
            web = signin.current(session, request.cookies.get(cookie_name()), now=now)
            one = _involved(session, email, reference, now)
            status = 422 if isinstance(error, InvalidInput) else 409
            return _case(request, session, one, web, values=values, errors=errors, status=status)
    return RedirectResponse(f"/yours/{reference}?done={done}", status_code=303)


def _do(session, values: dict, *, reference: str, actor: str, now) -> str:
    """Do what the form asks; what was done (the banner's key)."""
    action, who = values["action"], {"reference": reference, "actor": actor, "now": now}
    if action == "add_note":
        if not values["note"]:
            raise InvalidInput({"note": "Enter your note"})
        d.add_note(session, note=values["note"], **who)
        return "note"
    if action == "withdraw":
        if not values["withdraw_reason"]:
            raise InvalidInput({"withdraw_reason": "Enter why you are withdrawing it"})
        d.withdraw(session, reason=values["withdraw_reason"], **who)
        return "withdrawn"
    if action == "make_urgent":
        d.make_urgent(session, protective_action=values["protective_action"], **who)
        return "urgent"
    if action == "say":
        disagreement = d.get(session, reference)
        answer = ending_forms.say(session, disagreement, actor=actor, now=now, values=values)
        return "accepted" if answer == "accept" else "contested"
    raise InvalidInput({"action": "Choose what you want to do"})


def _involved(session, email: str, reference: str, now) -> Yours:
    one = one_of_yours(session, email, reference, now)
    if one is None:
        raise NotFound(f"no disagreement of yours with reference {reference[:40]!r}")
    return one


def _case(request, session, one: Yours, web, *, done="", values=None, errors=None, status=200):
    disagreement = one.disagreement
    policy = policy_for(session, disagreement)
    state = state_of(disagreement)
    final = policy.is_final(disagreement.stage_key)
    errors = errors or {}
    may = _may(one, state)
    context = {
        "title": f"Disagreement {disagreement.reference}",
        "one": one,
        "d": disagreement,
        "parts_words": _parts_words(one),
        "category": CATEGORIES.get(disagreement.category, disagreement.category),
        "outcome_words": OUTCOMES.get(disagreement.outcome or "", ""),
        "proposed": state == sm.PROPOSED,
        "may": may,
        "final": final,
        "say_due": one.my_say_due,
        "banner": _banner(done, one, state),
        "csrf": web.csrf_token,
        "email": web.email,
        "values": {name: "" for name in FIELDS} | (values or {}),
        "errors": errors,
        "error_list": [
            {"text": text, "href": f"#{field}" if field != "form" else "#actions"}
            for field, text in errors.items()
        ],
    }
    return _page(request, "pages/yours_case.html", context, status)


def _parts_words(one: Yours) -> str:
    return " ".join(words for part, words in PARTS.items() if part in one.parts)


def _may(one: Yours, state: str) -> set[str]:
    """The forms offered: a note while it is open; withdrawing to the raiser; the urgent track to
    the raiser or the owner of an active, routine stage; the say to whoever is asked."""
    disagreement = one.disagreement
    if not disagreement.is_open:
        return set()
    may = {"add_note"}
    if "raised" in one.parts:
        may.add("withdraw")
    if state in sm.ACTIVE_STATES and not disagreement.urgent and one.parts & {"raised", "owner"}:
        may.add("make_urgent")
    if "say" in one.parts and state == sm.PROPOSED:
        may.add("say")
    return may


def _banner(done: str, one: Yours, state: str) -> str:
    """What was just done and who holds it now; empty if `done` is not what the case shows."""
    disagreement = one.disagreement
    holder = one.waiting
    if state in sm.ACTIVE_STATES:
        owner = disagreement.owner
        holder = (
            f"It is now with {'you' if 'owner' in one.parts else owner.name} "
            f"({owner.organisation}) at stage {one.stage_number} of {one.stage_count}: "
            f"{one.stage_title}, due {one.due}."
        )
    if done == "withdrawn" and disagreement.status == sm.WITHDRAWN:
        return "You have withdrawn it. It is closed; everyone involved has been told."
    if not disagreement.is_open:
        return {
            "accepted": "You accepted the proposed resolution. Every agreed action is done: "
            "it is resolved and closed.",
        }.get(done, "")
    words = {
        "note": "Your note is on the record.",
        "urgent": "It is now on the urgent track; its owner has been emailed.",
        "accepted": "You accepted the proposed resolution.",
        "contested": "You contested the proposed resolution: it has moved up a stage, and its "
        "new owner has been emailed.",
    }.get(done, "")
    if not words or (done == "urgent" and not disagreement.urgent):
        return ""
    return f"{words} {holder}"


def _page(request: Request, name: str, context: dict, status: int = 200) -> Response:
    context.setdefault("errors", {})
    return request.app.state.templates.TemplateResponse(request, name, context, status_code=status)
