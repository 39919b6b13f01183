"""The `escalation` command. Errors go to stderr as one plain message and a non-zero exit."""

from __future__ import annotations

import json
import sys
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Annotated, Optional

import click
import typer
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from escalation.casework import disagreements as d
from escalation.casework.chronology import verify_chain
from escalation.casework.intake import RaiseRequest
from escalation.directory.csv_rows import export_csv, import_csv
from escalation.reads import report_text as report
from escalation.rules.calendar import parse_instant
from escalation.rules.errors import EscalationError, InvalidInput
from escalation.rules.policy import load_policies, load_policy
from escalation.settings import get_settings
from escalation.store.db import make_engine, refresh_statistics, session_factory, transaction
from escalation.store.models import Disagreement
from escalation.store.schema import upgrade

app = typer.Typer(
    help="Resolve professional disagreements about a child's safety, on time, on the record.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
policy_app = typer.Typer(help="Check policies and see what their timescales mean.", no_args_is_help=True)
directory_app = typer.Typer(help="The directory of professionals.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident chronology.", no_args_is_help=True)
app.add_typer(policy_app, name="policy")
app.add_typer(directory_app, name="directory")
app.add_typer(audit_app, name="audit")

NowOption = Annotated[
    Optional[str],
    typer.Option("--now", help="Act as if it were this ISO 8601 instant (default: the clock)."),
]
AsOption = Annotated[str, typer.Option("--as", help="Work email of the person acting.")]


def _now(text: str | None) -> datetime:
    if text is None:
        return datetime.now(timezone.utc)
    try:
        return parse_instant(text)
    except ValueError as error:
        raise InvalidInput({"--now": str(error)}) from None


def _sessions():
    return session_factory(make_engine(get_settings().database_url))


def _policies():
    return load_policies(get_settings().policies_dir)


@app.command()
def init() -> None:
    """Create the database schema, or upgrade it (safe to run again)."""
    settings = get_settings()
    engine = make_engine(settings.database_url)
    upgrade(engine)
    refresh_statistics(engine)
    typer.echo(f"schema is up to date ({_safe_url(settings.database_url)})")


@policy_app.command("check")
def policy_check(paths: Annotated[list[Path], typer.Argument(help="Policy YAML files.")]) -> None:
    """Validate policy files; each mistake names the file and the field."""
    failed = False
    for path in paths:
        try:
            policy = load_policy(path)
        except EscalationError as error:
            typer.echo(str(error), err=True)
            failed = True
            continue
        typer.echo(f"{path}: ok ({policy.id} version {policy.version}, {len(policy.stages)} stages)")
    if failed:
        raise typer.Exit(1)


@policy_app.command("deadlines")
def policy_deadlines(
    policy_id: str,
    start: Annotated[str, typer.Option("--from", help="When each stage begins (ISO 8601).")],
    urgent: Annotated[bool, typer.Option("--urgent", help="Use the urgent track.")] = False,
) -> None:
    """Print each stage's due time (local and UTC) if it began at --from."""
    policies = _policies()
    if policy_id not in policies:
        raise InvalidInput({"policy": f"no policy {policy_id!r} (have: {', '.join(policies)})"})
    try:
        started_at = parse_instant(start)
    except ValueError as error:
        raise InvalidInput({"--from": str(error)}) from None
    typer.echo(report.deadlines_table(policies[policy_id], started_at, urgent))


@directory_app.command("import")
def directory_import(file: Path) -> None:
    """Add or update people from a CSV file (all rows are checked first; any error, no change)."""
    text = _read(file)
    with transaction(_sessions()) as session:
        count = import_csv(session, text)
    typer.echo(f"imported {count} people from {file}")


@directory_app.command("export")
def directory_export() -> None:
    """Print the directory as CSV (the import format)."""
    with transaction(_sessions()) as session:
        typer.echo(export_csv(session), nl=False)


@app.command("raise")
def raise_command(
    json_file: Annotated[Path, typer.Option("--json", help="The disagreement, as JSON.")],
    now: NowOption = None,
) -> None:
    """Raise a disagreement from a JSON file (the same fields as the JSON API)."""
    try:
        data = json.loads(_read(json_file))
    except json.JSONDecodeError as error:
        raise InvalidInput({"json": f"{json_file}: line {error.lineno}: {error.msg}"}) from None
    request = RaiseRequest.parse(data)
    policies = _policies()
    policy_id = request.policy or get_settings().default_policy
    if policy_id not in policies:
        raise InvalidInput({"policy": f"no policy {policy_id!r} (have: {', '.join(policies)})"})
    with transaction(_sessions()) as session:
        disagreement = d.raise_disagreement(
            session, request=request, policy=policies[policy_id], now=_now(now)
        )
        typer.echo(report.summary_line(disagreement))


@app.command()
def show(reference: str, now: NowOption = None) -> None:
    """The record, its current stage, owner and deadline, and its chronology."""
    with transaction(_sessions()) as session:
        disagreement = d.get(session, reference)
        typer.echo(report.record(session, disagreement, _now(now)))


@app.command("list")
def list_command(
    open_only: Annotated[bool, typer.Option("--open", help="Only open ones.")] = False,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only overdue ones.")] = False,
    now: NowOption = None,
) -> None:
    """Disagreements, most urgent deadline first."""
    at = _now(now)
    query = select(Disagreement).order_by(Disagreement.due_at)
    if open_only or overdue:
        query = query.where(Disagreement.status == "open")
    if overdue:
        query = query.where(Disagreement.due_at <= at)
    with transaction(_sessions()) as session:
        rows = list(session.execute(query).scalars())
        for disagreement in rows:
            typer.echo(report.summary_line(disagreement, at))
    if not rows:
        typer.echo("no disagreements match", err=True)


@app.command()
def acknowledge(reference: str, actor: AsOption, now: NowOption = None) -> None:
    """The stage owner acknowledges the current stage."""
    _act(d.acknowledge, reference=reference, actor=actor, now=_now(now))


@app.command()
def escalate(
    reference: str, actor: AsOption, reason: Annotated[str, typer.Option()] = "",
    now: NowOption = None,
) -> None:
    """Escalate to the next stage now (the owner, or the board)."""
    _act(d.escalate, reference=reference, actor=actor, now=_now(now), reason=reason)


@app.command()
def resolve(
    reference: str, actor: AsOption, outcome: Annotated[str, typer.Option()],
    summary: Annotated[str, typer.Option()], now: NowOption = None,
) -> None:
    """Resolve with an outcome from the fixed list and a summary."""
    _act(d.resolve, reference=reference, actor=actor, now=_now(now), outcome=outcome,
         summary=summary)


@app.command()
def withdraw(
    reference: str, actor: AsOption, reason: Annotated[str, typer.Option()],
    now: NowOption = None,
) -> None:
    """The raiser withdraws the disagreement, with a reason."""
    _act(d.withdraw, reference=reference, actor=actor, now=_now(now), reason=reason)


@app.command("hand-to-deputy")
def hand_to_deputy(reference: str, actor: AsOption, now: NowOption = None) -> None:
    """The owner hands the current stage to their named deputy."""
    _act(d.hand_to_deputy, reference=reference, actor=actor, now=_now(now))


@app.command()
def note(
    reference: str, actor: AsOption, text: Annotated[str, typer.Option("--text")],
    now: NowOption = None,
) -> None:
    """Add a note to the chronology."""
    _act(d.add_note, reference=reference, actor=actor, now=_now(now), note=text)


@audit_app.command("verify")
def audit_verify() -> None:
    """Walk the chronology's hash chain and report the first broken row."""
    with transaction(_sessions()) as session:
        result = verify_chain(session)
    if result.ok:
        typer.echo(f"chronology intact: {result.checked} events verified")
        return
    typer.echo(
        f"chronology BROKEN at event {result.first_broken_id}: {result.problem} "
        f"({result.checked} events before it verified)",
        err=True,
    )
    raise typer.Exit(1)


@app.command()
def demo(now: NowOption = None) -> None:
    """Set up the embedded default with a demo directory and one demo disagreement."""
    from escalation import demo as demo_data

    init()
    with transaction(_sessions()) as session:
        typer.echo(demo_data.load(session, _policies(), _now(now)))


apikey_app = typer.Typer(help="API keys for agency case-management systems.", no_args_is_help=True)
app.add_typer(apikey_app, name="apikey")


@apikey_app.command("create")
def apikey_create(
    organisation: Annotated[str, typer.Option("--organisation", help="The organisation it acts for.")],
    partnership: Annotated[Optional[str], typer.Option(
        "--partnership", help="Default: the default policy's partnership.")] = None,
    expires_in_days: Annotated[Optional[int], typer.Option(
        "--expires-in-days", help="It stops working this many days from now.")] = None,
    expires: Annotated[Optional[str], typer.Option(
        "--expires", help="Its last day of use, YYYY-MM-DD (UK time). Default: until revoked.")
    ] = None,
    now: NowOption = None,
) -> None:
    """Create a key for one organisation. It is printed once; only its hash is stored."""
    from escalation.access import apikeys

    settings = get_settings()
    partnership = partnership or _policies()[settings.default_policy].partnership
    instant = _now(now)
    expires_at = apikeys.expiry(instant, in_days=expires_in_days, last_day=_day(expires, "--expires"))
    with transaction(_sessions()) as session:
        raw = apikeys.create_key(session, organisation=organisation, partnership=partnership,
                                 now=instant, expires_at=expires_at)
    until = f"expires {_instant(expires_at)}" if expires_at else "until revoked"
    typer.echo(raw)
    typer.echo(f"(for {organisation}, {partnership}, {until}; send it as the X-API-Key header; "
               "it is not shown again)", err=True)


@apikey_app.command("list")
def apikey_list(now: NowOption = None) -> None:
    """Every key: prefix, organisation, partnership, created, expires, revoked, status (tab
    separated, "-" for none). Never the key itself."""
    from escalation.access import apikeys

    instant = _now(now)
    with transaction(_sessions()) as session:
        listings = apikeys.list_keys(session)
    typer.echo("prefix\torganisation\tpartnership\tcreated\texpires\trevoked\tstatus")
    for key in listings:
        status = ("revoked" if key.revoked_at else
                  "expired" if key.expires_at and key.expires_at <= instant else "in force")
        typer.echo("\t".join([key.prefix, key.organisation, key.partnership,
                              _instant(key.created_at), _instant(key.expires_at),
                              _instant(key.revoked_at), status]))


@apikey_app.command("revoke")
def apikey_revoke(
    prefix: Annotated[str, typer.Argument(help="The key's prefix, as `apikey list` shows it.")],
    now: NowOption = None,
) -> None:
    """Revoke a key: from now on it gets 401."""
    from escalation.access import apikeys

    with transaction(_sessions()) as session:
        key = apikeys.revoke(session, prefix, now=_now(now))
        typer.echo(f"revoked {key.prefix} ({key.organisation}, {key.partnership}) "
                   f"at {_instant(key.revoked_at)}")


def _day(text: str | None, option: str):
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput({option: f"{text[:40]!r} is not a date like 2027-03-31"}) from None


def _instant(at: datetime | None) -> str:
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%MZ") if at else "-"


@app.command("board-enrol")
def board_enrol(email: Annotated[str, typer.Argument(help="A board manager's or chair's work email.")]) -> None:
    """Give a board manager or chair an authenticator secret (replacing any old one).

    Prints the otpauth:// URI (make it a QR code, or type the secret into the app). Hand it over
    in person or by another channel than their email: it is their second factor.
    """
    from escalation.access import second_factor
    from escalation.directory.people import find_person

    with transaction(_sessions()) as session:
        person = find_person(session, email)
        if person is None or not person.roles & {"board_manager", "chair"}:
            typer.echo(f"{email} is not a board manager or chair in the directory", err=True)
            raise typer.Exit(2)
        uri = second_factor.enrol(session, email)
    typer.echo(uri)


@app.command("board-report")
def board_report(
    partnership: Annotated[Optional[str], typer.Option(
        "--partnership", help="Default: the default policy's partnership.")] = None,
    now: NowOption = None,
) -> None:
    """The board's figures: open by stage and age, breaches, outcomes, who raises with whom."""
    settings = get_settings()
    partnership = partnership or _policies()[settings.default_policy].partnership
    with transaction(_sessions()) as session:
        typer.echo(report.board_report(session, partnership, _now(now)))


@app.command()
def sweep(
    now: NowOption = None,
    direct: Annotated[bool, typer.Option(
        "--direct", help="Run the sweep in this process without Prefect (for when Prefect is down).")
    ] = False,
) -> None:
    """Run one escalation sweep (as a Prefect flow run) and print its summary as JSON."""
    instant = _now(now).isoformat()
    if direct:
        from escalation import runtime
        from escalation.casework.sweep import run_sweep

        summary = run_sweep(runtime.sessions(), now=parse_instant(instant)).as_dict()
    else:
        summary = _flow("flows.sweep", "escalation_sweep")(now=instant)
    typer.echo(json.dumps(summary))


@app.command()
def deliver(
    now: NowOption = None,
    direct: Annotated[bool, typer.Option("--direct", help="Without Prefect.")] = False,
) -> None:
    """Run one delivery pass (as a Prefect flow run) and print its summary as JSON."""
    import asyncio

    instant = _now(now).isoformat()
    if direct:
        from escalation import runtime
        from escalation.outbox import delivery

        result = asyncio.run(delivery.deliver(runtime.delivery(), now=parse_instant(instant)))
        summary = result.as_dict()
    else:
        summary = asyncio.run(_flow("flows.deliver", "deliver_notifications")(now=instant))
    typer.echo(json.dumps(summary))


@app.command()
def digest(now: NowOption = None) -> None:
    """Queue today's digest for every board manager (as a Prefect flow run)."""
    queued = _flow("flows.digest", "board_digest")(now=_now(now).isoformat())
    typer.echo(json.dumps({"queued_emails": queued}))


@app.command()
def health(now: NowOption = None) -> None:
    """Is the sweep running, and what alerts are open? Exit 1 if anything needs attention."""
    from escalation.casework import health as health_checks
    from escalation.casework.sweep import SWEEP

    settings = get_settings()
    with transaction(_sessions()) as session:
        status = health_checks.sweep_health(session, SWEEP, _now(now), settings.sweep_interval_seconds)
        alerts = health_checks.open_alerts(session)
        typer.echo(f"sweep: {status.message}")
        for alert in alerts:
            typer.echo(f"alert: {alert.kind}: {alert.message} (x{alert.count} since {alert.first_at:%Y-%m-%d %H:%M} UTC)")
    if status.stalled or alerts:
        raise typer.Exit(1)


@app.command()
def serve() -> None:
    """Run the service: a local Prefect server, the scheduled flows and the local mail capture."""
    from escalation.serve import serve as run_service
    from escalation.settings import require_safe

    require_safe(get_settings())  # unsafe settings: one plain line, before anything is touched
    init()
    run_service()


def _flow(module: str, name: str):
    """A flow from flows/, with Prefect configured for this project before it is imported."""
    import importlib

    from escalation import runtime

    runtime.prefect_environment()
    return getattr(importlib.import_module(module), name)


def _act(action, **kwargs) -> None:
    with transaction(_sessions()) as session:
        disagreement = action(session, **kwargs)
        typer.echo(report.summary_line(disagreement, kwargs["now"]))


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise InvalidInput({"file": f"{path}: {error.strerror}"}) from None


def _safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def main() -> None:
    try:
        code = app(standalone_mode=False)
    except click.exceptions.Abort:
        typer.echo("aborted", err=True)
        code = 130
    except click.ClickException as error:
        error.show()
        code = error.exit_code
    except EscalationError as error:
        typer.echo(f"error: {error}", err=True)
        code = 1
    except SQLAlchemyError as error:
        reason = str(getattr(error, "orig", None) or error).splitlines()[0]
        typer.echo(f"database error: {reason} (has `escalation init` been run?)", err=True)
        code = 1
    except Exception as error:  # last resort: a plain message, never a traceback
        typer.echo(f"unexpected error ({type(error).__name__}): {error}", err=True)
        code = 70
    sys.exit(code if isinstance(code, int) else 0)
