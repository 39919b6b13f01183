"""The fair raw-SQL sweep: hand-written SQL that writes exactly the rows the service writes when
it escalates one of the bench's disagreements (a health visitor's case at the first stage), so
the ratio measures the service's machinery, not work the baseline skips.

Per disagreement, in its own transaction like the service: claim the row (FOR UPDATE SKIP
LOCKED on PostgreSQL), ask the directory for the next stage's owner (the raiser's agency, the
routing rule's role holders with their primary flags and absences, clearing the stage's gap
alerts), the deadline and reminder through the policy's calendar (rules/timescales), end the
open stage period and begin the next, the formal record, the canonical chained event
(casework/chronology.event_hash: `audit verify` accepts it) and the outbox rows with the full
context. Python builds the texts with the same pure functions; the database work is the SQL.
bench/sweep_check.py compares its rows with the service's.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from email.utils import make_msgid
from types import SimpleNamespace

from sqlalchemy import Boolean, Date, Engine, bindparam, text

from escalation.casework import records
from escalation.casework.chronology import event_hash
from escalation.outbox.rows import LINK_PURPOSES
from escalation.rules.calendar import date_text, due_text
from escalation.rules.routing import SideCase, first_match
from escalation.rules.vocabulary import CATEGORIES
from escalation.store.db import UTCDateTime
from escalation.store.models import OutboxMessage, StageRecord
from escalation.store.pinned_policies import policy_for

AT = UTCDateTime()
CLAIM = (
    "SELECT id, reference, stage_key, due_at, owner_id, urgent, row_version, raiser_organisation, "
    "raiser_name, raiser_role, raiser_email, counterpart_organisation, counterpart_name, "
    "counterpart_role, child_reference, category, decision_disputed, decision_date, reason, "
    "outcome_sought, partnership, policy_id, policy_version, raised_by_id, counterpart_id, "
    "chain_seq, chain_hash "
    "FROM disagreements WHERE status = 'open' AND resolution_state IS NULL AND "
    "final_stage_overdue_at IS NULL AND due_at <= :now ORDER BY due_at LIMIT 1"
)
PERIOD = text(
    "SELECT sp.id, sp.counterpart_response, p.name, p.organisation, p.professional_group "
    "FROM stage_periods sp JOIN people p ON p.id = sp.owner_id "
    "WHERE sp.disagreement_id = :id AND sp.ended_at IS NULL"
)
RAISER = text("SELECT organisation, professional_group FROM people WHERE id = :id")
AGENCY = text("SELECT agency_type FROM organisations WHERE key = :key")
HOLDERS_SQL = (
    "SELECT p.id, p.name, p.email, p.organisation, p.absent_from, p.absent_until, r.is_primary "
    "FROM people p JOIN person_roles r ON r.person_id = p.id WHERE r.role = :role AND "
    "(p.partnership = :partnership OR p.id IN (SELECT person_id FROM person_partnerships WHERE "
    "partnership = :partnership)) AND p.active AND lower(p.organisation) = :organisation "
    "ORDER BY p.id"
)
HOLDERS = text(HOLDERS_SQL).columns(absent_from=Date(), absent_until=Date(), is_primary=Boolean())
CLEAR_GAPS = text(
    "UPDATE alerts SET cleared_at = :now WHERE key LIKE :prefix || '%' ESCAPE '/' AND "
    "cleared_at IS NULL"
).bindparams(bindparam("now", type_=AT))
MOVE = text(
    "UPDATE disagreements SET stage_key = :stage, stage_index = :index, stage_entered_at = :now, "
    "due_at = :due, owner_id = :owner, remind_at = :remind, row_version = row_version + 1, "
    "chain_seq = :seq, chain_hash = :hash WHERE id = :id AND row_version = :version"
).bindparams(*(bindparam(name, type_=AT) for name in ("now", "due", "remind")))
END = text(
    "UPDATE stage_periods SET ended_at = :now, ended_by = 'escalate' WHERE id = :period"
).bindparams(bindparam("now", type_=AT))
BEGIN = text(
    "INSERT INTO stage_periods (disagreement_id, stage_key, stage_index, owner_id, entered_at, "
    "due_at, owner_reason, counterpart_reason) VALUES (:id, :stage, :index, :owner, :now, :due, "
    ":why, :counterpart_why)"
).bindparams(*(bindparam(name, type_=AT) for name in ("now", "due")))
RECORD = text(
    "INSERT INTO stage_records (disagreement_id, stage_key, kind, decided_at, signed_by, "
    "signed_role, content) VALUES (:id, :stage, 'escalation', :now, :signed_by, :signed_role, "
    ":content)"
).bindparams(
    bindparam("now", type_=AT), bindparam("content", type_=StageRecord.__table__.c.content.type)
)
EVENT = text(
    "INSERT INTO events (disagreement_id, seq, at, actor, kind, from_stage, to_stage, note, "
    "prev_hash, hash) VALUES (:id, :seq, :now, 'system', 'escalate_automatically', :from_stage, "
    ":to_stage, :note, :prev_hash, :hash)"
).bindparams(bindparam("now", type_=AT))
OUTBOX = text(
    "INSERT INTO outbox (idempotency_key, message_id, disagreement_id, kind, stage_key, "
    "recipient_email, recipient_role, link_purpose, context, status, attempts, next_attempt_at, "
    "last_error, created_at) VALUES (:key, :mid, :id, :kind, :stage, :to, :role, :purpose, :ctx, "
    "'pending', 0, :now, '', :now) ON CONFLICT (idempotency_key) DO NOTHING RETURNING id"
).bindparams(
    bindparam("now", type_=AT), bindparam("ctx", type_=OutboxMessage.__table__.c.context.type)
)


class RawSweep:
    """One engine's statements, prepared once; `escalate_all(now)` drains what is due."""

    def __init__(self, engine: Engine, policy) -> None:
        self.engine, self.policy = engine, policy
        postgres = engine.dialect.name == "postgresql"
        claim = text(CLAIM + (" FOR UPDATE SKIP LOCKED" if postgres else ""))
        self.claim = claim.bindparams(bindparam("now", type_=AT)).columns(
            due_at=AT, decision_date=Date(), urgent=Boolean()
        )

    def escalate_all(self, now: datetime, group: int = 1) -> int:
        """Everything due, one transaction a disagreement, or `group` a transaction with a
        savepoint each (the service's shape since issue 16)."""
        count = 0
        while True:
            with self.engine.begin() as connection:
                for _ in range(group):
                    row = connection.execute(self.claim, {"now": now}).mappings().first()
                    if row is None:
                        return count
                    if group == 1:
                        self.escalate(connection, row, now)
                    else:
                        with connection.begin_nested():
                            self.escalate(connection, row, now)
                    count += 1

    def escalate(self, connection, row, now: datetime) -> None:
        policy = self.policy
        stage = policy.next_stage(row["stage_key"])
        owner, why = self.route(connection, row, stage, now)
        period = connection.execute(PERIOD, {"id": row["id"]}).one()
        due = policy.due_at(stage.key, row["urgent"], now)
        remind = policy.reminder_at(stage.key, row["urgent"], now)
        index = policy.stage_index(stage.key)
        passed = (
            f"the stage was due {due_text(row['due_at'], policy.timezone)} and was not resolved"
        )
        values = {"id": row["id"], "now": now, "stage": stage.key, "index": index}
        values |= {"owner": owner.id, "due": due, "remind": remind}
        no_counterpart = "no counterpart: the decision-maker is not known"
        note = f"{passed}; owner {owner.name} ({why}); {no_counterpart}"
        event = self.event(row, stage.key, note, now)
        chain = {"seq": event.seq, "hash": event.hash}
        moved = connection.execute(MOVE, {**values, **chain, "version": row["row_version"]})
        assert moved.rowcount == 1
        connection.execute(END, {"now": now, "period": period.id})
        connection.execute(BEGIN, {**values, "why": why, "counterpart_why": no_counterpart})
        self.write_record(connection, row, period, owner, stage, passed, now)
        written = {key: getattr(event, key) for key in ("seq", "from_stage", "to_stage", "note")}
        written |= {"prev_hash": event.prev_hash, "hash": event.hash}
        connection.execute(EVENT, written | {"id": row["id"], "now": now})
        self.queue(connection, row, stage, owner, due, now)

    def route(self, connection, row, stage, now: datetime):
        """The directory's answer for the owner side, as directory/routing does it."""
        raiser = connection.execute(RAISER, {"id": row["raised_by_id"]}).one()
        organisation = raiser.organisation.strip().lower()
        agency = connection.execute(AGENCY, {"key": organisation}).scalar() or "other"
        case = SideCase(agency, raiser.organisation, raiser.professional_group, None)
        _, rule = first_match(stage.owner, case)
        assert rule.within == "organisation" and not rule.group, rule
        params = {"role": rule.role, "partnership": row["partnership"]}
        holders = connection.execute(HOLDERS, {**params, "organisation": organisation}).all()
        why = rule.describe()
        if len(holders) > 1:
            why = f"{why}; the primary of {len(holders)} holders"
            holders = [holder for holder in holders if holder.is_primary]
        [owner] = holders
        on = self.policy.calendar.local_date(now)
        assert not (owner.absent_from and owner.absent_from <= on <= owner.absent_until)
        digest = hashlib.sha256(organisation.encode()).hexdigest()[:16]
        prefix = f"gap/{self.policy.partnership}/{stage.key}/owner/{digest}/"
        connection.execute(CLEAR_GAPS, {"now": now, "prefix": _escaped(prefix)})
        return owner, why

    def write_record(self, connection, row, period, owner, stage, why: str, now: datetime):
        policy = self.policy
        left = policy.stage(row["stage_key"])
        signed_by = "The escalation service, at the stage's deadline"
        signed_role = f"Stage owner who made no decision: {period.name}"
        response = SimpleNamespace(counterpart_response=period.counterpart_response)
        content = {
            "title": records.KINDS["escalation"],
            "reference": row["reference"],
            "child_reference": row["child_reference"],
            "area": policy.area,
            "stage": f"Stage {policy.stage_index(left.key) + 1} of {len(policy.stages)}: "
            f"{left.title}",
            "decided_at": due_text(now, policy.timezone),
            "raising_agency": row["raiser_organisation"],
            "raised_by": f"{row['raiser_name']}, {row['raiser_role']}",
            "receiving_agency": row["counterpart_organisation"],
            "decision_maker": f"{row['counterpart_name']}, {row['counterpart_role']}",
            "category": CATEGORIES.get(row["category"], row["category"]),
            "decision_disputed": row["decision_disputed"],
            "decision_date": date_text(row["decision_date"]),
            "raiser_position": f"{row['reason']}\n\nOutcome sought: {row['outcome_sought']}",
            "counterpart_position": records._counterpart_position(response),
            "stage_owner": f"{period.name} ({period.organisation})",
            "stage_counterpart": "None named",
            "decision": f"Not resolved at this stage: {why}",
            "rationale": why,
            "actions": [],
            "next": f"{owner.name} ({owner.organisation}): {stage.title}",
            "signed_by": signed_by,
            "signed_role": signed_role,
        }
        values = {"id": row["id"], "stage": left.key, "now": now, "content": content}
        connection.execute(RECORD, {**values, "signed_by": signed_by, "signed_role": signed_role})

    def event(self, row, to_stage: str, note: str, now: datetime) -> SimpleNamespace:
        """The next event in the disagreement's own chain (its head came with the claim, which
        locked the row); its head moves in the same UPDATE as the stage."""
        event = SimpleNamespace(
            disagreement_id=row["id"],
            seq=row["chain_seq"] + 1,
            at=now.astimezone(UTC),
            actor="system",
            kind="escalate_automatically",
            from_stage=row["stage_key"],
            to_stage=to_stage,
            note=note,
            prev_hash=row["chain_hash"],
        )
        event.hash = event_hash(event)
        return event

    def queue(self, connection, row, stage, owner, due: datetime, now: datetime) -> None:
        policy = self.policy
        context = {
            "reference": row["reference"],
            "stage_title": stage.title,
            "stage_number": policy.stage_index(stage.key) + 1,
            "stage_count": len(policy.stages),
            "due_at": due.isoformat(),
            "due_text": due_text(due, policy.timezone),
            "urgent": row["urgent"],
            "status": "open",
            "partnership": row["partnership"],
        }
        recipients = [("stage_assigned", owner.email, "owner")]
        notify = [role for role in ("counterpart", *stage.notify) if role != "counterpart"]
        assert notify == ["raiser"], notify  # the bench's cases: no counterpart is known
        if row["raiser_email"] != owner.email:
            recipients.append(("stage_update", row["raiser_email"], "raiser"))
        for kind, email, role in recipients:
            key = f"{kind}/{row['reference']}/{stage.key}/{email}"
            values = {"key": key, "mid": make_msgid(domain="localhost"), "id": row["id"]}
            values |= {"kind": kind, "stage": stage.key, "to": email, "role": role, "now": now}
            values |= {"purpose": LINK_PURPOSES[role], "ctx": {**context, "recipient_role": role}}
            connection.execute(OUTBOX, values)


def _escaped(prefix: str) -> str:
    """LIKE's wildcards escaped with '/', as SQLAlchemy's startswith(autoescape=True)."""
    return prefix.replace("/", "//").replace("%", "/%").replace("_", "/_")


def raw_sweep(engine: Engine, sessions, now: datetime) -> RawSweep:
    """The baseline for this engine, with the bench's pinned policy read once (as the service
    caches it)."""
    with sessions() as session:
        columns = "SELECT policy_id, policy_version, category FROM disagreements LIMIT 1"
        first = session.execute(text(columns)).one()
        pinned = SimpleNamespace(policy_id=first[0], policy_version=first[1], category=first[2])
        policy = policy_for(session, pinned)
    return RawSweep(engine, policy)
