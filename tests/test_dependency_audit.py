"""The dependency audit's judgement (scripts/dependency_audit.py), on invented registry answers:
no network, so deterministic. `scripts/audit` itself talks to the registries and is not run here."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import urllib.error
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "dependency_audit.py"


@pytest.fixture(scope="module")
def audit():
    spec = importlib.util.spec_from_file_location("dependency_audit", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["dependency_audit"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    yield module
    del sys.modules["dependency_audit"]


ADVISORY = {
    "id": "PYSEC-2026-1",
    "aliases": ["CVE-2026-0001", "GHSA-aaaa-bbbb-cccc"],
    "fixed_in": ["1.2.4"],
}


def project(latest: str, vulnerabilities=(), releases=None) -> dict:
    """PyPI's JSON for a project: its latest release and that release's known vulnerabilities."""
    return {
        "info": {"version": latest},
        "vulnerabilities": list(vulnerabilities),
        "releases": releases or {},
    }


def test_pins_are_read_from_constraints_and_other_lines_are_reported(audit):
    pinned, other = audit.pins(
        "# pinned set\nfastapi==0.150.0\npsycopg[binary]==3.3.9  # extra\n"
        "tzdata==2026.6 ; sys_platform == 'win32'\nholidays>=0.60\n\n"
    )
    assert pinned == [("fastapi", "0.150.0"), ("psycopg", "3.3.9"), ("tzdata", "2026.6")]
    assert other == ["holidays>=0.60"]


def test_a_pin_at_the_latest_release_without_advisories_is_clean(audit):
    assert audit.verdict("1.2.3", project("1.2.3"))[0] == audit.CLEAN


def test_a_pin_at_the_latest_release_with_an_advisory_is_vulnerable_and_named(audit):
    status, note = audit.verdict("1.2.3", project("1.2.3", [ADVISORY]))
    assert status == audit.VULNERABLE
    assert "PYSEC-2026-1 / CVE-2026-0001 / GHSA-aaaa-bbbb-cccc (fixed in: 1.2.4)" in note


def test_a_pin_behind_the_latest_release_is_not_checked_rather_than_called_safe(audit):
    # The project's entry lists the latest release's vulnerabilities only: silence about an
    # older release proves nothing.
    status, note = audit.verdict("1.2.2", project("1.2.3"))
    assert (status, note) == (audit.UNCHECKED, "behind the latest release 1.2.3")


def test_a_yanked_pin_is_flagged(audit):
    releases = {"1.2.3": [{"yanked": True, "yanked_reason": "broken wheel"}]}
    status, note = audit.verdict("1.2.3", project("1.2.3", releases=releases))
    assert status == audit.CLEAN and "YANKED (broken wheel)" in note


def test_the_registry_audit_lists_vulnerable_and_unchecked_pins_with_the_worst_outcome(audit):
    answers = {
        "clean": project("1.0"),
        "bad": project("2.0", [ADVISORY]),
        "old": project("3.1"),
    }

    def fetch(url: str) -> dict:
        return answers[url.split("/")[-2]]

    report = audit.python_from_registry([("clean", "1.0"), ("bad", "2.0"), ("old", "3.0")], fetch)
    assert report.status == audit.VULNERABLE
    assert "  VULNERABLE: bad 2.0: PYSEC-2026-1" in "\n".join(report.lines)
    assert "  not checked: old 3.0: behind the latest release 3.1" in report.lines
    assert "1 at their latest release with no known vulnerability" in report.lines[0]

    incomplete = audit.python_from_registry([("clean", "1.0"), ("old", "3.0")], fetch)
    assert incomplete.status == audit.UNCHECKED


def test_an_unreachable_registry_is_said_plainly_in_one_line(audit):
    def fetch(url: str) -> dict:
        raise urllib.error.URLError("Network is unreachable")

    report = audit.python_from_registry([("a", "1"), ("b", "2")], fetch)
    assert report.status == audit.UNCHECKED
    assert report.lines == [
        (
            "Python: PyPI's JSON API did not answer (Network is unreachable) for any of the 2 "
            "pins: nothing checked"
        )
    ]


def test_npm_pins_are_not_checked_when_the_audit_endpoint_is_unreachable(
    audit, monkeypatch, tmp_path
):
    lock = tmp_path / "package-lock.json"
    lock.write_text(
        json.dumps(
            {
                "packages": {
                    "": {"name": "assets"},
                    "node_modules/govuk-frontend": {"version": "6.3.0"},
                }
            }
        )
    )
    refused = {"message": "405 Method Not Allowed - POST .../advisories/bulk", "error": {}}
    monkeypatch.setattr(
        audit.subprocess,
        "run",
        lambda *a, **k: subprocess.CompletedProcess(a, 1, json.dumps(refused), ""),
    )
    monkeypatch.setattr(audit, "_fetch_json", lambda url: {"dist-tags": {"latest": "6.6.0"}})
    report = audit.npm_audit(lock)
    assert report.status == audit.UNCHECKED
    assert "npm's audit endpoint is not reachable from here (405 Method" in report.lines[0]
    assert report.lines[1] == "  not checked: govuk-frontend 6.3.0 (latest release 6.6.0)"


def test_npm_audit_findings_make_the_audit_fail(audit, monkeypatch, tmp_path):
    lock = tmp_path / "package-lock.json"
    lock.write_text(json.dumps({"packages": {"node_modules/axe-core": {"version": "4.0.0"}}}))
    found = {
        "vulnerabilities": {"axe-core": {"severity": "high", "range": "<4.1.0"}},
        "metadata": {"vulnerabilities": {"high": 1, "total": 1}},
    }
    monkeypatch.setattr(
        audit.subprocess,
        "run",
        lambda *a, **k: subprocess.CompletedProcess(a, 1, json.dumps(found), ""),
    )
    report = audit.npm_audit(lock)
    assert report.status == audit.VULNERABLE
    assert "  VULNERABLE: axe-core <4.1.0 (high)" in report.lines
