"""The Prefect server's own watch over the service: three automations, created or updated by
name (`escalation automations`, run by scripts/production/deploy; safe to run again).

1. "escalation: crashed runs": a deployment's flow run whose worker died is marked Crashed, so
   its deployment's concurrency slot is freed and the next scheduled sweep runs. Prefect's
   documented heartbeat automation (workers send a heartbeat every 30 s,
   PREFECT_FLOWS_HEARTBEAT_FREQUENCY), per flow run: after a heartbeat, Running or Pending, the
   server expects another heartbeat, Running or an end state within 3 heartbeats (90 s), or it
   changes the run to Crashed. Pending is included for a run submitted by a worker that died
   before the run's process started. Only runs of deployments: a run started by hand from a
   terminal (`escalation sweep`) holds no slot and may send no heartbeats.
2. "escalation: sweep after a crash": when (1) has marked a sweep Crashed, a sweep runs at once
   rather than at the next scheduled minute (only after a crash (1) found, so a sweep that
   crashes by itself again and again cannot start a loop of runs).
3. "escalation: sweep expected": a completed run of the escalation-sweep deployment is expected
   within 3 sweep intervals; without one the server POSTs (a Custom Webhook block, its bearer
   token kept among the block's secrets) to the web tier's /ops/sweep-stalled, which raises the
   alarm and emails the board managers at once (escalation/web/ops.py). This path needs no
   worker, and `escalation health --alarm` on a timer is a second one that needs no Prefect.
"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from prefect.blocks.notifications import CustomWebhookNotificationBlock
from prefect.client.orchestration import PrefectClient, get_client
from prefect.client.schemas.objects import StateType
from prefect.events.actions import ChangeFlowRunState, RunDeployment, SendNotification
from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture

from escalation.casework.health import STALL_FACTOR
from escalation.rules.errors import EscalationError

CRASHED_RUNS = "escalation: crashed runs"
SWEEP_AFTER_CRASH = "escalation: sweep after a crash"
SWEEP_EXPECTED = "escalation: sweep expected"
ALARM_BLOCK = "escalation-sweep-stalled"
SWEEP_DEPLOYMENT = "escalation-sweep/escalation-sweep"  # flow name / deployment name
ALARM_PATH = "/ops/sweep-stalled"
HEARTBEAT_SECONDS = 30  # scripts/production/worker's PREFECT_FLOWS_HEARTBEAT_FREQUENCY
CRASH_AFTER = timedelta(seconds=3 * HEARTBEAT_SECONDS)

NO_HEARTBEAT = "no heartbeat for"  # how (1)'s Crashed state message begins
ALIVE = ["prefect.flow-run.heartbeat", "prefect.flow-run.Running"]
ENDED = [f"prefect.flow-run.{state}" for state in ("Completed", "Failed", "Cancelled", "Crashed")]


class AutomationsRefused(EscalationError):
    """The automations cannot be set up as asked (no token, no sweep deployment yet)."""


def crashed_runs(within: timedelta = CRASH_AFTER) -> AutomationCore:
    trigger = EventTrigger(
        match={"prefect.resource.id": "prefect.flow-run.*"},
        match_related={"prefect.resource.role": "deployment"},
        after={*ALIVE, "prefect.flow-run.Pending"},
        expect={*ALIVE, *ENDED},
        for_each={"prefect.resource.id"},
        posture=Posture.Proactive,
        threshold=1,
        within=within,
    )
    message = (
        f"{NO_HEARTBEAT} {int(within.total_seconds())} s: the worker or the run's process "
        "died (marked Crashed by the automation 'escalation: crashed runs')"
    )
    return AutomationCore(
        name=CRASHED_RUNS,
        description="Marks a deployment's run Crashed when its heartbeats stop, freeing its "
        "concurrency slot (flows/automations.py)",
        trigger=trigger,
        actions=[ChangeFlowRunState(state=StateType.CRASHED, message=message)],
    )


def sweep_after_crash(deployment_id: UUID) -> AutomationCore:
    trigger = EventTrigger(
        match={
            "prefect.resource.id": "prefect.flow-run.*",
            "prefect.state-message": f"{NO_HEARTBEAT} *",
        },
        match_related={
            "prefect.resource.role": "deployment",
            "prefect.resource.id": f"prefect.deployment.{deployment_id}",
        },
        expect={"prefect.flow-run.Crashed"},
        posture=Posture.Reactive,
        threshold=1,
    )
    return AutomationCore(
        name=SWEEP_AFTER_CRASH,
        description="Runs the sweep at once when 'escalation: crashed runs' has marked one "
        "Crashed (flows/automations.py)",
        trigger=trigger,
        actions=[RunDeployment(source="selected", deployment_id=deployment_id)],
    )


def sweep_expected(deployment_id: UUID, block_id: UUID, within: timedelta) -> AutomationCore:
    trigger = EventTrigger(
        match={"prefect.resource.id": "prefect.flow-run.*"},
        match_related={
            "prefect.resource.role": "deployment",
            "prefect.resource.id": f"prefect.deployment.{deployment_id}",
        },
        expect={"prefect.flow-run.Completed"},
        posture=Posture.Proactive,
        threshold=1,
        within=within,
    )
    body = (
        f"No run of the escalation-sweep deployment has completed in {int(within.total_seconds())}"
        " s: deadlines may not be enforced. The web tier checks the database and emails the "
        "board managers."
    )
    return AutomationCore(
        name=SWEEP_EXPECTED,
        description="Calls the web tier's /ops/sweep-stalled when no sweep completes in 3 "
        "intervals (flows/automations.py)",
        trigger=trigger,
        actions=[
            SendNotification(
                block_document_id=block_id, subject="escalation: sweep stalled", body=body
            )
        ],
    )


def alarm_block(alarm_url: str, token: str) -> CustomWebhookNotificationBlock:
    """The webhook to the web tier; the token only among the block's secrets."""
    return CustomWebhookNotificationBlock(
        name=ALARM_BLOCK,
        url=alarm_url,
        method="POST",
        headers={"Authorization": "Bearer {{ops_token}}"},
        json_data={"subject": "{{subject}}", "body": "{{body}}"},
        secrets={"ops_token": token},
        timeout=30,
    )


