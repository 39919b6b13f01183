"""Rate limits: a sliding window of recent requests per key (client address, API key, email).

In memory, per web process: with several processes each enforces its own window, which still
bounds guessing and floods. Time comes from the app's clock, so tests can move it on.
"""

from __future__ import annotations

import threading
from collections import defaultdict, deque

from fastapi import Request
from starlette.exceptions import HTTPException


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


def limited(name: str, limit: int, seconds: float):
    """A route dependency: at most `limit` requests per client address in `seconds`
    (each app has its own windows, in `app.state.rate_windows`)."""

    def check(request: Request) -> None:
        windows = request.app.state.rate_windows
        window = windows.setdefault(name, SlidingWindow(limit, seconds))
        client = request.client.host if request.client else "unknown"
        if not window.allow(client, request.app.state.clock().timestamp()):
            raise HTTPException(429, "Too many requests. Please wait a minute and try again.",
                                headers={"Retry-After": str(int(seconds))})

    return check
