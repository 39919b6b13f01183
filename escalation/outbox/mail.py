"""Email: the SMTP relay's configuration and messages rendered from `templates/email/`.

TLS is always explicit: `smtp+starttls://` (STARTTLS, refused if the server does not offer it),
`smtps://` (implicit TLS), or `smtp://`, plain and meant for a relay on loopback or the local
mail capture. Never aiosmtplib's opportunistic default. Certificates are always validated.
Sending one message and naming what a failure means (`classify`) are here too, shared by the
delivery run (delivery.py) and the web process's immediate send (immediate.py).
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
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
        self.environment = Environment(
            loader=FileSystemLoader(str(templates_dir)),
            autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
            undefined=StrictUndefined,
            keep_trailing_newline=True,
        )

    def render(
        self, row: OutboxMessage, *, link: str | None, now: datetime, links: list[str] = ()
    ) -> EmailMessage:
        """The message; `links` are the per-case links of a message listing several cases."""
        kind = MessageKind(row.kind)
        context = {
            **row.context,
            "link": link,
            "links": list(links),
            "role_words": ROLE_WORDS[row.recipient_role],
        }
        subject = self._template(kind, "subject.txt").render(context)
        message = EmailMessage()
        message["From"] = self.mail_from
        message["To"] = row.recipient_email
        message["Subject"] = re.sub(r"\s+", " ", subject).strip()
        message["Message-ID"] = row.message_id
        message["Date"] = format_datetime(now)
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(self._template(kind, "txt").render(context))
        message.add_alternative(self._template(kind, "html").render(context), subtype="html")
        if kind == MessageKind.MEETING_INVITATION:
            self._attach_invitation(message, row)
        return message

    def _attach_invitation(self, message: EmailMessage, row: OutboxMessage) -> None:
        """The meeting's calendar entry, from the row's context only. Its UID is the meeting's
        (the same in every invitee's copy, and again if the email is sent twice), so calendars
        update one entry rather than add another. As bytes, so its CRLF line ends survive."""
        context = row.context
        domain = parseaddr(self.mail_from)[1].rpartition("@")[2] or "localhost"
        ics = calendar_invite.invitation(
            uid=f"meeting-{context['action_id']}-{context['reference']}@{domain}",
            stamp=row.created_at,
            start=datetime.fromisoformat(context["meeting_at"]),
            reference=context["reference"],
            place=context["place"],
            organizer=self.mail_from,
            attendee=row.recipient_email,
        )
        message.add_attachment(
            ics,
            maintype="text",
            subtype="calendar",
            filename="invite.ics",
            params={"method": "REQUEST", "charset": "utf-8"},
        )

    def _template(self, kind: MessageKind, part: str):
        return self.environment.get_template(kind.template(part))


async def send_one(client: aiosmtplib.SMTP, message: EmailMessage) -> None:
    """Send to the message's one recipient; a refusal raises like any other failure."""
    refused, _ = await client.send_message(message)
    if refused:  # one recipient per message, so any refusal is that recipient's
        code, text = next(iter(refused.values()))
        raise aiosmtplib.SMTPResponseException(code, text)


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
