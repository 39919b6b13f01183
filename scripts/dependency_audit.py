"""The dependency audit behind `scripts/audit`: the pinned set (constraints.txt, package-lock.json)
against the known vulnerabilities. Standard library only, so it runs before anything is installed.

Python pins:
- where the advisory service (OSV) is reachable: pip-audit (installed into ./var/audit) checks
  every pin against it;
- else PyPI's JSON API, which the package registry serves: each project's entry lists the known
  vulnerabilities (the same OSV data) of its latest release, so a pin at the latest release is
  checked and a pin behind it is reported as not checked, never as safe.
npm pins: `npm audit --package-lock-only`; if npm's audit endpoint is not reachable, the pins are
reported as not checked (the registry's package entries carry no advisories).

Exit status: 0 every pin checked and none has a known vulnerability; 1 a known vulnerability
(each listed with its advisory ids and fixed versions); 2 some pins could not be checked here
(listed, with the reason), and none of those checked has a known vulnerability.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYPI_JSON = os.environ.get("AUDIT_PYPI_JSON", "https://pypi.org/pypi")
NPM_REGISTRY = os.environ.get("AUDIT_NPM_REGISTRY", "https://registry.npmjs.org")
OSV_QUERY = "https://api.osv.dev/v1/query"
PIP_AUDIT = "pip-audit==2.10.1"
TOOL_VENV = ROOT / "var" / "audit"
TIMEOUT = 30

CLEAN, VULNERABLE, UNCHECKED = 0, 1, 2  # the exit statuses
SEVERITY = {CLEAN: 0, UNCHECKED: 1, VULNERABLE: 2}  # a known vulnerability outranks the unknown
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s;#]+)")


@dataclass
class Report:
    """What one part of the audit found: lines to print and the worst outcome."""

    lines: list[str] = field(default_factory=list)
    status: int = CLEAN

    def worst(self, status: int) -> None:
        self.status = max(self.status, status, key=SEVERITY.__getitem__)


def pins(constraints: str) -> tuple[list[tuple[str, str]], list[str]]:
    """(name, version) for each `name==version` line; the other requirement lines, unpinned."""
    pinned, other = [], []
    for raw in constraints.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = PIN.match(line)
        if match:
            pinned.append((match.group(1), match.group(3)))
        else:
            other.append(line)
    return pinned, other


def verdict(version: str, project: dict) -> tuple[int, str]:
    """Judge one pin from PyPI's project JSON: (CLEAN, note), (VULNERABLE, advisories) or
    (UNCHECKED, why). The project entry's vulnerabilities are those of its latest release only."""
    latest = project.get("info", {}).get("version")
    yanked = _yanked(version, project)
    if version != latest:
        return UNCHECKED, f"behind the latest release {latest}{yanked}"
    found = project.get("vulnerabilities") or []
    if found:
        return VULNERABLE, "; ".join(_advisory(item) for item in found) + yanked
    return CLEAN, f"latest release, no known vulnerability{yanked}"


def _advisory(item: dict) -> str:
    ids = [item.get("id", "?"), *(item.get("aliases") or [])]
    fixed = ", ".join(item.get("fixed_in") or []) or "no fixed release"
    return f"{' / '.join(ids)} (fixed in: {fixed})"


def _yanked(version: str, project: dict) -> str:
    files = (project.get("releases") or {}).get(version) or []
    if files and all(entry.get("yanked") for entry in files):
        reason = files[0].get("yanked_reason") or "no reason given"
        return f"; YANKED ({reason})"
    return ""


def python_from_registry(pinned: list[tuple[str, str]], fetch=None) -> Report:
    """Check each pin against PyPI's JSON API (see the module docstring for what it can tell)."""
    fetch = fetch or _fetch_json
    report = Report()

    def one(pin: tuple[str, str]) -> tuple[str, str, int, str]:
        name, version = pin
        try:
            status, note = verdict(version, fetch(f"{PYPI_JSON}/{name}/json"))
        except (OSError, ValueError) as error:
            status, note = UNCHECKED, f"PyPI's JSON API did not answer ({_reason(error)})"
        return name, version, status, note

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(one, pinned))
    if pinned and all(note.startswith("PyPI's JSON API did not answer") for *_, note in results):
        report.lines.append(
            f"Python: {results[0][3]} for any of the {len(pinned)} pins: nothing checked"
        )
        report.worst(UNCHECKED)
        return report
    clean = [name for name, _, status, _ in results if status == CLEAN]
    report.lines.append(
        f"Python ({len(pinned)} pins in constraints.txt) against PyPI's vulnerability data: "
        f"{len(clean)} at their latest release with no known vulnerability"
    )
    for label, wanted in (("VULNERABLE", VULNERABLE), ("not checked", UNCHECKED)):
        for name, version, status, note in results:
            if status == wanted:
                report.lines.append(f"  {label}: {name} {version}: {note}")
                report.worst(status)
    for name, version, status, note in results:
        if status == CLEAN and "YANKED" in note:
            report.lines.append(f"  warning: {name} {version}: {note}")
    return report