def alarm_url(base_url: str | None) -> str:
    """The web tier's /ops/sweep-stalled under `base_url`; AutomationsRefused without one."""
    if not base_url or not base_url.startswith(("http://", "https://")):
        raise AutomationsRefused(
            "the Prefect server must be able to call the web tier: set "
            "ESCALATION_PUBLIC_BASE_URL or pass --alarm-url http(s)://WEB-HOST[:PORT]"
        )
    return base_url.rstrip("/").removesuffix(ALARM_PATH) + ALARM_PATH


async def ensure_automations(
    *,
    alarm_url: str,
    token: str | None,
    sweep_interval_seconds: int,
    crash_after: timedelta = CRASH_AFTER,
    sweep_within: timedelta | None = None,
) -> list[str]:
    """Create or update the alarm block and both automations on PREFECT_API_URL's server; one
    line per thing done. Refused without a token or before the sweep's deployment exists."""
    if not token:
        raise AutomationsRefused(
            "ESCALATION_OPS_TOKEN is not set: the web tier must know the Prefect server's calls "
            "(the same long random value on the web tier and here; e.g. `openssl rand -hex 32`)"
        )
    within = sweep_within or timedelta(seconds=STALL_FACTOR * sweep_interval_seconds)
    async with get_client() as client:
        deployment_id = await _sweep_deployment(client)
        block_id = await alarm_block(alarm_url, token).asave(ALARM_BLOCK, overwrite=True)
        return [
            f"block {ALARM_BLOCK}: POST {alarm_url}",
            await apply(client, crashed_runs(crash_after)),
            await apply(client, sweep_after_crash(deployment_id)),
            await apply(client, sweep_expected(deployment_id, block_id, within)),
        ]


async def apply(client: PrefectClient, automation: AutomationCore) -> str:
    """Create `automation`, or update the one of that name (and remove any duplicates)."""
    existing = await client.read_automations_by_name(automation.name)
    if not existing:
        await client.create_automation(automation)
        return f"automation {automation.name!r}: created"
    first, *duplicates = existing
    await client.update_automation(first.id, automation)
    for duplicate in duplicates:
        await client.delete_automation(duplicate.id)
    return f"automation {automation.name!r}: updated"


async def _sweep_deployment(client: PrefectClient) -> UUID:
    from prefect.exceptions import ObjectNotFound

    try:
        return (await client.read_deployment_by_name(SWEEP_DEPLOYMENT)).id
    except ObjectNotFound:
        raise AutomationsRefused(
            f"no deployment {SWEEP_DEPLOYMENT} on the Prefect server: run `prefect deploy --all` "
            "first (scripts/production/deploy does)"
        ) from None
