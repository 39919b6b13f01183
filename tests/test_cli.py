"""The `escalation` command against a real database: its behaviour through escalation.cli.main
in this process (as `python -m escalation` calls it, with Typer's test runner capturing stdout and
stderr), and each command group once as a real process."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from escalation import cli, runtime
from escalation.rules.calendar import parse_instant
from escalation.settings import get_settings
from tests.factories import (
    DESIGNATED,
    DIRECTORY_CSV,
    MANAGER,
    NAMED,
    RAISER,
    TEAM_MANAGER,
    raise_data,
)

POLICIES_DIR = str(Path("policies").resolve())
# The invented directory: Nadia, Example Trust's primary named professional, owns stage 2 and
# Example Council's team manager answers for the council there.
ONE_NAMED_CSV = DIRECTORY_CSV


def _checked(result: subprocess.CompletedProcess, ok: bool) -> subprocess.CompletedProcess:
    assert (result.returncode == 0) == ok, result.stderr + result.stdout
    assert "Traceback" not in result.stderr
    return result


@pytest.fixture
def run(database_url, tmp_path, monkeypatch):
    """Run `escalation ARGS...` in this process, in tmp_path, on this test's database; its exit
    code, stdout and stderr. Each run reads the settings afresh and closes the engines it used."""
    monkeypatch.setenv("ESCALATION_DATABASE_URL", database_url)
    monkeypatch.setenv("ESCALATION_POLICIES_DIR", POLICIES_DIR)

    def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess:
        get_settings.cache_clear()
        runtime.sessions.cache_clear()
        monkeypatch.setattr(sys, "argv", ["escalation", *args])
        used = []

        def remember(connection):
            used.append(connection.engine)

        event.listen(Engine, "engine_connect", remember)
        here = os.getcwd()
        os.chdir(tmp_path)
        code = 0
        try:
            with CliRunner().isolation() as (stdout, stderr, _):
                try:
                    cli.main()
                except SystemExit as stopped:
                    code = stopped.code
                sys.stdout.flush()
                sys.stderr.flush()
                out, err = stdout.getvalue().decode(), stderr.getvalue().decode()
            result = subprocess.CompletedProcess(["escalation", *args], code, out, err)
        finally:
            os.chdir(here)
            event.remove(Engine, "engine_connect", remember)
            runtime.sessions.cache_clear()
            get_settings.cache_clear()
            for engine in set(used):
                engine.dispose()
        return _checked(result, ok)

    return run


@pytest.fixture
def process(database_url, tmp_path):
    """Run `python -m escalation ARGS...` as a real process in tmp_path, on this test's database."""

    def process(*args: str, ok: bool = True) -> subprocess.CompletedProcess:
        env = {
            **os.environ,
            "ESCALATION_DATABASE_URL": database_url,
            "ESCALATION_POLICIES_DIR": POLICIES_DIR,
        }
        return _checked(
            subprocess.run(
                [sys.executable, "-m", "escalation", *args],
                env=env,
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=60,
            ),
            ok,
        )

    return process


def _write(tmp_path, name, content) -> str:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return str(path)


@pytest.mark.parametrize(
    "args, shows",
    [
        (["init"], "schema is up to date"),
        (["policy", "check", f"{POLICIES_DIR}/default.yaml"], "ok (default version"),
        (["directory", "export"], "name,email,organisation,partnership,roles"),
        (["audit", "verify"], "chronology intact: 0 events verified"),
        (["apikey", "list"], "prefix\torganisation\tpartnership"),
    ],
    ids=["commands", "policy", "directory", "audit", "apikey"],
)
def test_each_command_group_runs_as_a_real_process(process, args, shows):
    """The entry point as installed, once per command group; the behaviour is tested in process."""
    assert shows in process(*args).stdout


def test_init_is_safe_to_run_twice(run):
    assert "schema is up to date" in run("init").stdout
    assert "schema is up to date" in run("init").stdout


