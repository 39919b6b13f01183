"""The running service's shared pieces, built once per process from settings: the database
sessions and the mail relay. Flows and commands use these; tests build their own."""

from __future__ import annotations

import functools
import os
from datetime import timedelta
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from escalation.outbox.delivery import Delivery
from escalation.outbox.mail import Renderer, SmtpConfig
from escalation.settings import get_settings, local_capture_url, require_safe
from escalation.store.db import make_engine, session_factory


@functools.cache
def sessions() -> sessionmaker[Session]:
    return session_factory(make_engine(get_settings().database_url))


def smtp_url() -> str:
    """ESCALATION_SMTP_URL, or else the local mail capture on loopback."""
    settings = get_settings()
    return settings.smtp_url or local_capture_url(settings)


def delivery() -> Delivery:
    """The outbox's sender; refuses (UnsafeSettings) settings that must not send email."""
    settings = get_settings()
    require_safe(settings)
    return Delivery(
        sessions=sessions(),
        smtp=SmtpConfig.from_url(smtp_url(), timeout=settings.smtp_timeout_seconds),
        renderer=Renderer(settings.templates_dir, settings.mail_from),
        base_url=settings.public_base_url,
        connections=settings.smtp_connections,
        lease=timedelta(seconds=settings.delivery_lease_seconds),
        batch_size=settings.delivery_batch_size,
        max_run_seconds=settings.delivery_max_run_seconds,
        permanent_failure_limit=settings.permanent_failure_limit,
    )


def prefect_environment(home: Path = Path("var/prefect")) -> None:
    """Prefect settings for this project; must run before prefect is first imported.

    Its state lives under ./var/prefect (not ~/.prefect), and a slow first start of a local
    Prefect server on a 2-core machine does not time out (its default is 20 s).
    """
    os.environ.setdefault("PREFECT_HOME", str(home.resolve()))
    Path(os.environ["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_RESULTS_PERSIST_BY_DEFAULT", "false")
