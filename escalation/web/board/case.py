"""The board's case page: everything on the record about one disagreement, both sides of every
stage (its viewing is itself recorded), how it is ending (agreed actions, meetings, the says,
each stage's formal record, the learning), and the board's actions on it: reassignment, a
deadline extension (the board manager asks, the chair decides), changing the counterpart,
moving onto the urgent track; and (endings.py) proposing a resolution, convening and recording
meetings, confirming agreed actions. The page itself is drawn by case_page.py."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from escalation.casework import board_actions
from escalation.casework import disagreements as d
from escalation.rules.errors import InvalidInput
from escalation.web.board import endings
from escalation.web.board.auth import CHAIR, EITHER, MANAGER, BoardUser
from escalation.web.board.case_page import act, show
from escalation.web.forms import PostedForm
from escalation.web.side_actions import FORM_FIELDS, change_counterpart

# The change-counterpart form's fields (the urgent track's is protective_action alone).
COUNTERPART_FORM = tuple(name for name in FORM_FIELDS if name != "protective_action")

router = APIRouter(include_in_schema=False)


@router.get("/board/d/{reference}")
def case_page(request: Request, reference: str, user: BoardUser = Depends(EITHER)) -> Response:
    return show(request, user, reference)


@router.post("/board/d/{reference}/reassign")
def reassign(
    request: Request, reference: str, form: PostedForm, user: BoardUser = Depends(MANAGER)
) -> Response:
    def action(session, ref, values, now):
        board_actions.reassign(
            session,
            reference=ref,
            actor=user.email,
            now=now,
            new_owner_email=values["new_owner"],
            reason=values["reason"],
        )

    return act(request, form, user, reference, action, ("new_owner", "reason"), "reassign")


@router.post("/board/d/{reference}/extension")
def request_extension(
    request: Request, reference: str, form: PostedForm, user: BoardUser = Depends(MANAGER)
) -> Response:
    def action(session, ref, values, now):
        amount = values["amount"].strip()
        board_actions.request_extension(
            session,
            reference=ref,
            actor=user.email,
            now=now,
            amount=int(amount) if amount.isdigit() and len(amount) < 5 else None,
            reason=values["extension_reason"],
        )

    return act(request, form, user, reference, action, ("amount", "extension_reason"), "extension")


@router.post("/board/d/{reference}/extension/decision")
def decide_extension(
    request: Request, reference: str, form: PostedForm, user: BoardUser = Depends(CHAIR)
) -> Response:
    def action(session, ref, values, now):
        if values["decision"] not in ("approve", "refuse"):
            raise InvalidInput({"decision": "Select approve or refuse"})
        board_actions.decide_extension(
            session,
            reference=ref,
            actor=user.email,
            now=now,
            approve=values["decision"] == "approve",
        )

    return act(request, form, user, reference, action, ("decision",), "decision")


@router.post("/board/d/{reference}/counterpart")
def new_counterpart(
    request: Request, reference: str, form: PostedForm, user: BoardUser = Depends(EITHER)
) -> Response:
    def action(session, ref, values, now):
        disagreement = d.get(session, ref)
        change_counterpart(session, disagreement, actor=user.email, now=now, values=values)

    return act(request, form, user, reference, action, COUNTERPART_FORM, "counterpart")


@router.post("/board/d/{reference}/urgent")
def make_urgent(
    request: Request, reference: str, form: PostedForm, user: BoardUser = Depends(EITHER)
) -> Response:
    def action(session, ref, values, now):
        d.make_urgent(
            session,
            reference=ref,
            actor=user.email,
            now=now,
            protective_action=values["protective_action"],
        )

    return act(request, form, user, reference, action, ("protective_action",), "urgent")


# --- how it ends: proposing a resolution, meetings, agreed actions (endings.py) ---------------


@router.post("/board/d/{reference}/close")
def close(
    request: Request, reference: str, form: PostedForm, user: BoardUser = Depends(EITHER)
) -> Response:
    action = endings.propose(user)
    return act(request, form, user, reference, action, endings.CLOSE_FIELDS, "close")


@router.post("/board/d/{reference}/meeting")
def record_meeting(
    request: Request, reference: str, form: PostedForm, user: BoardUser = Depends(EITHER)
) -> Response:
    action = endings.record_meeting(user)
    return act(request, form, user, reference, action, endings.MEETING_FIELDS, "meeting")


@router.post("/board/d/{reference}/convene")
def convene(
    request: Request, reference: str, form: PostedForm, user: BoardUser = Depends(EITHER)
) -> Response:
    action = endings.convene(user)
    return act(request, form, user, reference, action, endings.CONVENE_FIELDS, "convene")


@router.post("/board/d/{reference}/confirm")
def confirm(
    request: Request, reference: str, form: PostedForm, user: BoardUser = Depends(EITHER)
) -> Response:
    action = endings.confirm(user)
    return act(request, form, user, reference, action, endings.CONFIRM_FIELDS, "confirm")