def test_the_whole_journey_on_the_command_line(run, tmp_path):
    run("init")
    assert (
        "imported 10 people"
        in run("directory", "import", _write(tmp_path, "d.csv", ONE_NAMED_CSV)).stdout
    )
    raised = run(
        "raise",
        "--json",
        _write(tmp_path, "r.json", raise_data()),
        "--now",
        "2026-11-23T10:00:00+00:00",
    ).stdout
    reference = raised.split()[0]
    assert reference.startswith("RPD-") and f"owner Hana Visitor <{RAISER}>" in raised
    run(
        "escalate",
        reference,
        "--as",
        RAISER,
        "--reason",
        "No reply from the team manager",
        "--now",
        "2026-11-23T11:00:00+00:00",
    )
    shown = run("show", reference, "--now", "2026-11-30T10:00:00+00:00").stdout
    assert f"Owner:             Nadia Named <{NAMED}>" in shown
    assert "Due:               17:00 Thu 26 Nov 2026 GMT (2026-11-26T17:00Z)" in shown
    assert "OVERDUE" in shown and "TEST-CHILD-1" in shown
    assert "escalate practitioner -> named_professional  by " + RAISER in shown
    overdue = run("list", "--overdue", "--now", "2026-11-30T10:00:00+00:00").stdout
    assert overdue.startswith(reference)
    assert run("list", "--overdue", "--now", "2026-11-24T10:00:00+00:00").stdout == ""
    proposed = run(
        "resolve",
        reference,
        "--as",
        MANAGER,
        "--outcome",
        "decision_changed",
        "--summary",
        "Strategy discussion held",
        "--theme",
        "thresholds",
        "--not-systemic",
        "--lesson",
        "Thresholds were read differently",
        "--now",
        "2026-11-25T10:00:00+00:00",
    ).stdout
    assert proposed.startswith(f"{reference}  resolution proposed at named_professional")
    run("accept", reference, "--as", RAISER, "--now", "2026-11-25T11:00:00+00:00")
    assert run("list", "--open").stdout == ""
    # raise, escalate, resolve, the raiser's acceptance (a note and the event), complete
    assert "chronology intact: 6 events verified" in run("audit", "verify").stdout


def test_audit_verify_reports_the_first_broken_row(run, tmp_path, engine):
    run("init")
    run("directory", "import", _write(tmp_path, "d.csv", DIRECTORY_CSV))
    reference = run("raise", "--json", _write(tmp_path, "r.json", raise_data())).stdout.split()[0]
    run("note", reference, "--as", MANAGER, "--text", "Checked")
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.exec_driver_sql("DROP TRIGGER events_no_update")
        else:
            connection.exec_driver_sql("ALTER TABLE events DISABLE TRIGGER events_append_only")
        connection.execute(text("UPDATE events SET note = 'Edited' WHERE id = 2"))
        if engine.dialect.name != "sqlite":
            connection.exec_driver_sql("ALTER TABLE events ENABLE TRIGGER events_append_only")
    result = run("audit", "verify", ok=False)
    assert "chronology BROKEN at event 2" in result.stderr
    assert "1 events before it verified" in result.stderr


def test_audit_seal_and_the_newest_seal_kept_elsewhere(run, tmp_path):
    run("init")
    run("directory", "import", _write(tmp_path, "d.csv", DIRECTORY_CSV))
    run("raise", "--json", _write(tmp_path, "r.json", raise_data()))
    sealed = run("audit", "seal", "--now", "2026-11-23T10:00:00+00:00").stdout
    assert sealed.startswith("sealed 1 changed records: ")
    kept = sealed.split(": ")[1].strip()
    assert run("audit", "seal").stdout.strip() == "sealed 0 changed records"
    verified = run("audit", "verify", "--expect-seal", kept).stdout
    assert "1 events verified, 1 seals" in verified and f"newest seal: {kept}" in verified
    refused = run("audit", "verify", "--expect-seal", "0" * 64, ok=False)
    assert "is not in the chain of seals" in refused.stderr


def test_policy_deadlines_for_christmas_2026(run):
    out = run("policy", "deadlines", "default", "--from", "2026-12-23T10:00:00+00:00").stdout
    assert "named_professional         3 working days   due 17:00 Wed 30 Dec 2026 GMT" in out
    assert (
        "not counted: Fri 25 Dec 2026 (Christmas Day), Mon 28 Dec 2026 (Boxing Day (observed))"
        in out
    )
    assert "chair                      10 working days  due 17:00 Mon 11 Jan 2027 GMT" in out
    urgent = run(
        "policy", "deadlines", "default", "--from", "2026-12-23T10:00:00+00:00", "--urgent"
    ).stdout
    assert "practitioner" not in urgent.split("\n", 3)[3]
    assert "named_professional         4 hours          due 14:00 Wed 23 Dec 2026 GMT" in urgent


