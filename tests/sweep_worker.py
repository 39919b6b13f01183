"""A sweep in its own process, for the concurrency and crash tests.

python -m tests.sweep_worker DATABASE_URL NOW [--die-after K] [--start-at EPOCH]
Prints the sweep's summary as JSON. --die-after K kills the process (os._exit, like kill -9:
no cleanup, no rollback handlers) right after the K-th committed disagreement.
--start-at waits until that wall-clock time, so two processes start their sweeps together.
"""

from __future__ import annotations

import argparse
import json
import os
import time

from escalation.casework.sweep import run_sweep
from escalation.rules.calendar import parse_instant
from escalation.store.db import make_engine, session_factory


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("now")
    parser.add_argument("--die-after", type=int)
    parser.add_argument("--start-at", type=float)
    args = parser.parse_args()
    sessions = session_factory(make_engine(args.url))
    done = []

    def after_each(reference: str) -> None:
        done.append(reference)
        if args.die_after is not None and len(done) >= args.die_after:
            os._exit(137)

    if args.start_at:
        time.sleep(max(0.0, args.start_at - time.time()))
    summary = run_sweep(sessions, now=parse_instant(args.now), after_each=after_each)
    print(json.dumps(summary.as_dict()))


if __name__ == "__main__":
    main()
