"""Local mail capture: a real SMTP server on loopback that writes each message it receives to
`<mail_dir>/<time>-<n>.eml`, so the embedded default sends real SMTP you can read."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from pathlib import Path

from aiosmtpd.controller import Controller


class CaptureHandler:
    def __init__(self, directory: Path):
        self.directory = directory
        self.counter = itertools.count(1)

    async def handle_DATA(self, server, session, envelope) -> str:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        path = self.directory / f"{stamp}-{next(self.counter):06d}.eml"
        path.write_bytes(envelope.original_content or envelope.content)
        return "250 Message accepted for delivery"


def start_capture(directory: Path, port: int, host: str = "127.0.0.1") -> Controller:
    """Start the capture server in a background thread; call `.stop()` on the result."""
    directory.mkdir(parents=True, exist_ok=True)
    controller = Controller(CaptureHandler(directory), hostname=host, port=port)
    controller.start()
    return controller
