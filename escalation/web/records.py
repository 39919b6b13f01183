"""A stage's formal record as a PDF download (reads/record_pdf.py), for both sides and the board:
never attached to an email, because an email travels beyond the people it is addressed to.

The board downloads it as it sees the case page (signed in, second factor checked, its own
partnership's cases only); a link holder within the session their emailed link started (the
link's own rules decide which links still work: see outbox/links.py `open_link`). A record of
another disagreement is "not found" to the board and the neutral page to a link holder, as an
unknown one is.

Decision: a download writes nothing. Opening the case is already on the record (the board's
case page and a link's Continue record a view), a GET never changes anything, and a PDF
fetched twice is no new fact about the case.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from escalation.outbox import links
from escalation.reads.record_pdf import filename, record_pdf
from escalation.rules.errors import NotFound
from escalation.store.db import transaction
from escalation.store.models import Disagreement, StageRecord
from escalation.web.board.auth import EITHER, BoardUser, case_for
from escalation.web.link_views import neutral
from escalation.web.links import ONE_LINK, link_cookie
from escalation.web.ratelimit import limited

router = APIRouter(include_in_schema=False)


@router.get("/board/d/{reference}/records/{record_id}.pdf")
def board_record(
    request: Request, reference: str, record_id: str, user: BoardUser = Depends(EITHER)
) -> Response:
    """One of this disagreement's records, to a board manager or chair of its partnership."""
    with transaction(request.app.state.sessions) as session:
        record = _record_of(session, case_for(session, user, reference), record_id)
    if record is None:
        raise NotFound("no such record of this disagreement")
    return _download(record)


@router.get(
    "/l/{token}/records/{record_id}.pdf",
    dependencies=[Depends(limited("link", 60, 60)), *ONE_LINK],
)
def link_record(request: Request, token: str, record_id: str) -> Response:
    """One of the link's disagreement's records, within the session this link started."""
    now = request.app.state.clock()
    with transaction(request.app.state.sessions) as session:
        holder = links.open_link(session, token, now=now)
        cookie = request.cookies.get(link_cookie())
        if holder is None or links.session_for(session, holder, cookie, now=now) is None:
            return neutral(request)
        record = _record_of(session, holder.disagreement, record_id)
    if record is None:
        return neutral(request)
    return _download(record)


def _record_of(session: Session, disagreement: Disagreement, record_id: str) -> StageRecord | None:
    """The record `record_id` if it is this disagreement's, else None (however it is wrong)."""
    if not record_id.isdigit() or len(record_id) > 12:
        return None
    record = session.get(StageRecord, int(record_id))
    if record is None or record.disagreement_id != disagreement.id:
        return None
    return record


def _download(record: StageRecord) -> Response:
    return Response(
        record_pdf(record),
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{filename(record)}"',
            "Cache-Control": "no-store",
        },
    )
