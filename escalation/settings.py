"""Settings, read once from the environment (prefix ESCALATION_) and refused if invalid or unsafe.

`require_safe(settings)` is the start-up rule of every entry point that serves pages or sends
email (`escalation serve`, the web app factory, the delivery of the outbox): demo mode only on a
loopback, SQLite, local-capture set-up; outside demo mode, an https public base URL (plain http
only for a loopback address). A refusal is one plain line naming the setting.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

from escalation.rules.errors import EscalationError

EXAMPLE_BASE_URL = "https://disagreements.example.org"
LOOPBACK_EXAMPLE = "http://127.0.0.1:8000"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ESCALATION_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///./var/escalation.db",
        description="SQLAlchemy URL; PostgreSQL as postgresql+psycopg://user@host/db",
    )
    policies_dir: Path = Path("policies")
    default_policy: str = "default"
    templates_dir: Path = Path(__file__).resolve().parent.parent / "templates"

    public_base_url: str | None = Field(
        default=None,
        description="Links in emails are built from this, never from a request's Host header. "
        "Required outside demo mode: https, or plain http for a loopback address only. In demo "
        "mode it defaults to http://127.0.0.1:<web_port>.",
    )
    smtp_url: str | None = Field(
        default=None,
        description="smtp://host:port (no TLS, loopback relays), smtp+starttls://user:pass@host:587 "
        "or smtps://user:pass@host:465. Unset: the local mail capture on 127.0.0.1:8025.",
    )
    mail_from: str = "Disagreement escalation <escalation@localhost>"
    mail_capture_port: int = 8025
    mail_dir: Path = Path("var/mail")
    smtp_timeout_seconds: float = Field(default=30, gt=0)
    smtp_connections: int = Field(default=4, ge=1, le=32)

    allowed_email_domains: list[str] = Field(
        default_factory=list,
        description="Besides people in the directory, work emails at these domains may sign in "
        'to raise a disagreement (JSON list, e.g. ["nhs.net"])',
    )
    demo: bool = Field(
        default=False,
        description="Demo mode: the web app shows the captured emails at /demo/mail and the board's "
        "authenticator codes at /demo/authenticator. Only on loopback, SQLite and the local mail "
        "capture (see require_safe).",
    )
    web_port: int = Field(default=8000, description="The embedded web app's port (loopback)")
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Addresses of the reverse proxies whose X-Forwarded-For names the client "
        '(JSON list, e.g. ["10.0.0.7"]); default none: the client is the connection\'s peer',
    )
    prefect_port: int = Field(default=4200, description="The embedded Prefect server's port")
    sweep_interval_seconds: int = Field(default=60, ge=5)
    delivery_interval_seconds: int = Field(default=30, ge=5)
    link_grace_hours: int = Field(default=24, ge=0)
    ops_token: str | None = Field(
        default=None,
        description="Shared secret the Prefect server's webhook automations send to the web tier "
        "(ESCALATION_OPS_TOKEN); unset: the web tier accepts no operations webhook",
    )
    delivery_batch_size: int = Field(
        default=200, ge=1, le=5000, description="Emails one delivery run claims at a time"
    )
    delivery_lease_seconds: int = Field(
        default=120,
        ge=10,
        description="How long a claimed email is held by one run before another may take it",
    )
    delivery_max_run_seconds: int = Field(
        default=600,
        ge=0,
        description="How long one delivery run keeps claiming more while mail is due",
    )
    permanent_failure_limit: int = Field(
        default=5,
        ge=0,
        description="More permanent (5xx mailbox) failures than this in one run stops the run "
        "with an alert: that many bad mailboxes at once is more likely the relay's fault",
    )

    @model_validator(mode="after")
    def _demo_base_url(self) -> Settings:
        """Demo mode without a public base URL uses the embedded web app's loopback address."""
        if self.demo and self.public_base_url is None:
            self.public_base_url = f"http://127.0.0.1:{self.web_port}"
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


class UnsafeSettings(EscalationError):
    """The settings would expose case data or secrets, or send unusable links; the message is one
    plain line naming the setting to change."""


