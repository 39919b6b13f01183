"""Commands that run the service's work once: a sweep, a delivery pass, the digest, and the
health check. Without --direct they run as Prefect flow runs, like the scheduled ones."""

from __future__ import annotations

import asyncio
import importlib
import json
from typing import Annotated

import typer

from escalation import runtime
from escalation.casework import health as health_checks
from escalation.casework.sweep import SWEEP, run_sweep
from escalation.cli.common import NowOption, now_from, sessions
from escalation.outbox import delivery
from escalation.rules.calendar import parse_instant
from escalation.settings import get_settings
from escalation.store.db import transaction


def sweep(
    now: NowOption = None,
    direct: Annotated[
        bool,
        typer.Option(
            "--direct",
            help="Run the sweep in this process without Prefect (for when Prefect is down).",
        ),
    ] = False,
) -> None:
    """Run one escalation sweep (as a Prefect flow run) and print its summary as JSON."""
    instant = now_from(now).isoformat()
    if direct:
        summary = run_sweep(sessions(), now=parse_instant(instant)).as_dict()
    else:
        summary = _flow("flows.sweep", "escalation_sweep")(now=instant)
    typer.echo(json.dumps(summary))


def deliver(
    now: NowOption = None,
    direct: Annotated[bool, typer.Option("--direct", help="Without Prefect.")] = False,
) -> None:
    """Run one delivery pass (as a Prefect flow run) and print its summary as JSON."""
    instant = now_from(now).isoformat()
    if direct:
        result = asyncio.run(delivery.deliver(runtime.delivery(), now=parse_instant(instant)))
        summary = result.as_dict()
    else:
        summary = asyncio.run(_flow("flows.deliver", "deliver_notifications")(now=instant))
    typer.echo(json.dumps(summary))


def digest(now: NowOption = None) -> None:
    """Queue today's digest for every board manager (as a Prefect flow run)."""
    queued = _flow("flows.digest", "board_digest")(now=now_from(now).isoformat())
    typer.echo(json.dumps({"queued_emails": queued}))


def health(now: NowOption = None) -> None:
    """Is the sweep running, and what alerts are open? Exit 1 if anything needs attention."""
    interval = get_settings().sweep_interval_seconds
    with transaction(sessions()) as session:
        status = health_checks.sweep_health(session, SWEEP, now_from(now), interval)
        alerts = health_checks.open_alerts(session)
        typer.echo(f"sweep: {status.message}")
        for alert in alerts:
            since = f"{alert.first_at:%Y-%m-%d %H:%M} UTC"
            typer.echo(f"alert: {alert.kind}: {alert.message} (x{alert.count} since {since})")
    if status.stalled or alerts:
        raise typer.Exit(1)


def _flow(module: str, name: str):
    """A flow from flows/, with Prefect configured for this project before it is imported."""
    runtime.prefect_environment()
    return getattr(importlib.import_module(module), name)
