"""The board's directory as CSV: the chair and the board manager export it; only a board manager
imports one (the whole file is checked first: any problem, nothing changes). An upload over
MAX_UPLOAD_BYTES (1 MB) is refused (413) before it is parsed, read 64 KB at a time.
"""

from __future__ import annotations

import re

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from escalation.directory.partnership_csv import (
    MAX_IMPORT_ROWS,
    export_partnership_csv,
    import_partnership_csv,
)
from escalation.directory.people import CONTROL
from escalation.rules.errors import DirectoryError
from escalation.store.db import transaction
from escalation.web.board.auth import EITHER, MANAGER, BoardUser
from escalation.web.board.pages import page
from escalation.web.forms import PostedForm

router = APIRouter(include_in_schema=False)
# An upload larger than this is refused before it is parsed: 1 MB is about 10,000 rows, twice
# the import's row cap (partnership_csv.MAX_IMPORT_ROWS), and is read 64 KB at a time.
MAX_UPLOAD_BYTES = 1024 * 1024
UPLOAD_CHUNK = 64 * 1024
MAX_FILE_NAME = 80


@router.get("/board/directory.csv")
def export(request: Request, user: BoardUser = Depends(EITHER)) -> Response:
    with transaction(request.app.state.sessions) as session:
        text = export_partnership_csv(session, user.partnership)
    name = re.sub(r"[^a-z0-9-]+", "-", user.partnership.lower()).strip("-") or "directory"
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="directory-{name}.csv"'},
    )


@router.get("/board/directory/import")
def import_form(request: Request, user: BoardUser = Depends(MANAGER)) -> Response:
    return _import_page(request, user, [])


@router.post("/board/directory/import")
def import_file(request: Request, form: PostedForm, user: BoardUser = Depends(MANAGER)) -> Response:
    upload = form.get("csv_file")
    text, problem, status = _uploaded_text(upload)
    if problem:
        return _import_page(request, user, [problem], status)
    try:
        with transaction(request.app.state.sessions) as session:
            count = import_partnership_csv(
                session,
                text=text,
                partnership=user.partnership,
                editor_email=user.email,
                source=file_name(upload.filename),
            )
    except DirectoryError as error:
        return _import_page(request, user, str(error).splitlines(), 422)
    return RedirectResponse(f"/board/directory?imported={count}", status_code=303)


def _uploaded_text(upload) -> tuple[str, str, int]:
    """The file's text; or "", a problem in words and the status to answer with.

    A file over MAX_UPLOAD_BYTES is refused (413) as soon as reading passes the cap, before it
    is decoded or parsed, so no more than the cap and one chunk is ever held in memory."""
    if not isinstance(upload, UploadFile) or not upload.filename:
        return "", "Select a CSV file", 422
    data = _read_at_most(upload.file, MAX_UPLOAD_BYTES)
    if data is None:
        return "", f"The selected file must be smaller than {MAX_UPLOAD_BYTES // 2**20} MB", 413
    try:
        return data.decode("utf-8"), "", 200
    except UnicodeDecodeError:
        return "", "The file must be saved as CSV UTF-8", 422


def _read_at_most(file, limit: int) -> bytes | None:
    """The file's bytes, read UPLOAD_CHUNK at a time; None once it holds more than `limit`."""
    chunks, size = [], 0
    while chunk := file.read(UPLOAD_CHUNK):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def file_name(name: str) -> str:
    """The uploaded file's name as the problems name it: without the folders some browsers
    send, without control characters, at most MAX_FILE_NAME characters."""
    name = CONTROL.sub("", name.replace("\\", "/").rsplit("/", 1)[-1]).strip()
    if len(name) > MAX_FILE_NAME:
        name = name[: MAX_FILE_NAME - 1] + "…"
    return name or "the file"


def _import_page(
    request: Request, user: BoardUser, problems: list[str], status: int = 200
) -> Response:
    return page(
        request,
        "pages/board_directory_import.html",
        {
            "title": "Import people from a CSV file",
            "user": user,
            "csrf": user.csrf,
            "problems": problems,
            "limits": f"{MAX_UPLOAD_BYTES // 2**20} MB and {MAX_IMPORT_ROWS:,} people",
            "errors": {"csv_file": problems[0]} if problems else {},
            "error_list": [{"text": text, "href": "#csv_file"} for text in problems],
        },
        status,
    )
