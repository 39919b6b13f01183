"""Email: the SMTP relay's configuration and messages rendered from `templates/email/`.

TLS is always explicit: `smtp+starttls://` (STARTTLS, refused if the server does not offer it),
`smtps://` (implicit TLS), or `smtp://`, plain and meant for a relay on loopback or the local
mail capture. Never aiosmtplib's opportunistic default. Certificates are always validated.
"""

from __future__ import annotations

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