def require_safe(settings: Settings, database: str | None = None) -> None:
    """Raise UnsafeSettings unless it is safe to serve pages or send email with these settings.

    `database` is the backend the caller really uses ("sqlite", "postgresql"); by default the
    one ESCALATION_DATABASE_URL names.
    """
    problem = unsafe_setting(settings, database)
    if problem:
        raise UnsafeSettings(problem)


def unsafe_setting(settings: Settings, database: str | None = None) -> str | None:
    """The reason these settings must not serve or send, as one plain line; None when safe."""
    if settings.demo:
        return demo_problem(settings, database or database_backend(settings.database_url))
    return public_base_url_problem(settings.public_base_url)


def demo_problem(settings: Settings, database: str) -> str | None:
    """Why demo mode must not run here, or None.

    Demo mode shows every captured email and every board member's current authenticator code to
    whoever can open the app, so it runs only with a plain-http loopback public base URL, on
    SQLite, with the local mail capture (never a real relay, never a real database).
    """
    why = "demo mode shows captured emails and board authenticator codes to anyone"
    base = settings.public_base_url or ""
    parts = urlsplit(base)
    if parts.scheme != "http" or not is_loopback(parts.hostname):
        return (
            f"ESCALATION_DEMO=true needs ESCALATION_PUBLIC_BASE_URL on loopback over plain http "
            f"(e.g. {LOOPBACK_EXAMPLE}), not {_shown(base)}: {why}"
        )
    if settings.smtp_url not in (None, local_capture_url(settings)):
        return (
            f"ESCALATION_DEMO=true needs ESCALATION_SMTP_URL unset (the local mail capture): {why}"
        )
    if database != "sqlite":
        return f"ESCALATION_DEMO=true needs SQLite, not {database} (ESCALATION_DATABASE_URL): {why}"
    return None


def public_base_url_problem(url: str | None) -> str | None:
    """Why links built from this URL must not be emailed, or None.

    Accepted: https://host[:port][/path], or http:// to a loopback host (127.0.0.0/8, ::1,
    localhost); never a user, password, query or fragment.
    """
    name = "ESCALATION_PUBLIC_BASE_URL"
    if not url:
        return (
            f"{name} is not set: set it to the https address people open, e.g. "
            f"{EXAMPLE_BASE_URL} (links in emails are built from it; plain http only for a "
            f"loopback address such as {LOOPBACK_EXAMPLE})"
        )
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{name} must look like {EXAMPLE_BASE_URL}, not {_shown(url)}"
    if parts.username is not None or parts.query or parts.fragment:
        return (
            f"{name} must be a plain address like {EXAMPLE_BASE_URL} (no user, query or fragment)"
        )
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        return (
            f"{name} must be https, not {_shown(url)} (plain http only for a loopback address "
            f"such as {LOOPBACK_EXAMPLE})"
        )
    return None


def is_loopback(host: str | None) -> bool:
    """True for localhost and the loopback addresses 127.0.0.0/8 and ::1."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def local_capture_url(settings: Settings) -> str:
    """The SMTP URL of the local mail capture (what `escalation serve` starts when no relay is set)."""
    return f"smtp://127.0.0.1:{settings.mail_capture_port}"


def database_backend(url: str) -> str:
    """The backend a SQLAlchemy URL names: "sqlite", "postgresql", ..."""
    return make_url(url).get_backend_name()


def _shown(url: str) -> str:
    """A URL as it may appear in a message: scheme, host and port only (never a password)."""
    parts = urlsplit(url)
    if not parts.scheme:
        return repr(url[:40]) if url else "unset"
    port = _port(parts)
    return f"{parts.scheme}://{parts.hostname or ''}{f':{port}' if port else ''}"


def _port(parts) -> int | None:
    try:
        return parts.port
    except ValueError:
        return None


if __name__ == "__main__":  # `python -m escalation.settings`: refuse before starting a worker
    problem = unsafe_setting(get_settings())
    raise SystemExit(f"error: {problem}" if problem else 0)
