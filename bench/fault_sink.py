"""The fault bench's mail relay: a real SMTP server on loopback (aiosmtpd, in a thread of the
bench process) that records every message it accepts and can be told to refuse everything.

Modes: "accept" (250), "421" (every MAIL and RCPT answered 421: the relay is busy, try later),
"550" (every RCPT answered 550 5.7.1 relaying denied: a relay-level policy refusal, not a bad
mailbox). Each accepted message is kept with its Message-ID, recipient, subject and arrival
time, so the bench can tell an email lost from one sent twice (same Message-ID twice).
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from email import policy
from email.parser import BytesHeaderParser
from pathlib import Path

from aiosmtpd.controller import Controller

from tests.smtp_server import free_port

REPLIES = {
    "421": "421 4.3.2 Service not available, try again later",
    "550": "550 5.7.1 Relaying denied",
}


@dataclass(frozen=True)
class Arrival:
    message_id: str
    recipient: str
    subject: str
    at: datetime


class RecordingHandler:
    """Accepts or refuses by the current mode; records what it accepts (thread-safe)."""

    def __init__(self, log: Path):
        self.mode = "accept"
        self.arrivals: list[Arrival] = []
        self.refused: list[tuple[datetime, str]] = []  # (when, mode) per refused command
        self._lock = threading.Lock()
        self._log = log.open("a")

    def _refusal(self) -> str | None:
        reply = REPLIES.get(self.mode)
        if reply is not None:
            with self._lock:
                self.refused.append((datetime.now(UTC), self.mode))
        return reply

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.mode == "421":
            return self._refusal()
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        refusal = self._refusal()
        if refusal is not None:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        refusal = self._refusal()
        if refusal is not None:
            return refusal
        headers = BytesHeaderParser(policy=policy.default).parsebytes(envelope.content)
        at = datetime.now(UTC)
        for recipient in envelope.rcpt_tos:
            self._record(
                Arrival(str(headers["Message-ID"]), recipient, str(headers["Subject"]), at)
            )
        return "250 OK"

    def _record(self, arrival: Arrival) -> None:
        with self._lock:
            self.arrivals.append(arrival)
            self._log.write(json.dumps({**asdict(arrival), "at": arrival.at.isoformat()}) + "\n")
            self._log.flush()


class Sink:
    """The relay on 127.0.0.1:<free port>; `with Sink(log) as sink:` starts and stops it."""

    def __init__(self, log: Path):
        self.handler = RecordingHandler(log)
        self.port = free_port()
        self.controller = Controller(
            self.handler, hostname="127.0.0.1", port=self.port, ready_timeout=10
        )

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def set_mode(self, mode: str) -> None:
        if mode != "accept" and mode not in REPLIES:
            raise ValueError(f"mode is accept, 421 or 550, not {mode!r}")
        self.handler.mode = mode

    def arrivals(self) -> list[Arrival]:
        with self.handler._lock:
            return list(self.handler.arrivals)

    def refused(self) -> list[tuple[datetime, str]]:
        with self.handler._lock:
            return list(self.handler.refused)

    def __enter__(self) -> Sink:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop(no_assert=True)
        self.handler._log.close()
