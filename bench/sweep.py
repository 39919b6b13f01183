"""The sweep against the fair raw-SQL baseline (bench/sweep_raw.py writes exactly the rows the
service writes; bench/sweep_check.py proves it), interleaved round by round.

    .venv/bin/python -m bench.sweep [--open 20000] [--due 1000] [--rounds 3] [--postgres URL]

Prints, per database: the idle sweep (nothing due, median of 5) against the same questions in
raw SQL; then per round `--due` escalations by `run_sweep`, by the baseline one transaction a
disagreement, and by the baseline in the service's groups (GROUP a transaction, a savepoint
each), each from a fresh database at the same starting point (the order rotates), with the
statements sent per escalation; then the medians and ranges of the ms per escalation and of
the ratios round by round.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from functools import partial

from sqlalchemy import Engine, bindparam, event, text

from bench.common import on_each_database
from bench.sweep_raw import raw_sweep
from bench.sweep_setup import NOW, fresh, make_due
from escalation.casework.sweep import GROUP, run_sweep
from escalation.store.db import UTCDateTime, session_factory


def raw_sweep_nothing_due(engine: Engine) -> float:
    """The baseline for an idle sweep: the same transactions (heartbeat, the three questions,
    heartbeat) in hand-written SQL."""
    instant = bindparam("now", type_=UTCDateTime())
    beat = text("UPDATE heartbeats SET last_started_at = :now WHERE name = 'raw'").bindparams(
        instant
    )
    questions = [
        text(
            "SELECT reference, id FROM disagreements WHERE status = 'open' AND "
            f"{column} IS NOT NULL AND {column} <= :now ORDER BY {column} LIMIT 1"
        ).bindparams(instant)
        for column in ("remind_at", "watch_at")
    ]
    due = text(
        "SELECT reference, id FROM disagreements WHERE status = 'open' AND resolution_state IS "
        "NULL AND final_stage_overdue_at IS NULL AND due_at <= :now ORDER BY due_at LIMIT 1"
    ).bindparams(instant)
    started = time.perf_counter()
    for statement in (beat, due, *questions, beat):
        with engine.begin() as connection:
            result = connection.execute(statement, {"now": NOW})
            assert statement is beat or result.first() is None
    return time.perf_counter() - started


def idle(engine: Engine) -> tuple[float, float]:
    sessions = session_factory(engine)
    ours = []
    for _ in range(5):
        started = time.perf_counter()
        assert run_sweep(sessions, now=NOW).escalated == 0
        ours.append(time.perf_counter() - started)
    return statistics.median(ours), statistics.median(
        raw_sweep_nothing_due(engine) for _ in range(5)
    )


def service_round(url: str, open_count: int, due: int) -> tuple[float, float]:
    """Seconds for `due` escalations by run_sweep, and the statements it sent per escalation."""
    engine = fresh(url, open_count)
    make_due(engine, due)
    sent = []
    event.listen(engine, "before_cursor_execute", lambda *args: sent.append(1))
    started = time.perf_counter()
    summary = run_sweep(session_factory(engine), now=NOW)
    elapsed = time.perf_counter() - started
    assert summary.escalated == due, summary
    engine.dispose()
    return elapsed, len(sent) / due


def raw_round(url: str, open_count: int, due: int, group: int = 1) -> tuple[float, float]:
    engine = fresh(url, open_count)
    make_due(engine, due)
    baseline = raw_sweep(engine, session_factory(engine), NOW)
    sent = []
    event.listen(engine, "before_cursor_execute", lambda *args: sent.append(1))
    started = time.perf_counter()
    assert baseline.escalate_all(NOW, group) == due
    elapsed = time.perf_counter() - started
    engine.dispose()
    return elapsed, len(sent) / due


def spread(values: list[float], unit: str = "") -> str:
    return f"median {statistics.median(values):.2f}{unit} ({min(values):.2f}–{max(values):.2f})"


def measure(name: str, place: Callable[[], str], args) -> None:
    engine = fresh(place(), args.open)
    ours, raw = idle(engine)
    engine.dispose()
    print(
        f"{name:<10} open={args.open:,} none due: sweep {ours * 1000:.2f} ms, raw SQL "
        f"{raw * 1000:.2f} ms, ratio {ours / raw:.2f}",
        flush=True,
    )
    runs = {
        "run_sweep": service_round,
        "raw SQL": raw_round,
        f"raw SQL, {GROUP} a transaction": partial(raw_round, group=GROUP),
    }
    ms = {label: [] for label in runs}
    for number in range(args.rounds):
        order = list(runs)[number % len(runs) :] + list(runs)[: number % len(runs)]
        line = []
        for label in order:
            elapsed, sent = runs[label](place(), args.open, args.due)
            ms[label].append(elapsed / args.due * 1000)
            line.append(f"{label} {ms[label][-1]:.2f} ms each ({sent:.1f} statements)")
        print(f"{name:<10} round {number + 1}: " + ", ".join(line), flush=True)
    print(f"{name:<10} open={args.open:,} due={args.due:,}, {args.rounds} rounds, ms each:")
    ours = ms["run_sweep"]
    for label, values in ms.items():
        ratios = [mine / theirs for mine, theirs in zip(ours, values, strict=True)]
        ratio = "" if values is ours else f"; run_sweep / this {spread(ratios)}"
        print(f"  {label:<28} {spread(values)}{ratio}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--open", type=int, default=20_000)
    parser.add_argument("--due", type=int, default=1_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--postgres", help="PostgreSQL URL (temporary schemas are used)")
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args()
    on_each_database(measure, args, sqlite=not args.skip_sqlite)


if __name__ == "__main__":
    main()
