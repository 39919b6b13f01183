"""Stands in for the systemd health timer on a machine that is not a worker: runs
`escalation health --alarm` every minute (plain `escalation health` on a checkout that has no
--alarm yet) and keeps each run's time, exit code and output."""

from __future__ import annotations

import subprocess
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from bench.fault_setup import Stack


@dataclass(frozen=True)
class Check:
    at: datetime
    code: int
    output: str


class HealthTimer:
    def __init__(self, stack: Stack, every: float = 60):
        self.stack, self.every = stack, every
        self.checks: list[Check] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self.command = [stack.tool("escalation"), "health"]
        if "--alarm" in self._run([*self.command, "--help"]).output:
            self.command.append("--alarm")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=120)

    def _loop(self) -> None:
        """Every `every` s from the first run, as OnCalendar=minutely does (not `every` s after
        each run ends)."""
        next_run = time.monotonic()
        while not self._stop.is_set():
            next_run += self.every
            check = self._run(self.command)
            self.checks.append(check)
            with (self.stack.work / "health.log").open("a") as log:
                log.write(f"{check.at:%H:%M:%S} exit {check.code}\n{check.output}\n")
            self._stop.wait(max(0.0, next_run - time.monotonic()))

    def _run(self, command: list[str]) -> Check:
        at = datetime.now(UTC)
        try:
            result = subprocess.run(
                command,
                cwd=self.stack.root,
                env=self.stack.env,
                capture_output=True,
                text=True,
                timeout=110,
            )
        except subprocess.TimeoutExpired:
            return Check(at, -1, "timed out after 110 s")
        return Check(at, result.returncode, (result.stdout + result.stderr).strip())
