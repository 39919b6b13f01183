"""Settings, read once from the environment (prefix ESCALATION_) and refused if invalid."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ESCALATION_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///./var/escalation.db",
        description="SQLAlchemy URL; PostgreSQL as postgresql+psycopg://user@host/db",
    )
    policies_dir: Path = Path("policies")
    default_policy: str = "default"
    templates_dir: Path = Path(__file__).resolve().parent.parent / "templates"

    public_base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Links in emails are built from this, never from a request's Host header",
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
        "to raise a disagreement (JSON list, e.g. [\"nhs.net\"])",
    )
    demo: bool = Field(default=False, description="Demo mode: the web app shows the captured "
                       "emails at /demo/mail (never in production)")
    web_port: int = Field(default=8000, description="The embedded web app's port (loopback)")
    prefect_port: int = Field(default=4200, description="The embedded Prefect server's port")
    sweep_interval_seconds: int = Field(default=60, ge=5)
    delivery_interval_seconds: int = Field(default=30, ge=5)
    link_grace_hours: int = Field(default=24, ge=0)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