def test_policy_check_names_the_file_and_field(run, tmp_path):
    good = Path("policies/default.yaml").resolve()
    bad = _write(
        tmp_path, "x.yaml", good.read_text().replace("working_days: 5}", "working_days: 0}", 1)
    )
    result = run("policy", "check", str(good), bad, ok=False)
    assert f"{good}: ok (default version 2026.3, 5 stages)" in result.stdout
    assert result.stderr.strip() == f"{bad}: stages[0].timescale: working_days must be ≥ 1"


@pytest.mark.parametrize(
    "args, message",
    [
        (["show", "RPD-NONE-NONE"], "error: no disagreement with reference 'RPD-NONE-NONE'"),
        (
            ["policy", "deadlines", "nope", "--from", "2026-12-23T10:00:00+00:00"],
            "error: policy: no policy 'nope'",
        ),
        (
            ["policy", "deadlines", "default", "--from", "23/12/2026"],
            "error: --from: not an ISO 8601",
        ),
        (
            ["list", "--now", "2026-12-23T10:00"],
            "error: --now: '2026-12-23T10:00' has no UTC offset",
        ),
        (
            ["directory", "import", "missing.csv"],
            "error: file: missing.csv: No such file or directory",
        ),
    ],
)
def test_errors_are_one_plain_line_on_stderr(run, args, message):
    run("init")
    result = run(*args, ok=False)
    assert result.stderr.startswith(message), result.stderr


def test_a_bad_raise_file_names_each_field(run, tmp_path):
    run("init")
    data = raise_data(category="gossip")
    del data["reason"]
    data["raiser"]["email"] = "nobody"
    result = run("raise", "--json", _write(tmp_path, "r.json", data), ok=False)
    for field in ("raiser.email:", "category: must be one of", "reason: is required"):
        assert field in result.stderr
    broken = run("raise", "--json", _write(tmp_path, "b.json", "{not json"), ok=False)
    assert "b.json: line 1" in broken.stderr


def test_a_directory_gap_is_a_plain_error(run, tmp_path):
    run("init")
    lone = DIRECTORY_CSV.splitlines()[0] + "\n" + DIRECTORY_CSV.splitlines()[1] + "\n"
    run("directory", "import", _write(tmp_path, "d.csv", lone))
    data = raise_data(immediate_risk=True, protective_action="999 call")
    result = run("raise", "--json", _write(tmp_path, "r.json", data), ok=False)
    assert "has no available board manager" in result.stderr


def test_commands_before_init_say_so(tmp_path):
    env = {**os.environ, "ESCALATION_DATABASE_URL": f"sqlite:///{tmp_path}/empty.db"}
    result = subprocess.run(
        [sys.executable, "-m", "escalation", "list"],
        env=env,
        capture_output=True,
        text=True,
        cwd=Path.cwd(),
    )
    assert result.returncode == 1 and "has `escalation init` been run?" in result.stderr
    assert "Traceback" not in result.stderr


def test_sweep_deliver_and_health_without_prefect(run, tmp_path, monkeypatch):
    from tests.smtp_server import Server

    run("init")
    run("directory", "import", _write(tmp_path, "d.csv", ONE_NAMED_CSV))
    reference = run(
        "raise",
        "--json",
        _write(tmp_path, "r.json", raise_data()),
        "--now",
        "2026-11-23T10:00:00+00:00",
    ).stdout.split()[0]
    swept = json.loads(run("sweep", "--direct", "--now", "2026-12-01T10:00:00+00:00").stdout)
    assert (swept["escalated"], swept["queued_emails"]) == (1, 3)
    # mail waiting since the raise (a week) is unhealthy until delivery has run
    unsent = run("health", "--now", "2026-12-01T10:00:10+00:00", ok=False).stdout
    assert "sweeps are running" in unsent and "has not been sent" in unsent
    with Server() as server:
        monkeypatch.setenv("ESCALATION_SMTP_URL", server.url())
        sent = json.loads(run("deliver", "--direct", "--now", "2026-12-01T10:00:30+00:00").stdout)
        # the raiser's stage 1 email is superseded: the case had moved on to stage 2
        assert (sent["sent"], sent["superseded"], len(server.messages)) == (4, 1, 4)
    assert any(reference in m["Subject"] for m in server.messages)
    assert "sweeps are running" in run("health", "--now", "2026-12-01T10:01:00+00:00").stdout
    stalled = run("health", "--now", "2026-12-01T10:05:00+00:00", ok=False).stdout
    assert "no sweep has completed since 2026-12-01 10:00:00 UTC" in stalled


