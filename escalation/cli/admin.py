"""Commands for the people who run the service: policies, the directory, the chronology's
audit, API keys and the board's second factor and report. The domain is imported inside each
command (see common.py)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer

from escalation.cli.common import (
    NowOption,
    PartnershipOption,
    instant_from,
    now_from,
    partnership_and_policy,
    policy_named,
    read_text,
    sessions,
)
from escalation.rules.errors import EscalationError, InvalidInput


def policy_check(paths: Annotated[list[Path], typer.Argument(help="Policy YAML files.")]) -> None:
    """Validate policy files; each mistake names the file and the field."""
    from escalation.rules.policy import load_policy

    failed = False
    for path in paths:
        try:
            policy = load_policy(path)
        except EscalationError as error:
            typer.echo(str(error), err=True)
            failed = True
            continue
        typer.echo(
            f"{path}: ok ({policy.id} version {policy.version}, {len(policy.stages)} stages)"
        )
    if failed:
        raise typer.Exit(1)


def policy_deadlines(
    policy_id: str,
    start: Annotated[str, typer.Option("--from", help="When each stage begins (ISO 8601).")],
    urgent: Annotated[bool, typer.Option("--urgent", help="Use the urgent track.")] = False,
) -> None:
    """Print each stage's due time (local and UTC) if it began at --from."""
    from escalation.reads import plain_text

    policy = policy_named(policy_id)
    started_at = instant_from(start, "--from")
    typer.echo(plain_text.deadlines_table(policy, started_at, urgent))


def directory_import(file: Path) -> None:
    """Add or update people from a CSV file (all rows are checked first; any error, no change;
    each problem names the file, the row and the column). Optional columns: agency_type,
    professional_group, line_manager_email, other_partnerships, primary_roles."""
    from escalation.directory.csv_rows import import_csv
    from escalation.store.db import transaction

    text = read_text(file)
    with transaction(sessions()) as session:
        count = import_csv(session, text, source=str(file))
    typer.echo(f"imported {count} people from {file}")


def directory_export() -> None:
    """Print the directory as CSV (the import format)."""
    from escalation.directory.csv_rows import export_csv
    from escalation.store.db import transaction

    with transaction(sessions()) as session:
        typer.echo(export_csv(session), nl=False)


def audit_verify(
    expect_seal: Annotated[
        str | None,
        typer.Option(
            "--expect-seal",
            help="A seal's hash kept elsewhere: fail unless it is still in the chain of seals.",
        ),
    ] = None,
) -> None:
    """Walk the seals and every disagreement's hash chain; report the first problem."""
    from escalation.casework.chain_audit import verify_chain
    from escalation.store.db import transaction

    with transaction(sessions()) as session:
        result = verify_chain(session, expect_seal)
    if result.ok:
        typer.echo(f"chronology intact: {result.checked} events verified, {result.seals} seals")
        if result.newest_seal:
            typer.echo(f"newest seal: {result.newest_seal} (keep it elsewhere to check later)")
        return
    where = f" at event {result.event_id}" if result.event_id else ""
    typer.echo(
        f"chronology BROKEN{where}: {result.problem} ({result.checked} events before it verified)",
        err=True,
    )
    raise typer.Exit(1)


def audit_seal(now: NowOption = None) -> None:
    """Seal every disagreement's record that changed since the last seal (the sweep does this
    at the end of each run)."""
    from escalation.casework.chain_anchor import seal
    from escalation.store.db import transaction

    with transaction(sessions()) as session:
        anchor = seal(session, now_from(now))
        sealed = (anchor.heads, anchor.hash) if anchor else (0, "")
    typer.echo(f"sealed {sealed[0]} changed records" + (f": {sealed[1]}" if sealed[0] else ""))


