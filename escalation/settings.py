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


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