def test_apikey_create_prints_a_key_stored_only_hashed(run, database_url):
    from sqlalchemy import create_engine

    run("init")
    result = run("apikey", "create", "--organisation", "Example Trust")
    raw = result.stdout.strip()
    assert raw.startswith("rpd_") and len(raw) > 40 and "not shown again" in result.stderr
    engine = create_engine(database_url)
    with engine.connect() as connection:
        stored = connection.execute(
            text("SELECT key_hash, organisation, partnership FROM api_keys")
        ).one()
    engine.dispose()
    assert raw not in stored.key_hash and stored.organisation == "Example Trust"
    assert stored.partnership == "example-partnership"


def test_apikey_list_shows_each_key_but_never_the_key_and_revoke_stops_it(run, database_url):
    from escalation.access import apikeys
    from escalation.store.db import make_engine, session_factory, transaction

    run("init")
    now = "2026-11-23T10:00:00+00:00"
    expiring = run(
        "apikey",
        "create",
        "--organisation",
        "Example Trust",
        "--expires-in-days",
        "30",
        "--now",
        now,
    )
    assert "expires 2026-12-23T10:00Z" in expiring.stderr
    dated = run(
        "apikey",
        "create",
        "--organisation",
        "Example Council",
        "--expires",
        "2027-06-30",
        "--now",
        now,
    ).stdout.strip()
    listed = run("apikey", "list", "--now", now).stdout
    raw = expiring.stdout.strip()
    assert raw not in listed and dated not in listed and raw[12:20] not in listed
    assert listed.splitlines() == [
        "prefix\torganisation\tpartnership\tcreated\texpires\trevoked\tstatus",
        f"{raw[:12]}\tExample Trust\texample-partnership\t2026-11-23T10:00Z\t2026-12-23T10:00Z\t-"
        "\tin force",
        f"{dated[:12]}\tExample Council\texample-partnership\t2026-11-23T10:00Z\t"
        "2027-06-30T23:00Z\t-\tin force",  # the end of 30 June, UK time (BST)
    ]
    assert "\texpired" in run("apikey", "list", "--now", "2026-12-23T10:00:00+00:00").stdout
    revoked = run("apikey", "revoke", raw[:12], "--now", "2026-11-24T09:00:00+00:00").stdout
    assert revoked.startswith(f"revoked {raw[:12]} (Example Trust, example-partnership)")
    assert f"{raw[:12]}\tExample Trust" in run("apikey", "list").stdout
    assert "2026-11-24T09:00Z\trevoked" in run("apikey", "list").stdout
    engine = make_engine(database_url)
    with transaction(session_factory(engine)) as session:
        now_instant = parse_instant("2026-11-24T09:00:00+00:00")
        assert apikeys.find_key(session, raw, now=now_instant) is None
        assert apikeys.find_key(session, dated, now=now_instant) is not None
    engine.dispose()


@pytest.mark.parametrize(
    "args, message",
    [
        (["apikey", "revoke", "rpd_nosuchkey"], "error: no API key with prefix 'rpd_nosuchkey'"),
        (
            ["apikey", "create", "--organisation", "X", "--expires", "31/12/2026"],
            "error: --expires: '31/12/2026' is not a date like 2027-03-31",
        ),
        (
            ["apikey", "create", "--organisation", "X", "--expires", "2020-01-01"],
            "error: --expires: must be today or later",
        ),
        (
            ["apikey", "create", "--organisation", "X", "--expires-in-days", "0"],
            "error: --expires-in-days: must be 1 to 3660",
        ),
    ],
)
def test_apikey_mistakes_are_one_plain_line(run, args, message):
    run("init")
    assert run(*args, ok=False).stderr.startswith(message)
    assert run("apikey", "list").stdout.count("\n") == 1  # the header only: no key was made


