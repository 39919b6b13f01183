"""The app as the web benchmark serves it: the real app, plus a bare FastAPI endpoint served the
same way (same process, same middleware), and rate limits lifted so they do not cap the run."""

from __future__ import annotations

import os

from escalation.store.db import make_engine, session_factory
from escalation.web.app import create_app
from escalation.web.ratelimit import SlidingWindow


def create():
    app = create_app(session_factory(make_engine(os.environ["ESCALATION_DATABASE_URL"])))
    for name in ("link", "api", "signin", "signin-link"):
        app.state.rate_windows[name] = SlidingWindow(10**9, 60)

    @app.post("/bare")
    def bare() -> dict:
        return {"ok": True}

    return app
