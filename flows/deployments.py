"""The three deployments as the embedded service serves them (production: prefect.yaml)."""

from __future__ import annotations

from datetime import timedelta

from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.schedules import Cron, Interval

from escalation.settings import Settings
from flows.deliver import deliver_notifications
from flows.digest import board_digest
from flows.sweep import escalation_sweep

ONE_AT_A_TIME = ConcurrencyLimitConfig(
    limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW
)


def deployments(settings: Settings) -> list:
    return [
        escalation_sweep.to_deployment(
            name="escalation-sweep",
            schedules=[
                Interval(timedelta(seconds=settings.sweep_interval_seconds), timezone="UTC")
            ],
            concurrency_limit=ONE_AT_A_TIME,
        ),
        deliver_notifications.to_deployment(
            name="deliver-notifications",
            schedules=[
                Interval(timedelta(seconds=settings.delivery_interval_seconds), timezone="UTC")
            ],
            concurrency_limit=ONE_AT_A_TIME,
        ),
        board_digest.to_deployment(
            name="board-digest",
            schedules=[Cron("0 8 * * *", timezone="Europe/London")],
        ),
    ]