def test_board_report_on_the_command_line(run, tmp_path):
    run("init")
    run("directory", "import", _write(tmp_path, "d.csv", DIRECTORY_CSV))
    run(
        "raise",
        "--json",
        _write(tmp_path, "r.json", raise_data()),
        "--now",
        "2026-11-23T10:00:00+00:00",
    )
    text = run("board-report", "--now", "2026-11-24T10:00:00+00:00").stdout
    # The web report's tables, in columns: a label, then the numbers.
    rows = [line.strip().split("  ") for line in text.splitlines()]
    rows = [[cell.strip() for cell in row if cell.strip()] for row in rows]
    assert "Open disagreements, by stage and age" in text
    assert ["Practitioner to practitioner", "1", "0", "0", "1"] in rows  # 0-7 days
    assert ["Urgent track (child at immediate risk)", "0"] in rows
    assert ["Raising organisation", "Example Council", "Total"] in rows
    assert ["Example Trust", "1", "1"] in rows


def test_board_enrol_prints_an_authenticator_uri_for_board_people_only(run, tmp_path):
    run("init")
    run("directory", "import", _write(tmp_path, "d.csv", DIRECTORY_CSV))
    uri = run("board-enrol", MANAGER).stdout.strip()
    assert uri.startswith("otpauth://totp/") and "secret=" in uri and "bea.manager" in uri
    refused = run("board-enrol", RAISER, ok=False)
    assert "is not a board manager or chair" in refused.stderr


def test_a_usage_mistake_is_clicks_own_message_and_exit_2(run):
    result = run("show", ok=False)
    assert result.returncode == 2
    assert "Missing argument 'reference'" in result.stderr and "unexpected" not in result.stderr


# --- issue 12, points 5 and 6: the child's area picks the policy; a verified counterpart -------


def _raise(run, tmp_path, ok: bool = True, **overrides):
    run("init")
    run("directory", "import", _write(tmp_path, "d.csv", DIRECTORY_CSV))
    return run("raise", "--json", _write(tmp_path, "r.json", raise_data(**overrides)), ok=ok)


def test_the_childs_area_picks_the_policy_on_the_command_line(run, tmp_path):
    counterpart = {**raise_data()["counterpart"], "email": DESIGNATED}  # listed: any area's
    raised = _raise(run, tmp_path, child_area="lakeside-partnership", counterpart=counterpart)
    shown = run("show", raised.stdout.split()[0]).stdout
    assert (
        "Policy:            Joint professional escalation" in shown
        and "(four-stage version" in shown
    )


def test_an_unknown_area_on_the_command_line_names_the_areas_there_are(run, tmp_path):
    result = _raise(run, tmp_path, ok=False, child_area="nowhere")
    assert result.stderr.startswith("error: child_area: no policy is loaded for the area 'nowhere'")
    assert "example-partnership, lakeside-partnership" in result.stderr


def test_a_policy_of_another_area_than_the_childs_is_refused(run, tmp_path):
    result = _raise(run, tmp_path, ok=False, child_area="example-partnership", policy="four-stage")
    assert result.stderr.startswith("error: policy: no policy 'four-stage' for this area")


def test_the_command_line_refuses_a_counterpart_outside_the_secure_domains(run, tmp_path):
    counterpart = {**raise_data()["counterpart"], "email": "sam.social@gmail.example"}
    result = _raise(run, tmp_path, ok=False, counterpart=counterpart)
    assert result.stderr.startswith(
        "error: counterpart.email: gmail.example is not one of Example Borough's secure domains"
    )
    assert "no disagreements match" in run("list").stderr


# --- issue 13: the end of a disagreement on the command line ------------------------------------

LEARNING_OPTIONS = (
    "--theme",
    "thresholds",
    "--theme",
    "information_sharing",
    "--systemic",
    "--lesson",
    "Referral thresholds were read differently",
)


MONDAY_AT_TEN = ("--now", "2026-11-23T10:00:00+00:00")


def _at_stage_two(run, tmp_path) -> str:
    """Raised on Monday 23 November 2026 and escalated to the named doctor at once."""
    run("init")
    run("directory", "import", _write(tmp_path, "d.csv", DIRECTORY_CSV))
    raised = run("raise", "--json", _write(tmp_path, "r.json", raise_data()), *MONDAY_AT_TEN)
    reference = raised.stdout.split()[0]
    run("escalate", reference, "--as", RAISER, "--now", "2026-11-23T10:05:00+00:00")
    return reference


