"""What the commands share: the --now and --as options, the database sessions and policies of
the settings, and reading a file given on the command line.

Every command module imports only Typer and the standard library at the top: the domain,
SQLAlchemy, Prefect and the settings are imported inside the functions that use them, so
`escalation --help` (and a mistyped option) answers without loading the service
(tests/test_cli_imports.py keeps it so)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from escalation.rules.errors import InvalidInput

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from escalation.casework.intake import RaiseRequest
    from escalation.rules.policy import Policy
    from escalation.settings import Settings

NowOption = Annotated[
    str | None,
    typer.Option("--now", help="Act as if it were this ISO 8601 instant (default: the clock)."),
]
AsOption = Annotated[str, typer.Option("--as", help="Work email of the person acting.")]
PartnershipOption = Annotated[
    str | None,
    typer.Option("--partnership", help="Default: the default policy's partnership."),
]


def now_from(text: str | None) -> datetime:
    """--now as an aware UTC instant, or the clock."""
    if text is None:
        return datetime.now(UTC)
    return instant_from(text, "--now")


def instant_from(text: str, option: str) -> datetime:
    """An ISO 8601 instant given as `option`, aware and in UTC; InvalidInput naming the option."""
    from escalation.rules.calendar import parse_instant

    try:
        return parse_instant(text)
    except ValueError as error:
        raise InvalidInput({option: str(error)}) from None


def sessions() -> sessionmaker[Session]:
    """The settings' database (one engine per process: escalation.runtime)."""
    from escalation import runtime

    return runtime.sessions()


def settings() -> Settings:
    """The settings, read once (escalation.settings.get_settings)."""
    from escalation.settings import get_settings

    return get_settings()


def policies() -> dict[str, Policy]:
    from escalation.rules.policy import load_policies

    return load_policies(settings().policies_dir)


def policy_named(policy_id: str | None) -> Policy:
    """The policy `policy_id` (default: the settings' default policy); InvalidInput naming the
    ones there are if there is no such policy."""
    known = policies()
    policy_id = policy_id or settings().default_policy
    if policy_id not in known:
        raise InvalidInput({"policy": f"no policy {policy_id!r} (have: {', '.join(known)})"})
    return known[policy_id]


def raise_policy(request: RaiseRequest) -> Policy:
    """The policy a raise from the command line goes under: the child's area's (`child_area`,
    see intake.area_policy, naming the areas there are if it is unknown), else the one named
    by `policy`, else the default policy (as before child_area existed)."""
    from escalation.casework.intake import area_policy, areas

    if request.child_area is None:
        return policy_named(request.policy)
    known, default_id = policies(), settings().default_policy
    try:
        return area_policy(
            known, request.child_area, policy_id=request.policy, default_id=default_id
        )
    except InvalidInput as error:
        if "child_area" not in error.problems:
            raise
        have = ", ".join(areas(known, default_id))
        problem = f"{error.problems['child_area']} (have: {have})"
        raise InvalidInput({**error.problems, "child_area": problem}) from None


def partnership_and_policy(partnership: str | None) -> tuple[str, Policy]:
    """--partnership (default: the default policy's) and the policy it works to."""
    from escalation.rules.policy import partnership_policy

    known, default_id = policies(), settings().default_policy
    partnership = partnership or known[default_id].partnership
    return partnership, partnership_policy(known, partnership, default_id)


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise InvalidInput({"file": f"{path}: {error.strerror}"}) from None
