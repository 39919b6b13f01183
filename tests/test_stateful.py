"""Random event sequences (Hypothesis) on a real database never skip a stage, never move
backwards, keep exactly one owner per open stage, and keep the chronology chain valid."""

import itertools
import shutil
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import func, select

from escalation.casework import disagreements as d
from escalation.casework.chronology import verify_chain
from escalation.rules.errors import InvalidInput, NotAllowed
from escalation.store.db import make_engine, session_factory, transaction
from escalation.store.models import Event, StagePeriod
from tests.databases import BACKENDS
from tests.factories import (
    CHAIR,
    DEFAULT,
    DIRECTORY_CSV,
    MANAGER,
    NAMED,
    NAMED_DEPUTY,
    RAISER,
    load_directory,
    raise_request,
    utc,
)

# "owner" and "raiser" are looked up when the rule runs, so events are often allowed.
ACTORS = ["owner", "raiser", "owner", NAMED, MANAGER, CHAIR, "stranger@elsewhere.example"]
OUTCOMES = ["decision_upheld", "decision_changed", "resolved_agreed_actions"]
ABSENT_DEPUTY = DIRECTORY_CSV.replace(
    f"Named doctor,{NAMED_DEPUTY},,", f"Named doctor,{NAMED_DEPUTY},2026-11-25,2026-11-27"
)


def _machine(fresh_database):
    class DisagreementLife(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.engine = make_engine(fresh_database())
            self.sessions = session_factory(self.engine)
            load_directory(self.sessions, ABSENT_DEPUTY)
            self.now = utc(2026, 11, 23, 10)
            self.stage_seen: dict[str, int] = {}

        def teardown(self):
            self.engine.dispose()

        @rule(urgent=st.booleans())
        def raise_one(self, urgent):
            if len(self.stage_seen) >= 3:
                return
            extra = {"immediate_risk": True, "protective_action": "MASH"} if urgent else {}
            with transaction(self.sessions) as session:
                reference = d.raise_disagreement(
                    session, request=raise_request(**extra), policy=DEFAULT, now=self.now
                ).reference
            self.stage_seen[reference] = -1

        @rule(hours=st.integers(min_value=0, max_value=72))
        def time_passes(self, hours):
            self.now += timedelta(hours=hours, minutes=7)

        @rule(data=st.data())
        def acknowledge(self, data):
            self._try(data, "acknowledge")

        @rule(data=st.data())
        def escalate(self, data):
            self._try(data, "escalate", reason="No agreement")

        @rule(data=st.data(), outcome=st.sampled_from(OUTCOMES))
        def resolve(self, data, outcome):
            self._try(data, "resolve", outcome=outcome, summary="Agreed at the meeting")

        @rule(data=st.data())
        def withdraw(self, data):
            self._try(data, "withdraw", reason="No longer needed")

        @rule(data=st.data())
        def hand_to_deputy(self, data):
            self._try(data, "hand_to_deputy")

        @rule(data=st.data())
        def add_note(self, data):
            self._try(data, "add_note", note="Phoned the team manager")

        def _try(self, data, event, **kwargs):
            if not self.stage_seen:
                return
            reference = data.draw(st.sampled_from(sorted(self.stage_seen)))
            actor = self._who(reference, data.draw(st.sampled_from(ACTORS)))
            before = self._snapshot(reference)
            try:
                with transaction(self.sessions) as session:
                    getattr(d, event)(
                        session, reference=reference, actor=actor, now=self.now, **kwargs
                    )
            except (NotAllowed, InvalidInput):
                assert self._snapshot(reference) == before, "a refused event changed something"

        @rule()
        def sweep(self):
            with transaction(self.sessions) as session:
                due = d.due_references(session, now=self.now)
            for reference in due:
                with transaction(self.sessions) as session:
                    d.act_if_due(session, reference=reference, now=self.now)

        def _who(self, reference, actor):
            with transaction(self.sessions) as session:
                disagreement = d.get(session, reference)
                return {"owner": disagreement.owner.email, "raiser": RAISER}.get(actor, actor)

        def _snapshot(self, reference):
            with transaction(self.sessions) as session:
                disagreement = d.get(session, reference)
                events = session.scalar(select(func.count()).select_from(Event))
                return disagreement.row_version, disagreement.owner_id, events

        @invariant()
        def stages_only_move_forward_one_at_a_time(self):
            with transaction(self.sessions) as session:
                for reference, seen in self.stage_seen.items():
                    index = d.get(session, reference).stage_index
                    assert seen == -1 or seen <= index <= seen + 1
                    self.stage_seen[reference] = index
                escalations = session.execute(
                    select(Event.from_stage, Event.to_stage).where(
                        Event.kind.in_(["escalate", "escalate_automatically"])
                    )
                ).all()
                for from_stage, to_stage in escalations:
                    assert DEFAULT.stage_index(to_stage) == DEFAULT.stage_index(from_stage) + 1

        @invariant()
        def exactly_one_owner_per_open_stage(self):
            with transaction(self.sessions) as session:
                for reference in self.stage_seen:
                    disagreement = d.get(session, reference)
                    open_periods = (
                        session.execute(
                            select(StagePeriod).where(
                                StagePeriod.disagreement_id == disagreement.id,
                                StagePeriod.ended_at.is_(None),
                            )
                        )
                        .scalars()
                        .all()
                    )
                    if disagreement.is_open:
                        assert len(open_periods) == 1
                        assert open_periods[0].owner_id == disagreement.owner_id
                        assert open_periods[0].stage_key == disagreement.stage_key
                    else:
                        assert open_periods == []

        @invariant()
        def chronology_chain_is_valid(self):
            with transaction(self.sessions) as session:
                assert verify_chain(session).ok

    return DisagreementLife


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_random_event_sequences_keep_the_rules(backend, request, tmp_path):
    counter = itertools.count()
    if backend == "sqlite":
        template = request.getfixturevalue("sqlite_template")

        def fresh_database():
            path = tmp_path / f"run{next(counter)}.db"
            shutil.copy(template, path)
            return f"sqlite:///{path}"
    else:
        database = request.getfixturevalue("postgres_database")

        def fresh_database():
            return database.empty()

    run_state_machine_as_test(
        _machine(fresh_database),
        settings=settings(
            max_examples=75,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
