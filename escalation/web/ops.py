"""POST /ops/sweep-stalled: the Prefect server's "sweep expected" automation calls this when no
sweep has completed in 3 intervals (flows/automations.py).

The call is only a prompt: the app's own database decides. The route runs the same stall check
as the delivery flow and `escalation health --alarm` (casework.health.check_sweep: it raises
the alert and queues one email per board manager per stall only if the database shows no
completed sweep and no progress in 3 intervals) and then sends the alarm emails at once through
the relay (outbox.immediate.send_now), so the alarm never waits for a worker. Safe to call
again and again. Authorised by `Authorization: Bearer <ESCALATION_OPS_TOKEN>` (compared in
constant time); with no token configured the route does not exist (404). The answer is JSON
about the service only: times and counts, never case data.
"""

from __future__ import annotations

import asyncio
import hmac

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session, sessionmaker

from escalation.casework import health
from escalation.casework.sweep import SWEEP
from escalation.outbox.immediate import send_now, web_delivery
from escalation.settings import get_settings
from escalation.store.db import transaction

router = APIRouter()


@router.post("/ops/sweep-stalled", include_in_schema=False)
def sweep_stalled(request: Request) -> JSONResponse:
    """Run in the threadpool like every route (the event loop only reads forms): the check, then
    the sending, which has its own short-lived event loop here."""
    refused = _refused(request.headers.get("authorization", ""))
    if refused is not None:
        return refused
    now = request.app.state.clock()
    sessions = request.app.state.sessions
    status, alarms = _check(sessions, now)
    sent = 0
    delivery = web_delivery(sessions)
    if alarms and delivery is not None:
        sent = asyncio.run(send_now(delivery, alarms, now=now)).sent
    return JSONResponse(
        {
            "expected": status.expected,
            "stalled": status.stalled,
            "message": status.message,
            "alarm_emails_sent": sent,
            "alarm_emails_waiting": len(alarms) - sent,
        }
    )


def _refused(authorization: str) -> JSONResponse | None:
    """404 when no token is configured (the route is off), 401 on a missing or wrong one."""
    token = get_settings().ops_token
    if not token:
        return JSONResponse({"error": "not found"}, status_code=404)
    if not hmac.compare_digest(authorization.encode(), f"Bearer {token}".encode()):
        return JSONResponse(
            {"error": "unauthorised"},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
    return None


def _check(sessions: sessionmaker[Session], now) -> tuple[health.SweepHealth, list[int]]:
    interval = get_settings().sweep_interval_seconds
    with transaction(sessions) as session:
        status = health.check_sweep(session, SWEEP, now, interval)
        return status, health.pending_alarms(session)