def python_with_pip_audit(constraints: Path) -> Report:
    """pip-audit against OSV for every pin (only where OSV is reachable)."""
    report = Report()
    tool = TOOL_VENV / "bin" / "pip-audit"
    if not tool.exists():
        installed = (
            subprocess.run([sys.executable, "-m", "venv", str(TOOL_VENV)], check=False).returncode
            == 0
        )
        pip = str(TOOL_VENV / "bin" / "pip")
        if (
            not installed
            or subprocess.run([pip, "install", "--quiet", PIP_AUDIT], check=False).returncode
        ):
            report.lines.append(
                f"Python: could not install {PIP_AUDIT} into {TOOL_VENV}: not checked"
            )
            report.worst(UNCHECKED)
            return report
    command = [str(tool), "--strict", "--no-deps", "--disable-pip"]
    command += ["--vulnerability-service", "osv", "-r", str(constraints)]
    result = subprocess.run(command, check=False, capture_output=True, text=True)
    output = (result.stdout + result.stderr).strip()
    report.lines.append(f"Python: {' '.join(['pip-audit', *command[1:]])}")
    report.lines += ["  " + line for line in output.splitlines()]
    if result.returncode == 0:
        report.worst(CLEAN)
    elif re.search(r"Found \d+ known vulnerabilit", output):
        report.worst(VULNERABLE)
    else:
        report.worst(UNCHECKED)
    return report


def npm_audit(lock: Path) -> Report:
    """`npm audit --package-lock-only`; where its endpoint is unreachable, the pins are listed as
    not checked."""
    report = Report()
    packages = _npm_pins(lock)
    try:
        result = subprocess.run(
            ["npm", "audit", "--package-lock-only", "--json"],
            check=False,
            cwd=lock.parent,
            capture_output=True,
            text=True,
            timeout=120,
        )
        answer = json.loads(result.stdout or "{}")
    except (OSError, ValueError, subprocess.TimeoutExpired) as error:
        answer = {"error": {"summary": _reason(error)}}
    if "error" in answer:
        summary = answer.get("message") or answer["error"].get("summary") or "no answer"
        summary = str(summary).splitlines()[0][:160]
        report.lines.append(
            f"npm ({len(packages)} packages in {lock.name}): npm's audit endpoint is not "
            f"reachable from here ({summary}); not checked:"
        )
        for name, version in packages:
            report.lines.append(f"  not checked: {name} {version}{_npm_latest(name, version)}")
        report.worst(UNCHECKED)
        return report
    counts = answer.get("metadata", {}).get("vulnerabilities", {})
    total = sum(value for key, value in counts.items() if key != "total")
    report.lines.append(f"npm ({len(packages)} packages in {lock.name}): npm audit: {total} known")
    for name, item in sorted(answer.get("vulnerabilities", {}).items()):
        report.lines.append(
            f"  VULNERABLE: {name} {item.get('range', '')} ({item.get('severity')})"
        )
    report.worst(VULNERABLE if total else CLEAN)
    return report


def _npm_pins(lock: Path) -> list[tuple[str, str]]:
    packages = json.loads(lock.read_text()).get("packages", {})
    return sorted(
        (path.rsplit("node_modules/", 1)[1], entry.get("version", "?"))
        for path, entry in packages.items()
        if path
    )


def _npm_latest(name: str, version: str) -> str:
    try:
        entry = _fetch_json(f"{NPM_REGISTRY}/{name}")
    except (OSError, ValueError):
        return ""
    latest = entry.get("dist-tags", {}).get("latest")
    deprecated = entry.get("versions", {}).get(version, {}).get("deprecated")
    note = " (the latest release)" if latest == version else f" (latest release {latest})"
    return note + (f"; DEPRECATED: {deprecated}" if deprecated else "")


def reachable(url: str) -> bool:
    """Does this advisory service answer at all (any HTTP status counts)?"""
    request = urllib.request.Request(url, data=b"{}", method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def _fetch_json(url: str) -> dict:
    for attempt in (1, 2):
        try:
            with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
                return json.load(response)
        except urllib.error.HTTPError:
            raise
        except OSError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _reason(error: BaseException) -> str:
    return str(getattr(error, "reason", None) or error).splitlines()[0][:120]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--registry-only",
        action="store_true",
        help="Skip pip-audit even where OSV is reachable (the fallback alone).",
    )
    args = parser.parse_args(argv)
    constraints = ROOT / "constraints.txt"
    pinned, other = pins(constraints.read_text())
    if not args.registry_only and reachable(OSV_QUERY):
        python = python_with_pip_audit(constraints)
    else:
        python = python_from_registry(pinned)
        python.lines.insert(
            0,
            f"The advisory service ({OSV_QUERY}) is not reachable from here "
            "(or --registry-only): using the package registry's own data.",
        )
    for line in other:
        python.lines.append(f"  not checked (not pinned with ==): {line}")
        python.worst(UNCHECKED)
    npm = npm_audit(ROOT / "package-lock.json")
    status = max(python.status, npm.status, key=SEVERITY.__getitem__)
    print("\n".join(python.lines + npm.lines))
    print(
        {
            CLEAN: "Result: every pin checked; no known vulnerability.",
            VULNERABLE: "Result: KNOWN VULNERABILITY in the pinned set (see above).",
            UNCHECKED: "Result: no known vulnerability in what could be checked here, but some pins "
            "could not be checked (see above): run scripts/audit where the advisory "
            "services are reachable.",
        }[status]
    )
    return status


if __name__ == "__main__":
    sys.exit(main())
