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
