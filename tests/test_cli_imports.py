"""`escalation --help` answers without loading the service: importing the command line loads
Typer and the standard library, not the database, Prefect, the web framework or the domain."""

from __future__ import annotations

import json
import os
import subprocess
import sys

# (Typer itself loads pydantic to parse a command's options, so pydantic is not in the list.)
HEAVY = (
    "sqlalchemy",
    "alembic",
    "prefect",
    "fastapi",
    "escalation.store",
    "escalation.casework",
    "escalation.settings",
)


def _modules_after(code: str) -> set[str]:
    """The modules a fresh interpreter holds after running `code`."""
    script = f"import json, sys\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    return set(json.loads(result.stdout.splitlines()[-1]))


def _heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


def test_importing_the_command_line_loads_none_of_the_service():
    assert _heavy(_modules_after("import escalation.cli")) == []


def test_help_loads_none_of_the_service():
    code = (
        "from escalation import cli\n"
        "sys.argv = ['escalation', '--help']\n"
        "try:\n    cli.main()\nexcept SystemExit:\n    pass"
    )
    assert _heavy(_modules_after(code)) == []


def test_a_mistyped_option_is_one_plain_line_without_loading_the_service():
    code = (
        "from escalation import cli\n"
        "sys.argv = ['escalation', 'show', 'R-1', '--nope']\n"
        "try:\n    cli.main()\nexcept SystemExit:\n    pass"
    )
    assert _heavy(_modules_after(code)) == []
    result = subprocess.run(
        [sys.executable, "-m", "escalation", "show", "R-1", "--nope"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "No such option: --nope" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_database_error_is_still_one_plain_line(tmp_path):
    """SQLAlchemy is imported only by the command, and its errors are still recognised."""
    env = {**os.environ, "ESCALATION_DATABASE_URL": f"sqlite:///{tmp_path / 'never-init.db'}"}
    result = subprocess.run(
        [sys.executable, "-m", "escalation", "list"], capture_output=True, text=True, env=env
    )
    assert result.returncode == 1
    assert result.stderr.startswith("database error: ")
    assert "has `escalation init` been run?" in result.stderr
    assert "Traceback" not in result.stderr
