"""The issue 15 acceptance fault run (by hand, not in the suite): the production set-up on
PostgreSQL under load, six faults, and what became of every due case and every email.

    .venv/bin/python -m bench.faults [--postgres postgresql+psycopg://postgres@127.0.0.1:5432]
        [--cases 2000] [--only a|b|c|d|e|f] [--interval 60] [--settle 2.5] [--keep] [--committed]

1. Two fresh databases (the app's, Prefect's with pg_trgm), `escalation init`, the demo
   directory, `--cases` disagreements raised through the domain code (their raising emails are
   dropped: set-up, not under test).
2. The set-up from scripts/production/: the Prefect server, `deploy`, the web tier (if
   scripts/production/web exists), two workers, `escalation health --alarm` every 60 s (the
   systemd timer's stand-in) and an SMTP relay on loopback that records every Message-ID.
3. Phases, run in the order baseline, d, e, a, b, c, f (RUN_ORDER says why): (a) kill -9 one
   worker mid-sweep, (b) kill -9 both and restart one after 5 minutes, (c) the Prefect server
   stopped for a minute, (d) the relay answering 421 for 4 minutes, (e) the relay answering
   550 5.7.1 for 60 s, (f) pg_terminate_backend mid-sweep. Each phase makes its share of the
   cases due over its length (a burst of 200 at once before a mid-sweep fault), applies its
   fault, then settles `--settle` intervals.
4. A drain (every case escalated, no email waiting; at most 6 minutes), then the tables
   (bench.fault_report), also written to <work>/faults.md. Every process is stopped, and the
   databases dropped unless --keep, also on Ctrl-C.

`--committed` runs the last commit (`git archive HEAD`), not the working tree, from a temporary
directory using this checkout's .venv: other people's unfinished edits stay out of the run.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench import fault_actions as faults
from bench import fault_setup as setup
from bench.fault_load import escalated_count, forget_setup_mail, make_due, raise_cases, spread
from bench.fault_measure import health_alerts, measure, observe, timer_alarms
from bench.fault_report import notes, tables
from bench.fault_sink import Sink
from bench.fault_timer import HealthTimer
from escalation.store.db import session_factory

ROOT = Path(__file__).resolve().parent.parent
ORDER = ["baseline", "a", "b", "c", "d", "e", "f"]  # as the tables list them
# The order they run in: the mail faults first, so that the crashes come more than 5 minutes
# after `deploy`. Prefect's triggers cannot see the state events of runs created less than 5
# minutes before they start (they follow a Scheduled state never emitted as an event, and wait
# for it up to 15 minutes), and `deploy` creates the first hour's runs at once: a crash in the
# first minutes after a deploy is not the steady state (see --only a, which shows it).
RUN_ORDER = ["baseline", "d", "e", "a", "b", "c", "f"]
FAULT_SECONDS = {"baseline": 0, "a": 30, "b": 300, "c": 90, "d": 240, "e": 60, "f": 30}
BURSTY = {"a", "f"}


def main() -> None:
    args = _arguments()
    if args.committed:
        _run_committed()
    signal.signal(signal.SIGTERM, _interrupt)
    work = ROOT / "var" / "faults" / datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    work.mkdir(parents=True)
    say(f"work directory {work}")
    admin = str(
        make_url(args.postgres).set(database=make_url(args.postgres).database or "postgres")
    )
    app_url, prefect_url = setup.create_databases(admin)
    say(f"databases {make_url(app_url).database}, {make_url(prefect_url).database}")
    try:
        with Sink(work / "sink.jsonl") as sink:
            stack = setup.new_stack(ROOT, work, app_url, prefect_url, sink.url, args.interval)
            stack.env.update(item.split("=", 1) for item in args.set)
            try:
                _run(args, stack, sink, app_url, prefect_url, work)
            finally:
                say("stopping every process")
                setup.stop_all(stack)
    finally:
        if not args.keep:
            setup.drop_databases(admin, [app_url, prefect_url])


def _run(args, stack, sink, app_url, prefect_url, work: Path) -> None:
    app = create_engine(
        app_url, pool_pre_ping=True, connect_args={"application_name": "faults-bench"}
    )
    prefect = create_engine(prefect_url, pool_pre_ping=True)
    tool = stack.tool("escalation")
    setup.run(stack, "init", [tool, "init"])
    setup.run(
        stack,
        "directory",
        [tool, "directory", "import", str(ROOT / "escalation" / "demo_data" / "directory.csv")],
    )
    started = time.monotonic()
    cases = raise_cases(ROOT, session_factory(app), args.cases, datetime.now(UTC))
    dropped = forget_setup_mail(app, datetime.now(UTC))
    say(
        f"raised {args.cases} in {time.monotonic() - started:.0f} s ({dropped} set-up emails dropped)"
    )
    say(f"Prefect server answered after {setup.start_prefect_server(stack):.0f} s")
    started = time.monotonic()
    setup.run(stack, "deploy", [str(stack.script("deploy"))])
    if args.interval != 60:
        setup.set_sweep_interval(stack, args.interval)
    say(f"deploy took {time.monotonic() - started:.0f} s")
    say(f"web tier: {'up' if setup.start_web(stack) else 'no scripts/production/web'}")
    for name in ("worker-1", "worker-2"):
        setup.start_worker(stack, name)
    timer = HealthTimer(stack)
    timer.start()
    say(f"health timer runs: {' '.join(timer.command[1:])}")
    bench = faults.Bench(stack, sink, app, prefect, cases, args.interval, say)
    try:
        _first_sweep(bench)
        phases = _phases(args, bench)
        _drain(bench, args.drain)
    finally:
        timer.stop()
    setup.stop_all(stack)
    seen = observe(app, prefect, sink.arrivals())
    seen.alerts += health_alerts(timer.checks)
    seen.timer_alarms = timer_alarms(timer.checks)
    rows = measure(phases, cases, seen, args.interval)
    rows.sort(key=lambda row: ORDER.index(row.phase.key))
    report = "\n\n".join([tables(rows, args.interval), notes(rows), _health(timer)])
    (work / "faults.md").write_text(report + "\n")
    print("\n" + report, flush=True)


def _phases(args, bench: faults.Bench) -> list[faults.Phase]:
    keys = RUN_ORDER if args.only is None else [args.only]
    settle = {key: (1.5 if key == "baseline" else args.settle) * args.interval for key in keys}
    planned = {key: FAULT_SECONDS[key] + settle[key] for key in keys}
    steady = args.cases - faults.BURST * len(BURSTY & set(keys))
    total = sum(planned.values())
    phases = []
    for key in keys:
        title, fault = faults.FAULTS[key]
        phase = faults.Phase(key, title, datetime.now(UTC))
        phases.append(phase)
        if phases[:-1]:
            phases[-2].end = phase.start
        count = round(steady * planned[key] / total)
        make_due(
            bench.app,
            bench.cases,
            key,
            spread(phase.start + timedelta(seconds=10), _due_window(planned[key], args), count),
        )
        say(f"({key}) {title}: {count} cases falling due over {planned[key]:.0f} s")
        fault(bench, phase)
        say(
            f"({key}) fault over at {phase.fault_end:%H:%M:%S}; settling {settle[key]:.0f} s. "
            + "; ".join(phase.notes)
        )
        bench.wait(settle[key] - (datetime.now(UTC) - phase.fault_end).total_seconds())
        if _ensure_workers(bench):
            bench.wait(20)  # the restarted worker polls before the next fault
        _healthy_again(bench, phase.fault_end, limit=8 * args.interval)
        phase.notes.append(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    phases[-1].end = datetime.now(UTC)
    return phases


def _due_window(planned: float, args) -> float:
    """Seconds over which a phase's cases fall due: all but the last interval of the phase, so
    that none is still waiting when the next fault begins (a later one spills into it)."""
    return max(30.0, planned - 10 - args.interval)


def _ensure_workers(bench: faults.Bench) -> bool:
    """Start again any worker a fault killed (as its supervisor would); True if any."""
    missing = [name for name in ("worker-1", "worker-2") if name not in bench.stack.processes]
    for name in missing:
        setup.start_worker(bench.stack, name)
        say(f"{name} started again")
    return bool(missing)


def _first_sweep(bench: faults.Bench) -> None:
    """Wait for the set-up's first completed sweep (it proves the set-up works)."""
    if not _healthy_again(bench, datetime.now(UTC), limit=3 * bench.interval + 120):
        raise RuntimeError("no sweep completed: see the workers' logs in the work directory")
    say("first sweep completed")