def apikey_create(
    organisation: Annotated[
        str, typer.Option("--organisation", help="The organisation it acts for.")
    ],
    partnership: PartnershipOption = None,
    expires_in_days: Annotated[
        int | None,
        typer.Option("--expires-in-days", help="It stops working this many days from now."),
    ] = None,
    expires: Annotated[
        str | None,
        typer.Option(
            "--expires", help="Its last day of use, YYYY-MM-DD (UK time). Default: until revoked."
        ),
    ] = None,
    now: NowOption = None,
) -> None:
    """Create a key for one organisation. It is printed once; only its hash is stored."""
    from escalation.access import apikeys
    from escalation.store.db import transaction

    partnership, _ = partnership_and_policy(partnership)
    instant = now_from(now)
    last_day = _day(expires, "--expires")
    expires_at = apikeys.expiry(instant, in_days=expires_in_days, last_day=last_day)
    with transaction(sessions()) as session:
        raw = apikeys.create_key(
            session,
            organisation=organisation,
            partnership=partnership,
            now=instant,
            expires_at=expires_at,
        )
    until = f"expires {_instant(expires_at)}" if expires_at else "until revoked"
    typer.echo(raw)
    typer.echo(
        f"(for {organisation}, {partnership}, {until}; send it as the X-API-Key header; "
        "it is not shown again)",
        err=True,
    )


def apikey_list(now: NowOption = None) -> None:
    """Every key: prefix, organisation, partnership, created, expires, revoked, status (tab
    separated, "-" for none). Never the key itself."""
    from escalation.access import apikeys
    from escalation.store.db import transaction

    instant = now_from(now)
    with transaction(sessions()) as session:
        listings = apikeys.list_keys(session)
    typer.echo("prefix\torganisation\tpartnership\tcreated\texpires\trevoked\tstatus")
    for key in listings:
        expired = key.expires_at and key.expires_at <= instant
        status = "revoked" if key.revoked_at else "expired" if expired else "in force"
        times = [_instant(at) for at in (key.created_at, key.expires_at, key.revoked_at)]
        typer.echo("\t".join([key.prefix, key.organisation, key.partnership, *times, status]))


def apikey_revoke(
    prefix: Annotated[str, typer.Argument(help="The key's prefix, as `apikey list` shows it.")],
    now: NowOption = None,
) -> None:
    """Revoke a key: from now on it gets 401."""
    from escalation.access import apikeys
    from escalation.store.db import transaction

    with transaction(sessions()) as session:
        key = apikeys.revoke(session, prefix, now=now_from(now))
        typer.echo(
            f"revoked {key.prefix} ({key.organisation}, {key.partnership}) "
            f"at {_instant(key.revoked_at)}"
        )


def board_enrol(
    email: Annotated[str, typer.Argument(help="A board manager's or chair's work email.")],
) -> None:
    """Give a board manager or chair an authenticator secret (replacing any old one).

    Prints the otpauth:// URI (make it a QR code, or type the secret into the app). Hand it over
    in person or by another channel than their email: it is their second factor.
    """
    from escalation.access import second_factor
    from escalation.directory.people import find_person
    from escalation.rules.vocabulary import BOARD_ROLES
    from escalation.store.db import transaction

    with transaction(sessions()) as session:
        person = find_person(session, email)
        if person is None or not person.roles & set(BOARD_ROLES):
            typer.echo(f"{email} is not a board manager or chair in the directory", err=True)
            raise typer.Exit(2)
        uri = second_factor.enrol(session, email)
    typer.echo(uri)


def board_report(partnership: PartnershipOption = None, now: NowOption = None) -> None:
    """The board's report: every figure of its web page, as tables (all rows)."""
    from escalation.reads import plain_text
    from escalation.store.db import transaction

    partnership, policy = partnership_and_policy(partnership)
    with transaction(sessions()) as session:
        typer.echo(plain_text.board_report(session, partnership, now_from(now), policy))


def _day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput({option: f"{text[:40]!r} is not a date like 2027-03-31"}) from None


def _instant(at: datetime | None) -> str:
    from escalation.rules.calendar import utc_text

    return utc_text(at) if at else "-"
