"""Does the sweep scale out? `--due` escalations by one sweep process against the same work
shared by two sweep processes at once (two workers, or a deployment's concurrency 2), each
round from a fresh database at the same starting point, one and two alternating.

    .venv/bin/python -m bench.sweep_parallel --postgres URL [--open 20000] [--due 2000] [--rounds 3]

Prints per round the seconds each took and the speed-up (one's time / two's), then the median
and range. The processes are forked with everything imported and connect before the clock
starts; each runs `run_sweep` at the same instant, so they compete for the same due rows
(FOR UPDATE SKIP LOCKED) exactly as two workers do. SQLite serialises writers, so this is a
PostgreSQL measure (`--sqlite` runs it there too, for comparison).
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import time

from bench.common import on_each_database
from bench.sweep_setup import NOW, fresh, make_due
from escalation.casework.sweep import run_sweep
from escalation.store.db import make_engine, session_factory


def _sweeper(url: str, ready, start, results) -> None:
    engine = make_engine(url)
    with engine.connect():
        pass  # connected before the clock starts
    ready.release()
    start.wait()
    summary = run_sweep(session_factory(engine), now=NOW)
    results.put(summary.escalated)
    engine.dispose()


def timed_round(url: str, args, processes: int) -> float:
    engine = fresh(url, args.open)
    make_due(engine, args.due)
    engine.dispose()
    context = multiprocessing.get_context("fork")
    ready, start, results = context.Semaphore(0), context.Event(), context.Queue()
    workers = [
        context.Process(target=_sweeper, args=(url, ready, start, results))
        for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    for _ in workers:
        ready.acquire()
    started = time.perf_counter()
    start.set()
    escalated = [results.get() for _ in workers]
    elapsed = time.perf_counter() - started
    for worker in workers:
        worker.join()
    assert sum(escalated) == args.due, escalated
    if processes > 1 and url.startswith("postgresql"):  # SQLite's second may find none left
        assert min(escalated) > 0, f"one sweep did nothing: {escalated}"
    return elapsed


def measure(name: str, place, args) -> None:
    one, two = [], []
    for number in range(args.rounds):
        pair = [(one, 1), (two, 2)] if number % 2 == 0 else [(two, 2), (one, 1)]
        for into, processes in pair:
            into.append(timed_round(place(), args, processes))
        print(
            f"{name} round {number + 1}: one sweep {one[-1]:.2f} s, two at once {two[-1]:.2f} s, "
            f"speed-up {one[-1] / two[-1]:.2f}",
            flush=True,
        )
    ups = [a / b for a, b in zip(one, two, strict=True)]
    print(
        f"{name} open={args.open:,} due={args.due:,}, {args.rounds} rounds: one "
        f"{statistics.median(one):.2f} s, two {statistics.median(two):.2f} s, speed-up median "
        f"{statistics.median(ups):.2f} ({min(ups):.2f}–{max(ups):.2f})",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--open", type=int, default=20_000)
    parser.add_argument("--due", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--postgres", help="PostgreSQL URL (temporary schemas are used)")
    parser.add_argument("--sqlite", action="store_true")
    args = parser.parse_args()
    on_each_database(measure, args, sqlite=args.sqlite)


if __name__ == "__main__":
    main()