def _propose(run, reference, *extra, ok=True):
    return run(
        "resolve",
        reference,
        "--as",
        NAMED,
        "--outcome",
        "resolved_agreed_actions",
        "--summary",
        "A strategy discussion will be held",
        *extra,
        "--now",
        "2026-11-24T10:00:00+00:00",
        ok=ok,
    )


def test_resolve_with_an_action_accept_and_confirm_it_done(run, tmp_path):
    reference = _at_stage_two(run, tmp_path)
    action = f"Hold a strategy discussion|{TEAM_MANAGER}|2026-11-27"
    proposed = _propose(run, reference, *LEARNING_OPTIONS, "--action", action).stdout
    assert proposed.startswith(f"{reference}  resolution proposed at named_professional")
    line = next(row for row in proposed.splitlines() if "agreed action" in row)
    assert line.endswith(f"Hold a strategy discussion; {TEAM_MANAGER}; 2026-11-27")
    action_id = line.split("agreed action ")[1].split(":")[0]
    accepted = run("accept", reference, "--as", RAISER, "--now", "2026-11-24T11:00:00+00:00")
    assert accepted.stdout.startswith(f"{reference}  watched at named_professional")
    done = run(
        "confirm-action",
        reference,
        "--as",
        TEAM_MANAGER,
        "--id",
        action_id,
        "--note",
        "Held on Thursday; assessment opened",
        "--now",
        "2026-11-26T15:00:00+00:00",
    ).stdout
    assert done.splitlines() == [
        f"agreed action {action_id} done",
        f"{reference}  resolved at named_professional",
    ]
    shown = run("show", reference).stdout
    assert "agreed action done: Hold a strategy discussion; Held on Thursday" in shown


def test_a_contest_on_the_command_line_moves_it_up_at_once(run, tmp_path):
    reference = _at_stage_two(run, tmp_path)
    _propose(run, reference, *LEARNING_OPTIONS, "--action", f"Call|{TEAM_MANAGER}|2026-11-27")
    refused = run("contest", reference, "--as", RAISER, "--reason", " ", ok=False)
    assert refused.stderr.startswith("error: reason: Enter why you do not accept")
    contested = run(
        "contest",
        reference,
        "--as",
        RAISER,
        "--reason",
        "A call is not enough",
        "--now",
        "2026-11-24T11:00:00+00:00",
    ).stdout
    assert contested.startswith(f"{reference}  awaiting acknowledgement at designated_professional")


def test_resolve_names_the_options_at_fault(run, tmp_path):
    reference = _at_stage_two(run, tmp_path)
    result = _propose(run, reference, ok=False)
    assert "--theme: Select at least one learning theme" in result.stderr
    assert "--action: Add the agreed actions" in result.stderr
    result = _propose(
        run,
        reference,
        *LEARNING_OPTIONS,
        "--action",
        "Call|nobody@trust.example|2026-11-27",
        ok=False,
    )
    assert result.stderr.startswith("error: --action 1: owner: Select who will do it")
    for bad in ("Call|x@y.example", "Call|x@y.example|27/11/2026", "Call|x@y.example|9999-01-01"):
        result = _propose(run, reference, *LEARNING_OPTIONS, "--action", bad, ok=False)
        assert result.stderr.startswith("error: --action 1: give 'what|owner_email|YYYY-MM-DD'")
    assert "resolution proposed" not in run("show", reference).stdout
    wrong = run("confirm-action", reference, "--as", NAMED, "--id", "99", "--note", "x", ok=False)
    assert wrong.stderr == "error: that action is not open on this disagreement\n"


def test_a_meeting_on_the_command_line_is_recorded_with_who_came(run, tmp_path):
    reference = _at_stage_two(run, tmp_path)
    meeting = f"Resolution meeting|{NAMED}|2026-11-25T14:00:00+00:00|Room 2, Example House"
    proposed = run(
        "resolve",
        reference,
        "--as",
        NAMED,
        "--outcome",
        "resolution_meeting_convened",
        "--summary",
        "We will meet",
        *LEARNING_OPTIONS,
        "--action",
        meeting,
        "--now",
        "2026-11-24T10:00:00+00:00",
    ).stdout
    action_id = proposed.split("agreed action ")[1].split(":")[0]
    run("accept", reference, "--as", RAISER, "--now", "2026-11-24T11:00:00+00:00")
    confirm = ("confirm-action", reference, "--as", NAMED, "--id", action_id)
    early = ("--now", "2026-11-24T12:00:00+00:00")
    too_soon = run(*confirm, "--note", "Agreed", "--attendees", "NN, TT", *early, ok=False)
    assert "note: The meeting has not happened yet" in too_soon.stderr
    later = ("--now", "2026-11-25T16:00:00+00:00")
    missing = run(*confirm, "--note", "Agreed", *later, ok=False)
    assert missing.stderr.startswith("error: attendees: Enter who attended")
    done = run(*confirm, "--note", "Agreed", "--attendees", "Nadia Named, Tia Team", *later)
    assert done.stdout.splitlines()[1] == f"{reference}  resolved at named_professional"


