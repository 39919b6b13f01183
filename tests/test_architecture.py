"""The shape of the code: the layers hold (import-linter, configured in pyproject.toml) and no
module imports itself back through another."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]


def test_the_layer_contracts_hold():
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout[-3000:]


def test_no_module_imports_itself_back():
    graph = grimp.build_graph("escalation", "flows")
    cycles = sorted(
        (module, imported)
        for module in graph.modules
        for imported in graph.find_modules_directly_imported_by(module)
        if graph.chain_exists(importer=imported, imported=module)
    )
    assert cycles == []


def test_no_module_is_over_300_lines_but_the_models_and_migrations():
    long = [
        str(path.relative_to(ROOT))
        for package in ("escalation", "flows")
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
        and path.name != "models.py"
        and len(path.read_text().splitlines()) > 300
    ]
    assert long == []
