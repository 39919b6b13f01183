"""The `escalation` command: this module lists every command (each is defined in cases.py,
admin.py or service.py) and runs them. Errors go to stderr as one plain message and a non-zero
exit, never a traceback. Only Typer is imported here: each command imports the service it
needs when it runs (see common.py), so `escalation --help` stays fast."""

from __future__ import annotations

import os
import sys

import typer
from typer.exceptions import TyperException

from escalation.cli import admin, cases, service
from escalation.cli.common import NowOption, now_from, policies, sessions, settings
from escalation.rules.errors import EscalationError

app = typer.Typer(
    help="Resolve professional disagreements about a child's safety, on time, on the record.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _group(name: str, help: str) -> typer.Typer:
    group = typer.Typer(help=help, no_args_is_help=True)
    app.add_typer(group, name=name)
    return group


@app.command()
def init() -> None:
    """Create the database schema, or upgrade it (safe to run again)."""
    from sqlalchemy.engine import make_url

    from escalation.store.db import make_engine, refresh_statistics
    from escalation.store.schema import upgrade

    database_url = settings().database_url
    engine = make_engine(database_url)
    try:
        upgrade(engine)
        refresh_statistics(engine)
    finally:
        engine.dispose()
    url = make_url(database_url).render_as_string(hide_password=True)
    typer.echo(f"schema is up to date ({url})")


@app.command()
def demo(now: NowOption = None) -> None:
    """Set up the embedded default with a demo directory and one demo disagreement."""
    from escalation import demo as demo_data
    from escalation.store.db import transaction

    init()
    with transaction(sessions()) as session:
        typer.echo(demo_data.load(session, policies(), now_from(now)))


@app.command()
def serve() -> None:
    """Run the service: a local Prefect server, the scheduled flows and the local mail capture."""
    from escalation.serve import CONFIRM, refuse_production_prefect
    from escalation.serve import serve as run_service
    from escalation.settings import require_safe

    require_safe(settings())  # unsafe settings: one plain line, before anything is touched
    refuse_production_prefect(os.environ.get("PREFECT_API_URL"), os.environ.get(CONFIRM))
    init()
    run_service()


for name, command in {
    "raise": cases.raise_command,
    "show": cases.show,
    "list": cases.list_command,
    "acknowledge": cases.acknowledge,
    "escalate": cases.escalate,
    "resolve": cases.resolve,
    "accept": cases.accept,
    "contest": cases.contest,
    "confirm-action": cases.confirm_action,
    "withdraw": cases.withdraw,
    "hand-to-deputy": cases.hand_to_deputy,
    "note": cases.note,
    "sweep": service.sweep,
    "deliver": service.deliver,
    "digest": service.digest,
    "health": service.health,
    "automations": service.automations,
    "board-enrol": admin.board_enrol,
    "board-report": admin.board_report,
}.items():
    app.command(name)(command)

policy_app = _group("policy", "Check policies and see what their timescales mean.")
policy_app.command("check")(admin.policy_check)
policy_app.command("deadlines")(admin.policy_deadlines)
directory_app = _group("directory", "The directory of professionals.")
directory_app.command("import")(admin.directory_import)
directory_app.command("export")(admin.directory_export)
audit_app = _group("audit", "The tamper-evident chronology.")
audit_app.command("verify")(admin.audit_verify)
audit_app.command("seal")(admin.audit_seal)
apikey_app = _group("apikey", "API keys for agency case-management systems.")
apikey_app.command("create")(admin.apikey_create)
apikey_app.command("list")(admin.apikey_list)
apikey_app.command("revoke")(admin.apikey_revoke)


def main() -> None:
    try:
        code = app(standalone_mode=False)
    except typer.Abort:
        typer.echo("aborted", err=True)
        code = 130
    except TyperException as error:  # Typer 0.29 bundles its own click: its errors are these
        error.show()
        code = error.exit_code
    except EscalationError as error:
        typer.echo(f"error: {error}", err=True)
        code = 1
    except Exception as error:  # noqa: BLE001  last resort: a plain message, never a traceback
        code = _unexpected(error)
    sys.exit(code if isinstance(code, int) else 0)


def _unexpected(error: Exception) -> int:
    """Print a database error or any other error as one line; the exit code. SQLAlchemy and the
    standalone click are looked up, not imported: an error of theirs means they are loaded."""
    click = sys.modules.get("click")
    if click and isinstance(error, click.exceptions.Abort):
        typer.echo("aborted", err=True)
        return 130
    if click and isinstance(error, click.ClickException):
        error.show()
        return error.exit_code
    database_errors = sys.modules.get("sqlalchemy.exc")
    if database_errors and isinstance(error, database_errors.SQLAlchemyError):
        reason = str(getattr(error, "orig", None) or error).splitlines()[0]
        typer.echo(f"database error: {reason} (has `escalation init` been run?)", err=True)
        return 1
    typer.echo(f"unexpected error ({type(error).__name__}): {error}", err=True)
    return 70
