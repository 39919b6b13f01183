"""Email: the SMTP relay's configuration and messages rendered from `templates/email/`.

TLS is always explicit: `smtp+starttls://` (STARTTLS, refused if the server does not offer it),
`smtps://` (implicit TLS), or `smtp://`, plain and meant for a relay on loopback or the local
mail capture. Never aiosmtplib's opportunistic default. Certificates are always validated.
Sending one message and naming a failure (`classify`) are here too, for delivery and immediate.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes, policy
from email.header import Header
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

import aiosmtplib
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from escalation.outbox import calendar_invite
from escalation.outbox.kinds import MessageKind
from escalation.rules.errors import InvalidInput
from escalation.store.models import OutboxMessage

TLS_BY_SCHEME = {"smtp": "none", "smtp+starttls": "starttls", "smtps": "implicit"}
DEFAULT_PORTS = {"none": 25, "starttls": 587, "implicit": 465}
LOOPBACK = {"127.0.0.1", "::1", "localhost"}
# What a send came to (classify), and the replies that mean our configuration is wrong.
SENT, RETRY, PERMANENT, CONFIG, RELAY = "sent", "retry", "permanent", "config", "relay"
AUTH_CODES = {530, 534, 535, 538}
# 5xx replies that are the relay's or the mail system's, never one mailbox's: 554 (transaction
# failed, whatever its text), 500-504 (the conversation itself), 521 (accepts no mail); and the
# enhanced status classes 5.3 (mail system), 5.5 (protocol), 5.6 (content), 5.7 (security or
# policy, e.g. "550 5.7.1 relaying denied"). Mailbox failures are 5.1.x (address), 5.2.x
# (mailbox), 5.4.x (routing to the recipient's domain), and a 5xx without an enhanced code.
RELAY_CODES = {500, 501, 502, 503, 504, 521, 554}
RELAY_CLASSES = {"3", "5", "6", "7"}
ENHANCED = re.compile(r"^\s*[245]\.(\d{1,3})\.\d{1,3}\b")

ROLE_WORDS = {
    "owner": "the accountable owner of this stage",
    "raiser": "the practitioner who raised this disagreement",
    "counterpart": "the professional answering for the agency whose decision is disputed",
    "named_professional": "the named professional",
    "designated_professional": "the designated professional",
    "board_manager": "the partnership's board manager",
    "chair": "the partnership's chair",
    "practitioner": "someone who asked to sign in",
    "asked": "someone asked to accept or contest a proposed resolution",
    "action_owner": "the owner of an agreed action or meeting",
    "invitee": "someone invited to a resolution meeting",
    "last_step": "a statutory partner's lead representative",
}


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    tls: Literal["none", "starttls", "implicit"] = "none"
    username: str | None = None
    password: str | None = None
    timeout: float = 30

    @classmethod
    def from_url(cls, url: str, timeout: float = 30) -> SmtpConfig:
        parts = urlsplit(url)
        tls = TLS_BY_SCHEME.get(parts.scheme)
        if tls is None or not parts.hostname:
            raise InvalidInput(
                {
                    "ESCALATION_SMTP_URL": "must look like smtp+starttls://user:pass@host:587, "
                    "smtps://user:pass@host:465 or smtp://127.0.0.1:25"
                }
            )
        if tls == "none" and parts.username and parts.hostname not in LOOPBACK:
            raise InvalidInput(
                {
                    "ESCALATION_SMTP_URL": "refusing to send a password without TLS; "
                    "use smtp+starttls:// or smtps://"
                }
            )
        return cls(
            host=parts.hostname,
            port=parts.port or DEFAULT_PORTS[tls],
            tls=tls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            timeout=timeout,
        )

    def client(self) -> aiosmtplib.SMTP:
        return aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            use_tls=self.tls == "implicit",
            start_tls=self.tls == "starttls",
            validate_certs=True,
            username=self.username,
            password=self.password,
            timeout=self.timeout,
        )


class Renderer:
    """Subject, plain text and HTML for one outbox row. Autoescaped HTML, strict undefined."""

    def __init__(self, templates_dir: Path, mail_from: str):
        self.mail_from = mail_from
        name, self.sender = parseaddr(mail_from)
        self.from_header = formataddr((name, self.sender), charset="utf-8")
        self.environment = Environment(
            loader=FileSystemLoader(str(templates_dir)),
            autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
            undefined=StrictUndefined,
            keep_trailing_newline=True,
            auto_reload=False,  # compiled once: no stat of the file at each message
        )

    def render(
        self, row: OutboxMessage, *, link: str | None, now: datetime, links: list[str] = ()
    ) -> EmailMessage:
        """The message `wire` sends, parsed back (line ends as Python's), for reading it."""
        data = self.wire(row, link=link, now=now, links=links).data.replace(b"\r\n", b"\n")
        return message_from_bytes(data, policy=policy.default)

    def wire(
        self, row: OutboxMessage, *, link: str | None, now: datetime, links: list[str] = ()
    ) -> Wire:
        """The message as bytes, built directly: the standard library's EmailMessage spends
        2-5 ms a message on header objects, this well under one. `links` are the per-case links
        of a message listing several cases. Plain text and HTML as multipart/alternative,
        quoted-printable UTF-8; a meeting invitation adds its .ics (multipart/mixed)."""
        kind = MessageKind(row.kind)
        context = {
            **row.context,
            "link": link,
            "links": list(links),
            "role_words": ROLE_WORDS[row.recipient_role],
        }
        subject = re.sub(r"\s+", " ", self._template(kind, "subject.txt").render(context)).strip()
        body = _multipart(
            "alternative",
            _part("text/plain", self._template(kind, "txt").render(context)),
            _part("text/html", self._template(kind, "html").render(context)),
        )
        if kind == MessageKind.MEETING_INVITATION:
            body = _multipart("mixed", body, self._invitation(row))
        headers = [
            ("From", self.from_header),
            ("To", _address(row.recipient_email)),
            ("Subject", _header("Subject", subject)),
            ("Message-ID", _address(row.message_id)),
            ("Date", format_datetime(now)),
            ("Auto-Submitted", "auto-generated"),
            ("MIME-Version", "1.0"),
        ]
        head = "".join(f"{name}: {value}\r\n" for name, value in headers)
        return Wire(self.sender, row.recipient_email, head.encode() + body)

    def _invitation(self, row: OutboxMessage) -> bytes:
        """The meeting's calendar entry, from the row's context only. Its UID is the meeting's
        (the same in every invitee's copy, and again if the email is sent twice), so calendars
        update one entry rather than add another. Base64, so its CRLF line ends survive."""
        context = row.context
        domain = self.sender.rpartition("@")[2] or "localhost"
        ics = calendar_invite.invitation(
            uid=f"meeting-{context['action_id']}-{context['reference']}@{domain}",
            stamp=row.created_at,
            start=datetime.fromisoformat(context["meeting_at"]),
            reference=context["reference"],
            place=context["place"],
            organizer=self.mail_from,
            attendee=row.recipient_email,
        )
        return (
            b'Content-Type: text/calendar; method="REQUEST"; charset="utf-8"\r\n'
            b"Content-Transfer-Encoding: base64\r\n"
            b'Content-Disposition: attachment; filename="invite.ics"\r\n\r\n'
            + base64.encodebytes(ics).replace(b"\n", b"\r\n")
        )

    def _template(self, kind: MessageKind, part: str):
        return self.environment.get_template(kind.template(part))


@dataclass(frozen=True)
class Wire:
    """A message ready for the wire: envelope sender, its one recipient, the bytes (7-bit)."""

    sender: str
    recipient: str
    data: bytes


def _part(content_type: str, text: str) -> bytes:
    """A text part, quoted-printable UTF-8 (binascii's C encoder), CRLF line ends."""
    encoded = binascii.b2a_qp(text.replace("\r\n", "\n").encode(), istext=True)
    encoded = encoded.replace(b"\n", b"\r\n")
    return (
        f'Content-Type: {content_type}; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    ).encode() + encoded


def _multipart(subtype: str, *parts: bytes) -> bytes:
    """A multipart body. The boundary starts with "=_", which quoted-printable and base64
    never write at a line's start, so no part can contain it."""
    boundary = f"=_{secrets.token_hex(12)}".encode()
    head = f'Content-Type: multipart/{subtype}; boundary="{boundary.decode()}"\r\n\r\n'
    inner = b"".join(b"--" + boundary + b"\r\n" + part + b"\r\n" for part in parts)
    return head.encode() + inner + b"--" + boundary + b"--\r\n"


def _address(value: str) -> str:
    if "\r" in value or "\n" in value:  # a header never carries a line break of its own
        raise ValueError(f"a line break in an address: {value!r}")
    return value


def _header(name: str, value: str) -> str:
    """Folded at 78 characters; RFC 2047 encoded words if not ASCII."""
    if value.isascii() and len(name) + len(value) < 76:
        return value
    charset = "us-ascii" if value.isascii() else "utf-8"
    return Header(value, charset, header_name=name).encode(linesep="\r\n")


class Stopped(Exception):
    """The run stopped before this message's DATA: not sent."""


async def send_one(client: aiosmtplib.SMTP, message: Wire, stopped=lambda: False) -> None:
    """Send to the one recipient; a refusal raises. Command by command: a stopped run sends no
    DATA, a refusal raises at once without a RSET (the caller drops the connection). SMTPUTF8
    only for a non-ASCII address, refused (as send_message would) if not offered."""
    options, encoding = [], "ascii"
    if not (message.sender + message.recipient).isascii():
        await client._ehlo_or_helo_if_needed()
        if not client.supports_extension("smtputf8"):
            raise aiosmtplib.SMTPNotSupported("SMTPUTF8 is not supported by this server")
        options, encoding = ["SMTPUTF8"], "utf-8"
    await client.mail(message.sender, options=options, encoding=encoding)
    await client.rcpt(message.recipient, encoding=encoding)
    if stopped():
        raise Stopped
    await client.data(message.data)


def classify(error: BaseException) -> tuple[str, str]:
    """(outcome, detail) for a failed send. Unknown errors are retried, never dropped."""
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused) and error.recipients:
        error = error.recipients[0]
    # aiosmtplib raises a bare SMTPException when STARTTLS was asked for and is not offered.
    if isinstance(error, aiosmtplib.SMTPNotSupported) or (
        type(error) is aiosmtplib.SMTPException and "not supported" in str(error)
    ):
        return CONFIG, f"relay does not support what is configured: {error}"
    code = getattr(error, "code", None)
    if isinstance(error, aiosmtplib.SMTPResponseException) and code is not None:
        detail = f"{code} {getattr(error, 'message', '')}".strip()
        if code in AUTH_CODES:
            return CONFIG, f"authentication refused: {detail}"
        if 500 <= code < 600:
            return _permanent(error, code, detail)
        return RETRY, detail
    return RETRY, f"{type(error).__name__}: {error}"[:500]


def _permanent(error: BaseException, code: int, detail: str) -> tuple[str, str]:
    """A 5xx: the mailbox's fault (PERMANENT) or the relay's (RELAY: nobody's mailbox is bad).

    A plain 550 with no enhanced code counts as the mailbox's: RFC 5321 names it "mailbox
    unavailable", relays that refuse by policy say 5.7.x (every mainstream relay sends enhanced
    codes), and if one does not, the run's permanent-failure limit bounds the damage."""
    if isinstance(error, aiosmtplib.SMTPSenderRefused):  # our From, refused: never the mailbox
        return RELAY, f"sender refused: {detail}"
    enhanced = ENHANCED.match(getattr(error, "message", "") or "")
    if code in RELAY_CODES or (enhanced and enhanced.group(1) in RELAY_CLASSES):
        return RELAY, detail
    return PERMANENT, detail


async def discard(client: aiosmtplib.SMTP | None) -> None:
    """Close a connection politely (at most 5 s), or abruptly; None, to forget the client."""
    if client is not None and client.is_connected:
        try:
            await asyncio.wait_for(client.quit(), timeout=5)
        except Exception:
            client.close()
    return None
