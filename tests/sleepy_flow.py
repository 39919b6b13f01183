"""A flow that only sleeps, for the worker's clean-stop test (tests/test_worker_stop.py): its
deployment's entrypoint is this file, loaded by the worker's flow-run process."""

from __future__ import annotations

import time

from prefect import flow


@flow(name="sleepy", persist_result=False)
def sleepy(seconds: float = 6) -> float:
    time.sleep(seconds)
    return seconds
