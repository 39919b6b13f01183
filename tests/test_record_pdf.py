"""Each stage's formal record as a PDF (reads/record_pdf.py, web/records.py): printed from the
record, read back here with pypdf, and downloaded by the board and by link holders only, on
SQLite and PostgreSQL."""

from __future__ import annotations

import io
import re
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import func, select

from escalation.casework import disagreements as d
from escalation.casework.endings import ActionInput
from escalation.casework.records import records_of
from escalation.directory.csv_rows import import_csv
from escalation.reads.record_pdf import filename, record_pdf
from escalation.store.db import transaction
from escalation.store.models import (
    Event,
    LinkSession,
    LinkToken,
    OutboxMessage,
    StageRecord,
)
from tests.board_helpers import board_sign_in, link_path, open_case
from tests.factories import (
    DIRECTORY_HEADER,
    EXAMPLE,
    LEARNING,
    MANAGER,
    MONDAY,
    NAMED,
    ORIGIN,
    RAISER,
    TEAM_MANAGER,
    directory_row,
    raise_one,
)

OWNER = "zoe.obrien@council.example"  # an action owner whose name needs more than ASCII
OTHER_MANAGER = "olga.other@other-partnership.example"
EXTRA_PEOPLE = DIRECTORY_HEADER + "".join(
    [
        directory_row(
            "Zoë O’Brien-Núñez",
            OWNER,
            "Example Council",
            EXAMPLE,
            "practitioner",
            "Senior social worker",
            agency_type="childrens_social_care",
            group="social_worker",
        ),
        directory_row(
            "Olga Other",
            OTHER_MANAGER,
            "Other Partnership",
            "other-partnership",
            "board_manager",
            "Business manager",
            agency_type="other",
            group="other",
        ),
    ]
)
RATIONALE = "Both teams agree the “static weight” needs a strategy discussion including health"
ACTION = "Hold a strategy discussion including the health visitor"


def _resolved_at_stage_two(sessions, child_reference: str = "TEST-CHILD-7") -> str:
    """Raised, escalated by the raiser to the named doctor, who proposes a resolution with one
    agreed action: two formal records (the escalation and the proposed resolution)."""
    with transaction(sessions) as session:
        import_csv(session, EXTRA_PEOPLE)
    reference = raise_one(sessions, MONDAY, child_reference=child_reference)
    with transaction(sessions) as session:
        d.escalate(session, reference=reference, actor=RAISER, now=MONDAY, reason="No reply")
    with transaction(sessions) as session:
        d.resolve(
            session,
            reference=reference,
            actor=NAMED,
            now=MONDAY,
            outcome="resolved_agreed_actions",
            summary=RATIONALE,
            learning=LEARNING,
            actions=(ActionInput(ACTION, OWNER, date(2026, 11, 27)),),
        )
    return reference


def _records(sessions, reference: str) -> list[StageRecord]:
    with transaction(sessions) as session:
        return records_of(session, d.get(session, reference))


def _text(pdf: bytes) -> str:
    """The PDF's words, with line breaks and wrapping folded into single spaces and the pages'
    footers left out (a paragraph may run on over a page break)."""
    pages = PdfReader(io.BytesIO(pdf)).pages
    words = re.sub(r"\s+", " ", " ".join(page.extract_text() for page in pages))
    return re.sub(r" ?Formal record, disagreement \S+\. Page \d+ of \d+", "", words)


def _counts(sessions) -> tuple[int, ...]:
    with transaction(sessions) as session:
        return tuple(
            session.execute(select(func.count()).select_from(model)).scalar_one()
            for model in (Event, OutboxMessage, StageRecord, LinkSession, LinkToken)
        )


def _record_path(base: str, record: StageRecord) -> str:
    return f"{base}/records/{record.id}.pdf"


# --- the document -----------------------------------------------------------------------------


