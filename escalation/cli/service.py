"""Commands that run the service's work once: a sweep, a delivery pass, the digest, and the
health check. Without --direct they run as Prefect flow runs, like the scheduled ones. The
domain and Prefect are imported inside each command (see common.py)."""

from __future__ import annotations

import importlib
import json
from datetime import datetime
from typing import Annotated

import typer

from escalation.cli.common import NowOption, instant_from, now_from, sessions, settings


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
        from escalation.casework.sweep import run_sweep

        summary = run_sweep(sessions(), now=instant_from(instant, "--now")).as_dict()
    else:
        summary = _flow("flows.sweep", "escalation_sweep")(now=instant)
    typer.echo(json.dumps(summary))


def deliver(
    now: NowOption = None,
    direct: Annotated[bool, typer.Option("--direct", help="Without Prefect.")] = False,
) -> None:
    """Run one delivery pass (as a Prefect flow run) and print its summary as JSON."""
    import asyncio

    instant = now_from(now).isoformat()
    if direct:
        from escalation import runtime
        from escalation.outbox import delivery

        at = instant_from(instant, "--now")
        result = asyncio.run(delivery.deliver(runtime.delivery(), now=at))
        summary = result.as_dict()
    else:
        summary = asyncio.run(_flow("flows.deliver", "deliver_notifications")(now=instant))
    typer.echo(json.dumps(summary))


def digest(now: NowOption = None) -> None:
    """Queue today's digest for every board manager (as a Prefect flow run)."""
    queued = _flow("flows.digest", "board_digest")(now=now_from(now).isoformat())
    typer.echo(json.dumps({"queued_emails": queued}))


AlarmOption = Annotated[
    bool,
    typer.Option(
        "--alarm",
        help="On a stalled sweep raise the alert, queue the board managers' alarm and send it "
        "at once from this process (for a timer on a machine that is not a worker).",
    ),
]
StartClockOption = Annotated[
    bool,
    typer.Option(
        "--start-clock",
        help="Start the sweep's stall clock (scripts/production/deploy runs it) and exit.",
    ),
]


def health(
    now: NowOption = None, alarm: AlarmOption = False, start_clock: StartClockOption = False
) -> None:
    """Is the sweep running, is mail getting out, what alerts are open? Exit 1 if anything needs
    attention (also before the stall clock has ever been started: a fresh install)."""
    from escalation.casework import health as health_checks
    from escalation.casework.sweep import SWEEP
    from escalation.outbox.mail_health import mail_health
    from escalation.store.db import transaction

    instant = now_from(now)
    if start_clock:
        with transaction(sessions()) as session:
            health_checks.expect_sweeps(session, SWEEP, instant)
        typer.echo("sweep: the stall clock is started")
        return
    if alarm:
        _raise_alarm(instant)
    interval = settings().sweep_interval_seconds
    with transaction(sessions()) as session:
        status = health_checks.sweep_health(session, SWEEP, instant, interval)
        mail = mail_health(session, instant)
        alerts = health_checks.open_alerts(session)
        typer.echo(f"sweep: {status.message}")
        for line in mail.lines:
            typer.echo(line)
        for alert in alerts:
            since = f"{alert.first_at:%Y-%m-%d %H:%M} UTC"
            typer.echo(f"alert: {alert.kind}: {alert.message} (x{alert.count} since {since})")
    if not status.healthy or mail.unhealthy or alerts:
        raise typer.Exit(1)


def _raise_alarm(now: datetime) -> None:
    """The stall check as the delivery flow runs it, and then its alarm emails sent at once
    through the relay (a failed send is left for the next try or the delivery run)."""
    import asyncio

    from escalation import runtime
    from escalation.casework import health as health_checks
    from escalation.casework.sweep import SWEEP
    from escalation.store.db import transaction

    interval = settings().sweep_interval_seconds
    with transaction(sessions()) as session:
        health_checks.check_sweep(session, SWEEP, now, interval)
        alarms = health_checks.pending_alarms(session)
    if alarms:
        from escalation.outbox.immediate import send_now  # the web's sender

        sent = asyncio.run(send_now(runtime.delivery(), alarms, now=now))
        typer.echo(f"alarm: {sent.sent} of {len(alarms)} alarm email(s) sent now")


def automations(
    alarm_url: Annotated[
        str | None,
        typer.Option(
            "--alarm-url",
            help="The web tier's address as the Prefect server reaches it (default: "
            "ESCALATION_PUBLIC_BASE_URL); its /ops/sweep-stalled is called on a stalled sweep.",
        ),
    ] = None,
) -> None:
    """Create or update the Prefect server's automations (PREFECT_API_URL): crashed runs are
    marked Crashed, and a stalled sweep calls the web tier. Safe to run again."""
    import asyncio

    from escalation import runtime

    runtime.prefect_environment()
    module = importlib.import_module("flows.automations")
    configured = settings()
    done = asyncio.run(
        module.ensure_automations(
            alarm_url=module.alarm_url(alarm_url or configured.public_base_url),
            token=configured.ops_token,
            sweep_interval_seconds=configured.sweep_interval_seconds,
        )
    )
    for line in done:
        typer.echo(line)


def _flow(module: str, name: str):
    """A flow from flows/, with Prefect configured for this project before it is imported."""
    from escalation import runtime

    runtime.prefect_environment()
    return getattr(importlib.import_module(module), name)
