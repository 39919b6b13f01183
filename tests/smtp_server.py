"""A real SMTP server on loopback (aiosmtpd) that can be told how to misbehave."""

from __future__ import annotations

import asyncio
import email
import socket
from collections import deque
from email import policy
from email.message import Message

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ScriptedHandler:
    """Replies to RCPT and DATA from scripts (per recipient, or in order); keeps what it accepts."""

    def __init__(self):
        self.data_replies: deque[str] = deque()
        self.refuse: dict[str, str] = {}  # recipient -> RCPT reply, every time
        self.hang_after_data = False
        self.data_delay = 0.0  # seconds to wait before answering each DATA (a slow relay)
        self.messages: list[Message] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.hang_after_data:
            self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
            await asyncio.sleep(3600)
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        reply = self.data_replies.popleft() if self.data_replies else "250 OK"
        if reply.startswith("250"):
            self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return reply


class Server:
    def __init__(self, password: str | None = None):
        self.handler = ScriptedHandler()
        self.port = free_port()
        self.password = password
        options = {}
        if password is not None:
            options = dict(authenticator=self._authenticate, auth_require_tls=False)
        self.controller = Controller(
            self.handler, hostname="127.0.0.1", port=self.port, ready_timeout=10, **options
        )

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.password == self.password.encode()
        return AuthResult(success=ok, handled=False)

    @property
    def messages(self) -> list[Message]:
        return self.handler.messages

    def url(self, credentials: str = "") -> str:
        return f"smtp://{credentials}127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop(no_assert=True)
