"""The calendar entry a meeting invitation carries (iCalendar, RFC 5545, as an iTIP REQUEST).

Built from what the invitation's outbox row may say, never from the case: the reference, the
time and the place. Its summary names the reference only. Lines end in CRLF and are folded at
75 octets, never inside a UTF-8 character; text values are escaped.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parseaddr

PRODID = "-//Resolving professional disagreements//Meeting invitation//EN"
LENGTH = timedelta(hours=1)
LINE_OCTETS = 75


def invitation(
    *,
    uid: str,
    stamp: datetime,
    start: datetime,
    reference: str,
    place: str,
    organizer: str,
    attendee: str,
) -> bytes:
    """One VEVENT: `organizer` is the service's From header, `attendee` the recipient. The
    same `uid` in every copy of a meeting lets calendars (and replies) match them up."""
    name, address = parseaddr(organizer)
    lines = [
        "BEGIN:VCALENDAR",
        f"PRODID:{PRODID}",
        "VERSION:2.0",
        "CALSCALE:GREGORIAN",
        "METHOD:REQUEST",
        "BEGIN:VEVENT",
        f"UID:{escape(uid)}",
        "SEQUENCE:0",
        f"DTSTAMP:{_utc(stamp)}",
        f"DTSTART:{_utc(start)}",
        f"DTEND:{_utc(start + LENGTH)}",
        f"SUMMARY:{escape(f'Resolution meeting: {reference}')}",
        f"LOCATION:{escape(place)}",
        "DESCRIPTION:"
        + escape(f"About disagreement {reference}. The case is not in this invitation."),
        f'ORGANIZER;CN="{_parameter(name or address)}":mailto:{address}',
        f"ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=FALSE:mailto:{attendee}",
        "STATUS:CONFIRMED",
        "TRANSP:OPAQUE",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return b"".join(fold(line) + b"\r\n" for line in lines)


def escape(text: str) -> str:
    """A TEXT value: backslash, semicolon and comma escaped, any line break as \\n."""
    text = text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return text.replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n")


def fold(line: str) -> bytes:
    """A content line folded into lines of at most 75 octets; each continuation starts with a
    space (which counts), and a UTF-8 character is never split between lines."""
    data, parts, limit = line.encode(), [], LINE_OCTETS
    while len(data) > limit:
        cut = limit
        while data[cut] & 0xC0 == 0x80:  # a continuation byte: cut before its character
            cut -= 1
        parts.append(data[:cut])
        data, limit = data[cut:], LINE_OCTETS - 1
    return b"\r\n ".join([*parts, data])


def _utc(instant: datetime) -> str:
    """A UTC date-time (form 2); the service stores every instant with its zone."""
    return instant.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _parameter(text: str) -> str:
    """A quoted parameter value cannot hold a double quote or a control character."""
    return "".join(c for c in text if c != '"' and c.isprintable())
