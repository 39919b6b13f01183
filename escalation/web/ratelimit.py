"""Rate limits: a sliding window of recent requests per key (client address, link, email).

In memory, per web process: with several processes each enforces its own window, which still
bounds guessing and floods. Time comes from the app's clock, so tests can move it on.
"""

from __future__ import annotations

import threading
from collections import defaultdict, deque

from fastapi import Request
from starlette.exceptions import HTTPException

from escalation.web.forms import PostedForm


class SlidingWindow:
    def __init__(self, limit: int, seconds: float):
        self.limit, self.seconds = limit, seconds
        self.hits: dict[str, deque[float]] = defaultdict(deque)
        self.lock = threading.Lock()

    def allow(self, key: str, now: float) -> bool:
        with self.lock:
            recent = self.hits[key]
            while recent and recent[0] <= now - self.seconds:
                recent.popleft()
            if len(recent) >= self.limit:
                return False
            recent.append(now)
            return True


def limited(name: str, limit: int, seconds: float, *, by: str = "client"):
    """A route dependency: at most `limit` requests in `seconds` per key, where the key is the
    client's address (`by="client"`), the link token in the path (`"token"`: a case's links), or
    the email address typed into the form (`"email"`: whichever client sends it). Each app has
    its own windows, in `app.state.rate_windows`. The client address is the socket's peer:
    `X-Forwarded-For` counts only from the proxies named in ESCALATION_TRUSTED_PROXIES."""
    if by not in KEYS:
        raise ValueError(f"rate limits are keyed by one of {sorted(KEYS)}, not {by!r}")

    def check(request: Request, form: PostedForm) -> None:
        key = KEYS[by](request, form)
        if not key:
            return
        windows = request.app.state.rate_windows
        window = windows.setdefault(f"{name}/{by}", SlidingWindow(limit, seconds))
        if not window.allow(key, request.app.state.clock().timestamp()):
            raise HTTPException(
                429,
                "Too many requests. Please wait a few minutes and try again.",
                headers={"Retry-After": str(int(seconds))},
            )

    return check


def _client(request: Request, form) -> str:
    return request.client.host if request.client else "unknown"


def _token(request: Request, form) -> str:
    return str(request.path_params.get("token", ""))[:100]


def _email(request: Request, form) -> str:
    return str(form.get("email", "")).strip().lower()[:320]


KEYS = {"client": _client, "token": _token, "email": _email}
