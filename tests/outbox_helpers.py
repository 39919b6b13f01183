"""Delivering the outbox to a test SMTP server with the service's own renderer."""

from __future__ import annotations

from escalation.outbox.delivery import Delivery
from escalation.outbox.mail import Renderer, SmtpConfig
from escalation.settings import get_settings

BASE_URL = "https://rpd.example.org"


def delivery(sessions, smtp_url: str, **options) -> Delivery:
    """A Delivery to `smtp_url` (timeout 5 s unless given), its links on BASE_URL."""
    settings = get_settings()
    return Delivery(
        sessions=sessions,
        smtp=SmtpConfig.from_url(smtp_url, timeout=options.pop("timeout", 5)),
        renderer=Renderer(settings.templates_dir, settings.mail_from),
        base_url=BASE_URL,
        **options,
    )


def add_rows(sessions, count: int, *, kind: str, at, prefix: str = "row") -> list[int]:
    """`count` pending outbox rows of `kind`, due at `at`, to nobody in particular (for claim
    order and health, not for sending); their ids."""
    from escalation.store.db import transaction
    from escalation.store.models import OutboxMessage

    with transaction(sessions) as session:
        rows = [
            OutboxMessage(
                idempotency_key=f"{prefix}/{kind}/{n}",
                message_id=f"<{prefix}-{kind}-{n}@example>",
                kind=kind,
                recipient_email=f"someone{n}@example.org",
                recipient_role="board_manager",
                context={},
                status="pending",
                attempts=0,
                next_attempt_at=at,
                last_error="",
                created_at=at,
            )
            for n in range(count)
        ]
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]


def outbox_rows(sessions) -> list:
    """Every outbox row, oldest first."""
    from sqlalchemy import select

    from escalation.store.db import transaction
    from escalation.store.models import OutboxMessage

    with transaction(sessions) as session:
        return list(session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars())


def at_named_stage(sessions) -> tuple[str, object]:
    """A disagreement escalated to the named professional; the time it happened."""
    from escalation.casework.sweep import run_sweep
    from tests.factories import MONDAY, due_at, raise_one

    reference = raise_one(sessions, MONDAY)
    due = due_at(sessions, reference)
    run_sweep(sessions, now=due)
    return reference, due
