"""The board's second factor: a TOTP authenticator app (RFC 6238, 6 digits, 30 s), via pyotp.

Enrolment is done by an administrator (`escalation board enrol EMAIL`), who hands the person the
secret or its otpauth:// URI to put in their authenticator app; the web never shows a secret, so
someone holding only the person's mailbox cannot enrol a device. A code is accepted once (the
time step is remembered), within one step either side for clock drift.
"""

from __future__ import annotations

import secrets
from datetime import datetime

import pyotp
from sqlalchemy import select
from sqlalchemy.orm import Session

from escalation.directory.people import find_person, normalise_email
from escalation.rules.errors import NotFound
from escalation.store.models import Person

ISSUER = "Resolving professional disagreements"
STEP_SECONDS = 30
DRIFT_STEPS = 1


def enrol(session: Session, email: str) -> str:
    """Give the person a new secret (replacing any old one); returns the otpauth:// URI."""
    person = find_person(session, email)
    if person is None:
        raise NotFound(f"{email} is not in the directory")
    person.totp_secret = pyotp.random_base32()
    person.totp_last_step = None
    return pyotp.TOTP(person.totp_secret).provisioning_uri(name=person.email, issuer_name=ISSUER)


def code_at(secret: str, now: datetime) -> str:
    return pyotp.TOTP(secret).at(now)


def verify(session: Session, email: str, code: str, *, now: datetime) -> bool:
    # Locked, so two requests with the same code cannot both see it unused (PostgreSQL).
    person = session.execute(
        select(Person)
        .where(Person.email == normalise_email(email))
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    code = "".join(code.split())
    if person is None or not person.totp_secret or not code.isdigit() or len(code) != 6:
        return False
    totp = pyotp.TOTP(person.totp_secret)
    current = int(now.timestamp()) // STEP_SECONDS
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if secrets.compare_digest(totp.generate_otp(step), code):
            if person.totp_last_step is not None and step <= person.totp_last_step:
                return False  # replayed
            person.totp_last_step = step
            return True
    return False