def test_the_proposed_resolution_prints_everything_the_letter_must_say(client, sessions):
    reference = _resolved_at_stage_two(sessions)
    escalation, resolution = _records(sessions, reference)
    assert (escalation.kind, resolution.kind) == ("escalation", "resolution")
    text = _text(record_pdf(resolution))
    for words in (
        "Proposed resolution",
        reference,
        "TEST-CHILD-7",
        "Example Trust",  # the raising agency
        "Example Council",  # the receiving agency
        "No further action on the referral",  # the decision disputed
        "Fri 20 Nov 2026",  # and its date
        "Weight static for six months (invented)",  # the raiser's position
        "Resolved with agreed actions",  # the decision at this stage
        RATIONALE,
        ACTION,
        "Zoë O’Brien-Núñez (Example Council)",  # the action's owner
        "by Fri 27 Nov 2026",
        "Nadia Named keeps the stage until the agreed actions are done",  # who holds it next
        "Nadia Named",
        "Named doctor, Example Trust",  # signed by name and role
        "Decided at 10:00 Mon 23 Nov 2026",
    ):
        assert words in text, words


def test_the_escalation_record_names_its_signer_and_the_next_stage(client, sessions):
    reference = _resolved_at_stage_two(sessions)
    escalation = _records(sessions, reference)[0]
    text = _text(record_pdf(escalation))
    assert "Escalation" in text and reference in text and "TEST-CHILD-7" in text
    assert "Not resolved at this stage: No reply" in text
    assert "Hana Visitor" in text and "Health visitor, Example Trust" in text
    assert escalation.content["next"] in text
    assert "No actions were agreed at this stage" in text


def test_the_same_record_prints_the_same_bytes_dated_when_it_was_decided(client, sessions):
    reference = _resolved_at_stage_two(sessions)
    record = _records(sessions, reference)[1]
    first = record_pdf(record)
    assert first.startswith(b"%PDF-") and first == record_pdf(record)
    assert PdfReader(io.BytesIO(first)).metadata.creation_date == MONDAY


def test_without_a_unicode_font_it_prints_in_helvetica_with_plain_punctuation(client, sessions):
    reference = _resolved_at_stage_two(sessions)
    record = _records(sessions, reference)[1]
    text = _text(record_pdf(record, fonts=Path("/no/such/fonts")))
    assert "Zoë O'Brien-Núñez" in text  # Latin-1 keeps the accents; the curly quote goes plain
    assert RATIONALE.replace("“", '"').replace("”", '"') in text


def test_a_long_rationale_wraps_onto_further_pages_and_is_printed_whole(client, sessions):
    reference = _resolved_at_stage_two(sessions)
    record = _records(sessions, reference)[1]
    words = " ".join(f"point{number}" for number in range(1500))
    record.content = {**record.content, "rationale": words}
    pdf = record_pdf(record)
    assert len(PdfReader(io.BytesIO(pdf)).pages) >= 3
    assert words in _text(pdf)


def test_the_file_is_named_by_reference_stage_and_kind_and_nothing_of_the_child(client, sessions):
    reference = _resolved_at_stage_two(sessions)
    escalation, resolution = _records(sessions, reference)
    assert filename(escalation) == f"{reference}-stage-1-escalation.pdf"
    assert filename(resolution) == f"{reference}-stage-2-resolution.pdf"


# --- the board's download ---------------------------------------------------------------------


def test_the_board_downloads_every_stages_record(client, sessions, clock):
    reference = _resolved_at_stage_two(sessions)
    board_sign_in(client, sessions, clock, MANAGER)
    for record in _records(sessions, reference):
        response = client.get(_record_path(f"/board/d/{reference}", record))
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/pdf"
        assert response.headers["content-disposition"] == (
            f'attachment; filename="{filename(record)}"'
        )
        assert "TEST-CHILD" not in response.headers["content-disposition"]
        assert response.headers["cache-control"] == "no-store"
        text = _text(response.content)
        assert reference in text and "TEST-CHILD-7" in text
        assert record.content["signed_by"] in text and record.content["signed_role"] in text


def test_the_board_must_sign_in_with_its_second_factor(client, sessions):
    reference = _resolved_at_stage_two(sessions)
    record = _records(sessions, reference)[1]
    response = client.get(_record_path(f"/board/d/{reference}", record), follow_redirects=False)
    assert response.status_code == 401 and b"%PDF" not in response.content