def test_health_on_a_fresh_install_is_not_green_until_the_clock_starts(run):
    run("init")
    fresh = run("health", "--now", "2026-12-01T10:00:00+00:00", ok=False).stdout
    assert "no sweep has ever been expected: run scripts/production/deploy" in fresh
    started = run("health", "--start-clock", "--now", "2026-12-01T10:00:00+00:00").stdout
    assert started == "sweep: the stall clock is started\n"
    assert run("health", "--now", "2026-12-01T10:02:00+00:00").stdout.splitlines() == [
        "sweep: sweeps are running",
        "mail: no email pending",
    ]
    run("health", "--start-clock", "--now", "2026-12-01T10:30:00+00:00")  # again: not reset
    assert (
        "no sweep has completed"
        in run("health", "--now", "2026-12-01T10:30:00+00:00", ok=False).stdout
    )


def test_health_alarm_sends_the_board_managers_alarm_at_once_once_per_stall(
    run, tmp_path, monkeypatch
):
    from tests.smtp_server import Server

    run("init")
    run("directory", "import", _write(tmp_path, "d.csv", ONE_NAMED_CSV))
    run("health", "--start-clock", "--now", "2026-12-01T10:00:00+00:00")
    assert "alarm" not in run("health", "--alarm", "--now", "2026-12-01T10:02:00+00:00").stdout
    with Server() as server:
        monkeypatch.setenv("ESCALATION_SMTP_URL", server.url())
        stalled = run("health", "--alarm", "--now", "2026-12-01T10:04:00+00:00", ok=False).stdout
        again = run("health", "--alarm", "--now", "2026-12-01T10:05:00+00:00", ok=False).stdout
    assert "alarm: 1 of 1 alarm email(s) sent now" in stalled
    assert "alert: sweep_stalled: no sweep has completed since 2026-12-01 10:00:00 UTC" in stalled
    assert "alarm:" not in again and "(x2 since 2026-12-01 10:04 UTC)" in again
    [alarm] = server.messages
    assert alarm["To"] == MANAGER and "ALARM" in alarm["Subject"]


def test_health_alarm_with_the_relay_down_leaves_the_alarm_for_the_next_try(
    run, tmp_path, monkeypatch
):
    from tests.smtp_server import Server, free_port

    run("init")
    run("directory", "import", _write(tmp_path, "d.csv", ONE_NAMED_CSV))
    run("health", "--start-clock", "--now", "2026-12-01T10:00:00+00:00")
    monkeypatch.setenv("ESCALATION_SMTP_URL", f"smtp://127.0.0.1:{free_port()}")  # nobody there
    monkeypatch.setenv("ESCALATION_SMTP_TIMEOUT_SECONDS", "2")
    down = run("health", "--alarm", "--now", "2026-12-01T10:04:00+00:00", ok=False).stdout
    assert "alarm: 0 of 1 alarm email(s) sent now" in down
    with Server() as server:
        monkeypatch.setenv("ESCALATION_SMTP_URL", server.url())
        up = run("health", "--alarm", "--now", "2026-12-01T10:05:00+00:00", ok=False).stdout
    assert "alarm: 1 of 1 alarm email(s) sent now" in up
    assert [m["To"] for m in server.messages] == [MANAGER]


def test_automations_without_a_token_is_one_plain_line(run, monkeypatch):
    monkeypatch.delenv("ESCALATION_OPS_TOKEN", raising=False)
    refused = run("automations", "--alarm-url", "https://web.example", ok=False)
    assert refused.returncode == 1
    assert refused.stderr.startswith("error: ESCALATION_OPS_TOKEN is not set")