def _healthy_again(bench: faults.Bench, since: datetime, limit: float) -> bool:
    """Wait (at most `limit` s) for a sweep completed after `since`, so that one fault's stall
    does not run on into the next fault; True if one did."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        with bench.prefect.connect() as connection:
            done = connection.execute(
                text(
                    "SELECT count(*) FROM flow_run f JOIN deployment d "
                    "ON d.id = f.deployment_id WHERE d.name = 'escalation-sweep' "
                    "AND f.state_type = 'COMPLETED' AND f.end_time > :since"
                ),
                {"since": since},
            ).scalar_one()
        if done:
            return True
        time.sleep(2)
    say(f"no sweep completed within {limit:.0f} s of {since:%H:%M:%S}; going on")
    return False


def _drain(bench: faults.Bench, limit: float) -> None:
    """Wait until every case made due is escalated and no email is waiting (or `limit` s)."""
    deadline = time.monotonic() + limit
    references = list(bench.cases.due)
    while time.monotonic() < deadline:
        with bench.app.connect() as connection:
            waiting = connection.execute(
                text("SELECT count(*) FROM outbox WHERE status = 'pending'")
            ).scalar_one()
        escalated = escalated_count(bench.app, references)
        if waiting == 0 and escalated >= len(references):
            say("drained: every due case escalated, no email waiting")
            return
        time.sleep(5)
    say(
        f"drain stopped after {limit:.0f} s: {waiting} emails waiting, "
        f"{escalated} of {len(references)} escalated"
    )


def _health(timer: HealthTimer) -> str:
    failing = [check for check in timer.checks if check.code != 0]
    first = f", first at {failing[0].at:%H:%M:%S}" if failing else ""
    return (
        f"Health timer (`{' '.join(timer.command[1:])}` every 60 s): {len(timer.checks)} "
        f"runs, {len(failing)} exited non-zero{first}; its output is in health.log."
    )


def _run_committed() -> None:
    """Re-run this command from `git archive HEAD` in a temporary directory."""
    target = Path(tempfile.mkdtemp(prefix="faults-src-"))
    archive = subprocess.run(["git", "archive", "HEAD"], cwd=ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    (target / ".venv").symlink_to(ROOT / ".venv")
    argv = [a for a in sys.argv[1:] if a != "--committed"]
    say(f"running the last commit from {target}")
    os.chdir(target)
    env = {**os.environ, "PYTHONPATH": str(target)}
    os.execve(sys.executable, [sys.executable, "-m", "bench.faults", *argv], env)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.faults",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432")
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--only", choices=ORDER[1:], help="one fault (no baseline)")
    parser.add_argument("--interval", type=int, default=60, help="the sweep's, in seconds")
    parser.add_argument("--settle", type=float, default=2.5, help="intervals after each fault")
    parser.add_argument("--drain", type=float, default=360, help="seconds at most, at the end")
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an extra environment variable for every process (to try a setting)",
    )
    parser.add_argument("--committed", action="store_true", help="run the last commit")
    return parser.parse_args()


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt  # the same clean-up as Ctrl-C


def say(line: str) -> None:
    print(f"{datetime.now(UTC):%H:%M:%S} {line}", flush=True)


if __name__ == "__main__":
    main()
