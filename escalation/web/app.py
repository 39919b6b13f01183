"""The FastAPI application: security headers on every response, an Origin check on every
unsafe request, GOV.UK Frontend pages, and errors that never show a stack trace.

`create_app(sessions, clock=...)` takes the database and the clock, so tests run it against
their own database at a fixed instant.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, PrefixLoader
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import HTTPException

from escalation.rules.calendar import date_text, due_text, time_text
from escalation.rules.errors import InvalidInput, NotAllowed, NotFound
from escalation.rules.policy import load_policies
from escalation.settings import get_settings, require_safe
from escalation.web.forms import FormRefused, posted_form
from escalation.web.security import Security

log = logging.getLogger(__name__)
ASSETS = Path(__file__).resolve().parents[2] / "node_modules" / "govuk-frontend" / "dist" / "govuk"


def utc_now() -> datetime:
    return datetime.now(UTC)


def create_app(
    sessions: sessionmaker[Session] | None = None, clock: Callable[[], datetime] = utc_now
) -> FastAPI:
    from escalation import runtime
    from escalation.web import api, links, ops, raising, records, yours
    from escalation.web import demo as demo_pages
    from escalation.web.board import (
        annual,
        case,
        dashboard,
        directory,
        directory_csv,
        pages,
        reports,
    )

    settings = get_settings()
    app = FastAPI(
        title="Resolving professional disagreements",
        version="1",
        description="JSON API for agency case-management systems. Authenticate with the "
        "`X-API-Key` header (keys are made with `escalation apikey create`).",
        docs_url=None,  # Swagger UI loads third-party scripts; the document itself is the docs
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.sessions = sessions or runtime.sessions()
    # Unsafe settings (demo mode outside loopback/SQLite/local capture, a public base URL that
    # is not https) stop the app here, before it serves anything: UnsafeSettings names the setting.
    require_safe(settings, database=demo_pages.database_of(app.state.sessions))
    app.state.clock = clock
    # Read once: a changed policy file takes effect when the app restarts (and must bump its
    # version anyway, see pin_policy).
    app.state.policies = load_policies(settings.policies_dir)
    app.state.rate_windows = {}
    app.state.templates = Jinja2Templates(env=_page_environment(settings.templates_dir))
    app.state.public_origin = _origin(settings.public_base_url)
    app.add_middleware(Security, unexpected=_unexpected)  # escalation/web/security.py
    _error_handlers(app)
    if ASSETS.exists():
        app.mount("/assets", StaticFiles(directory=ASSETS / "assets"), name="assets")
        app.mount("/static", StaticFiles(directory=ASSETS), name="static")
    app.include_router(api.router)
    app.include_router(ops.router)  # the Prefect server's webhook (escalation/web/ops.py)
    # Every page's posted fields are checked, whether or not its route reads them.
    # The directory's CSV routes come before its /board/directory/{person_id}, and the annual
    # section's /board/reports/annual.csv before the reports' /board/reports/{figure}.csv.
    pages_in_order = (pages, dashboard, case, directory_csv, directory, annual, reports)
    for module in (links, records, raising, yours, demo_pages, *pages_in_order):
        app.include_router(module.router, dependencies=[Depends(posted_form)])
    return app


@functools.cache
def _page_environment(templates_dir: Path) -> Environment:
    """One per templates directory and process, so an app built after another (each test builds
    its own) reuses the compiled GOV.UK macros and pages; templates edited on disk still reload."""
    loader = ChoiceLoader(
        [
            FileSystemLoader(str(templates_dir)),
            PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
        ]
    )
    # GOV.UK Frontend's macros test optional parameters for truth, so pages use Jinja's default
    # Undefined (emails, built by us alone, use StrictUndefined).
    environment = Environment(loader=loader, autoescape=True)
    # Pages show a day, a time and a deadline in the words every other view uses.
    environment.globals.update(date_text=date_text, time_text=time_text, due_text=due_text)
    return environment


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError):
        problems: dict[str, str] = {}
        for item in error.errors():
            field = ".".join(str(part) for part in item["loc"] if part != "body") or "body"
            message = item["msg"].removeprefix("Value error, ")
            if ": " in message and field == "body":
                field, message = message.split(": ", 1)
            problems.setdefault(field, message)
        return JSONResponse({"errors": problems}, status_code=422)

    from escalation.web.api import Unauthorised

    @app.exception_handler(Unauthorised)
    async def unauthorised(request: Request, error: Unauthorised):
        return JSONResponse({"error": str(error)}, status_code=401)

    @app.exception_handler(InvalidInput)
    async def invalid_input(request: Request, error: InvalidInput):
        return JSONResponse({"errors": error.problems}, status_code=422)

    @app.exception_handler(NotFound)
    async def not_found(request: Request, error: NotFound):
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": "not found"}, status_code=404)
        return _problem(request, 404, "There is no such page, or it is not in your partnership.")

    from escalation.web.board.auth import BoardForbidden, BoardSignInRequired, SecondFactorRequired

    @app.exception_handler(BoardSignInRequired)
    async def board_sign_in(request: Request, error: BoardSignInRequired):
        from escalation.web.board.pages import BOARD_SIGN_IN

        return request.app.state.templates.TemplateResponse(
            request, "pages/signin.html", {**BOARD_SIGN_IN, "errors": {}}, status_code=401
        )

    @app.exception_handler(SecondFactorRequired)
    async def board_second_factor(request: Request, error: SecondFactorRequired):
        return RedirectResponse("/board/verify", status_code=303)

    @app.exception_handler(BoardForbidden)
    async def board_forbidden(request: Request, error: BoardForbidden):
        return _problem(request, 403, str(error))

    @app.exception_handler(NotAllowed)
    async def not_allowed(request: Request, error: NotAllowed):
        return JSONResponse({"error": str(error)}, status_code=409)

    @app.exception_handler(FormRefused)
    async def form_refused(request: Request, error: FormRefused):
        return request.app.state.templates.TemplateResponse(
            request,
            "pages/form_refused.html",
            {
                "title": "This form could not be sent",
                "field": f"“{error.field}”",
                "problem": error.message,
            },
            status_code=422,
        )

    @app.exception_handler(DBAPIError)
    async def database_down(request: Request, error: DBAPIError):
        incident = _log_incident(request, error, "database error")
        return _problem(
            request,
            503,
            "The service is briefly unavailable. Nothing was changed; "
            f"please try again (incident {incident}).",
        )

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException):
        response = _problem(request, error.status_code, str(error.detail))
        response.headers.update(error.headers or {})
        return response

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception):
        return _unexpected(request, error)


def _unexpected(request: Request, error: Exception) -> Response:
    incident = _log_incident(request, error, "unexpected error")
    return _problem(
        request, 500, f"Something went wrong (incident {incident}). Nothing was changed."
    )


def _log_incident(request: Request, error: Exception, what: str) -> str:
    """Log an incident id, the method, the route *template* (`/l/{token}`, never the path, which
    carries tokens and references) and the exception's class: never its message or traceback,
    which carry SQL parameters (a disagreement's text, a token's hash) and local values."""
    incident = uuid.uuid4().hex[:12]
    route = request.scope.get("route")
    template = getattr(route, "path", None) or "(no route)"
    log.error(
        "%s (incident %s) on %s %s: %s.%s",
        what,
        incident,
        request.method,
        template,
        type(error).__module__,
        type(error).__qualname__,
    )
    return incident


def _problem(request: Request, status: int, message: str) -> Response:
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": message}, status_code=status)
    return request.app.state.templates.TemplateResponse(
        request,
        "pages/message.html",
        {"message": message, "title": "Sorry, there is a problem"},
        status_code=status,
    )
