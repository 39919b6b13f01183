"""The app as the web benchmarks serve it: the real app, with its rate limits lifted so they do
not cap the run (every window the app asks for, whatever its name, allows 10**9 a minute)."""

from __future__ import annotations

import os

from escalation.store.db import make_engine, session_factory
from escalation.web.app import create_app
from escalation.web.ratelimit import SlidingWindow


class Lifted(dict):
    """app.state.rate_windows, whose every window is too wide to refuse anything."""

    def setdefault(self, key, default=None):
        return super().setdefault(key, SlidingWindow(10**9, 60))


def create():
    app = create_app(session_factory(make_engine(os.environ["ESCALATION_DATABASE_URL"])))
    app.state.rate_windows = Lifted()
    return app
