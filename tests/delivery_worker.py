"""A delivery pass in its own process, killed (os._exit, like kill -9) right after the mail
server's 250 for the first message and before that is recorded.

python -m tests.delivery_worker DATABASE_URL SMTP_URL NOW
"""

from __future__ import annotations

import asyncio
import os
import sys

from escalation.outbox.delivery import Delivery, deliver
from escalation.outbox.mail import Renderer, SmtpConfig
from escalation.rules.calendar import parse_instant
from escalation.settings import get_settings
from escalation.store.db import make_engine, session_factory


def main() -> None:
    url, smtp_url, now = sys.argv[1:4]
    settings = get_settings()
    delivery = Delivery(
        sessions=session_factory(make_engine(url)),
        smtp=SmtpConfig.from_url(smtp_url, timeout=5),
        renderer=Renderer(settings.templates_dir, settings.mail_from),
        base_url="https://rpd.example.org",
        connections=1,
    )
    asyncio.run(deliver(delivery, now=parse_instant(now), after_send=lambda _id: os._exit(137)))


if __name__ == "__main__":
    main()
