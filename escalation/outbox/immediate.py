"""Sign-in and fresh-link emails go at once, from the web process, not at the next delivery run.

The outbox row is written first, in the request's transaction, as for every email. Once the
response is sent, the web process sends that row (`send_soon`, a background task): it leases
the row exactly as a delivery run does (leases.claim: pending, due, and not leased by anyone
else), so a run at the same moment never sends it too, and records the server's 250 as a run
would. Any failure (the relay down, slow or refusing, a row that cannot be rendered) gives the
row back untouched: not counted as an attempt, still due, so the next run sends it under its
usual retry rules and is the one that marks it dead, failed or raises the relay alert.

Only with a relay named in ESCALATION_SMTP_URL (`escalation serve` names its local mail capture
there for the web app it starts): a web app given no relay (the tests' apps, a bare uvicorn)
leaves all sending to the run.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
from datetime import datetime
from pathlib import Path

from fastapi import Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.background import BackgroundTask, BackgroundTasks

from escalation.directory.people import normalise_email
from escalation.outbox.delivery import Delivery, DeliverySummary
from escalation.outbox.kinds import MessageKind
from escalation.outbox.leases import claim, release
from escalation.outbox.mail import SENT, Renderer, SmtpConfig, classify, discard, send_one
from escalation.outbox.outcomes import prepare, record
from escalation.settings import get_settings
from escalation.store.db import transaction
from escalation.store.models import OutboxMessage

log = logging.getLogger(__name__)

# The emails a person is waiting for, on a page that says "Check your email".
IMMEDIATE_KINDS = frozenset({MessageKind.SIGN_IN, MessageKind.FRESH_LINKS})


def send_soon(request: Request, response: Response, kind: str, email: str) -> Response:
    """`response`, after which the pending `kind` email to `email` is sent: call it after the
    transaction that wrote the row has committed."""
    delivery = web_delivery(request.app.state.sessions)
    if delivery is None or MessageKind(kind) not in IMMEDIATE_KINDS or not _plausible(email):
        return response
    task = BackgroundTask(_send_quietly, delivery, kind, email, request.app.state.clock)
    if response.background is None:
        response.background = task
    else:
        response.background = BackgroundTasks([response.background, task])
    return response


def web_delivery(sessions: sessionmaker[Session]) -> Delivery | None:
    """The web process's sender: one connection to ESCALATION_SMTP_URL; None without one."""
    settings = get_settings()
    if not settings.smtp_url:
        return None
    return _delivery(
        sessions,
        SmtpConfig.from_url(settings.smtp_url, timeout=settings.smtp_timeout_seconds),
        settings.templates_dir,
        settings.mail_from,
        settings.public_base_url or "",
    )


@functools.lru_cache(maxsize=8)
def _delivery(sessions, smtp: SmtpConfig, templates: Path, mail_from: str, base_url: str):
    """One per configuration, so its templates are compiled once, not at every request."""
    renderer = Renderer(templates, mail_from)
    return Delivery(sessions, smtp, renderer, base_url, connections=1)


async def send_pending(
    delivery: Delivery, kind: str, email: str, *, now: datetime
) -> DeliverySummary:
    """Send at once whatever `kind` email to `email` is pending and due."""
    ids = await asyncio.to_thread(_pending, delivery.sessions, kind, normalise_email(email))
    return await send_now(delivery, ids, now=now)


async def send_now(delivery: Delivery, row_ids: list[int], *, now: datetime) -> DeliverySummary:
    """Send these rows now, if they are due and no run holds them. A sent row is recorded as a
    run records it; a row that fails is released untouched, for the run."""
    summary = DeliverySummary()
    if not row_ids:
        return summary
    ids = await asyncio.to_thread(
        claim, delivery.sessions, now, len(row_ids), delivery.lease, list(row_ids)
    )
    client = None
    try:
        for row_id in ids:
            try:
                message = await asyncio.to_thread(prepare, delivery, row_id, now, summary)
                if message is None:
                    continue
                if client is None or not client.is_connected:
                    client = delivery.smtp.client()
                    await client.connect()
                await send_one(client, message)
            except Exception as error:  # left for the run, which classifies and records it
                log.warning(
                    "email %s not sent at once (%s); the delivery run will send it",
                    row_id,
                    classify(error)[1],
                )
                client = await discard(client)
                await asyncio.to_thread(release, delivery.sessions, [row_id])
                summary.retrying += 1
                continue
            rng = random.Random()
            await asyncio.to_thread(record, delivery, row_id, SENT, "250", now, rng, summary)
    finally:
        await discard(client)
    return summary


async def _send_quietly(delivery: Delivery, kind: str, email: str, clock) -> None:
    """The background task: never an error after the page has gone (the run is the fallback)."""
    try:
        await send_pending(delivery, kind, email, now=clock())
    except Exception:
        log.exception(
            "the immediate send of a %s email failed; the delivery run will send it", kind
        )


def _pending(sessions: sessionmaker[Session], kind: str, email: str) -> list[int]:
    with transaction(sessions) as session:
        query = (
            select(OutboxMessage.id)
            .where(
                OutboxMessage.status == "pending",
                OutboxMessage.kind == str(kind),
                OutboxMessage.recipient_email == email,
            )
            .order_by(OutboxMessage.id.desc())
            .limit(5)
        )
        return list(session.execute(query).scalars())


def _plausible(email: str) -> bool:
    return "@" in email and len(email) <= 320 and not any(c in email for c in "\r\n\0")