def test_the_board_gets_no_record_of_another_disagreement_or_partnership(client, sessions, clock):
    reference = _resolved_at_stage_two(sessions)
    other = _resolved_at_stage_two(sessions, child_reference="TEST-CHILD-8")
    theirs = _records(sessions, other)[1]
    board_sign_in(client, sessions, clock, MANAGER)
    base = f"/board/d/{reference}"
    for path in (
        _record_path(base, theirs),  # a record, but of another disagreement
        f"{base}/records/999999.pdf",
        f"{base}/records/abc.pdf",
        f"{base}/records/{'9' * 40}.pdf",
    ):
        refused = client.get(path)
        assert refused.status_code == 404 and b"%PDF" not in refused.content, path
    elsewhere = TestClient(client.app, headers={"Origin": ORIGIN})
    board_sign_in(elsewhere, sessions, clock, OTHER_MANAGER)
    ours = _records(sessions, reference)[1]
    refused = elsewhere.get(_record_path(base, ours))
    assert refused.status_code == 404 and b"%PDF" not in refused.content


# --- the link holder's download ----------------------------------------------------------------


# Both sides' links: the stage owner's, the raiser's update and say, the receiving side's
# counterpart's, and the action owner's.
HOLDERS = (
    (NAMED, "stage_assigned"),
    (RAISER, "stage_update"),
    (RAISER, "say_asked"),
    (TEAM_MANAGER, "stage_update"),
    (OWNER, "action_agreed"),
)


@pytest.mark.parametrize("holder,kind", HOLDERS)
def test_a_link_holder_downloads_the_record_within_the_links_session(
    client, sessions, clock, holder, kind
):
    reference = _resolved_at_stage_two(sessions)
    path = link_path(sessions, holder, kind, clock["now"])
    assert open_case(client, path).status_code == 200
    for record in _records(sessions, reference):
        response = client.get(_record_path(path, record))
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/pdf"
        assert filename(record) in response.headers["content-disposition"]
        assert response.headers["cache-control"] == "no-store"
        assert "TEST-CHILD-7" in _text(response.content)


def test_without_the_links_session_the_record_is_not_served(client, sessions, clock):
    reference = _resolved_at_stage_two(sessions)
    record = _records(sessions, reference)[1]
    path = link_path(sessions, NAMED, "stage_assigned", clock["now"])
    stranger = TestClient(client.app, headers={"Origin": ORIGIN})
    for browser, url in (
        (stranger, _record_path(path, record)),  # the link, but no session
        (client, _record_path(path, record)),  # nor here: Continue was never pressed
        (client, _record_path("/l/not-a-real-token-" + "x" * 30, record)),
    ):
        refused = browser.get(url)
        assert refused.status_code == 404 and b"%PDF" not in refused.content
        assert "This link cannot be used" in refused.text
    open_case(client, path)
    client.cookies.set("rpd_link", "forged-session-id")
    assert client.get(_record_path(path, record)).status_code == 404


def test_a_link_holder_gets_no_record_of_another_disagreement(client, sessions, clock):
    _resolved_at_stage_two(sessions)
    path = link_path(sessions, NAMED, "stage_assigned", clock["now"])
    other = _resolved_at_stage_two(sessions, child_reference="TEST-CHILD-8")
    theirs = _records(sessions, other)[1]
    # The latest stage_assigned email to the named doctor is now the other case's: take ours.
    assert open_case(client, path).status_code == 200
    for url in (_record_path(path, theirs), f"{path}/records/999999.pdf"):
        refused = client.get(url)
        assert refused.status_code == 404 and "This link cannot be used" in refused.text


def test_downloading_a_record_changes_nothing(client, sessions, clock):
    reference = _resolved_at_stage_two(sessions)
    records = _records(sessions, reference)
    board = TestClient(client.app, headers={"Origin": ORIGIN})
    board_sign_in(board, sessions, clock, MANAGER)
    path = link_path(sessions, NAMED, "stage_assigned", clock["now"])
    open_case(client, path)
    before = _counts(sessions)
    for record in records:
        assert board.get(_record_path(f"/board/d/{reference}", record)).status_code == 200
        assert client.get(_record_path(path, record)).status_code == 200
    assert _counts(sessions) == before
