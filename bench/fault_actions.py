"""The six faults, each applied to the running set-up while cases fall due. Each records when
the fault began and ended (`Phase.fault_start`, `fault_end`); everything else is measured
afterwards from the databases and the relay's log (bench.fault_measure).

Where the recovery clock starts (`fault_end`): the kill for a crash, the restarted worker for
"both workers killed", the server answering again for the Prefect outage, the relay answering
250 again for the mail faults, the terminated connections for the database fault.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine, text

from bench import fault_setup as setup
from bench.fault_load import Cases, escalated_count, make_due
from bench.fault_setup import Stack
from bench.fault_sink import Sink

BURST = 200  # cases due at one instant before a mid-sweep fault: a sweep long enough to hit


@dataclass
class Phase:
    key: str
    title: str
    start: datetime
    fault_start: datetime | None = None
    fault_end: datetime | None = None
    end: datetime | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class Bench:
    stack: Stack
    sink: Sink
    app: Engine  # the app's database, as application_name faults-bench
    prefect: Engine  # Prefect's database (read only: run states)
    cases: Cases
    interval: int
    say: Callable[[str], None]

    def wait(self, seconds: float) -> None:
        time.sleep(max(0.0, seconds))


def now() -> datetime:
    return datetime.now(UTC)


# --- the faults -----------------------------------------------------------------------------


def no_fault(bench: Bench, phase: Phase) -> None:
    """A baseline: the same load with nothing wrong."""
    phase.fault_start = phase.fault_end = now()


def kill_one_worker(bench: Bench, phase: Phase) -> None:
    """kill -9 the worker running the sweep (and its flow-run process) part-way through it."""
    _mid_sweep(bench, phase)
    victim = _worker_running_sweep(bench) or "worker-1"
    phase.fault_start = phase.fault_end = now()
    pids = setup.kill9(bench.stack, victim)
    phase.notes.append(f"killed {victim} (pids {' '.join(map(str, pids))})")


def kill_both_workers(bench: Bench, phase: Phase) -> None:
    """kill -9 both workers; restart one after 5 minutes (the alarm path)."""
    phase.fault_start = now()
    for name in [name for name in bench.stack.processes if name.startswith("worker")]:
        setup.kill9(bench.stack, name)
    bench.wait(max(300, 5 * bench.interval))
    setup.start_worker(bench.stack, "worker-1")
    phase.fault_end = now()


def stop_prefect_server(bench: Bench, phase: Phase) -> None:
    """Stop the Prefect server (SIGTERM) for a minute, then start it again."""
    phase.fault_start = now()
    setup.stop(bench.stack, "prefect-server")
    bench.wait(60 - (now() - phase.fault_start).total_seconds())
    seconds = setup.start_prefect_server(bench.stack)
    phase.fault_end = now()
    phase.notes.append(f"server answered {seconds:.0f} s after its restart")


def relay_busy(bench: Bench, phase: Phase) -> None:
    """The relay answers 421 to everything for 4 minutes."""
    _relay(bench, phase, "421", 240)


def relay_denies(bench: Bench, phase: Phase) -> None:
    """The relay answers 550 5.7.1 relaying denied to every recipient for 60 s."""
    _relay(bench, phase, "550", 60)


def terminate_backends(bench: Bench, phase: Phase) -> None:
    """pg_terminate_backend every connection to the app's database (not the bench's own),
    part-way through a sweep."""
    _mid_sweep(bench, phase)
    phase.fault_start = phase.fault_end = now()
    with bench.app.connect() as connection:
        killed = connection.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND application_name <> 'faults-bench'"
            )
        ).scalar_one()
    phase.notes.append(f"terminated {killed} connections")


FAULTS = {
    "baseline": ("no fault", no_fault),
    "a": ("kill -9 one worker mid-sweep", kill_one_worker),
    "b": ("kill -9 both workers, restart one after 5 min", kill_both_workers),
    "c": ("Prefect server stopped for a minute", stop_prefect_server),
    "d": ("relay answers 421 for 4 min", relay_busy),
    "e": ("relay answers 550 5.7.1 for 60 s", relay_denies),
    "f": ("pg_terminate_backend mid-sweep", terminate_backends),
}


# --- helpers ----------------------------------------------------------------------------


def _relay(bench: Bench, phase: Phase, mode: str, seconds: float) -> None:
    phase.fault_start = now()
    bench.sink.set_mode(mode)
    bench.wait(seconds)
    bench.sink.set_mode("accept")
    phase.fault_end = now()


def _mid_sweep(bench: Bench, phase: Phase, tries: int = 2) -> None:
    """Make BURST cases due at once, then return when a sweep has escalated some but not most
    of them (another burst if the sweep was missed; noted either way)."""
    burst = bench.cases.unscheduled[:BURST]
    make_due(bench.app, bench.cases, phase.key, [now()] * len(burst))
    deadline = time.monotonic() + 3 * bench.interval
    while time.monotonic() < deadline:
        done = escalated_count(bench.app, burst)
        if 5 <= done <= len(burst) - 40:
            phase.notes.append(f"the sweep had escalated {done} of a burst of {len(burst)}")
            return
        if done > len(burst) - 40:
            phase.notes.append(f"missed the sweep ({done} of {len(burst)} done)")
            if tries > 1:
                return _mid_sweep(bench, phase, tries - 1)
            return
        time.sleep(0.05)
    phase.notes.append("no sweep seen running within three intervals")


def _worker_running_sweep(bench: Bench) -> str | None:
    """The worker running the sweep, from the run's process id: the worker's own (our flows
    run in the worker's process, flows/inprocess.py) or that of a flow-run process below it."""
    with bench.prefect.connect() as connection:
        pid = connection.execute(
            text(
                "SELECT f.infrastructure_pid FROM flow_run f JOIN deployment d "
                "ON d.id = f.deployment_id WHERE d.name = 'escalation-sweep' "
                "AND f.state_type = 'RUNNING' ORDER BY f.start_time DESC LIMIT 1"
            )
        ).scalar_one_or_none()
    if pid is None:
        return None
    for name, process in bench.stack.processes.items():
        ours = (process.pid, *setup.descendants(process.pid))
        if name.startswith("worker") and int(pid) in ours:
            return name
    return None
