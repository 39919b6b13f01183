"""Tables. Instants are UTCDateTime; deadlines are indexed columns swept by due time."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Computed,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from escalation.store.db import UTCDateTime


class Base(DeclarativeBase):
    pass


class Person(Base):
    """Someone in the directory: a possible stage owner, deputy or raiser."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320), unique=True)
    organisation: Mapped[str] = mapped_column(String(200))
    partnership: Mapped[str] = mapped_column(String(100), index=True)
    job_title: Mapped[str] = mapped_column(String(200), default="")
    deputy_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    absent_from: Mapped[date | None] = mapped_column(Date)
    absent_until: Mapped[date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # False for a raiser an agency system named through the API and nobody has listed since: kept
    # as the owner of their own first stage, but not a directory entry that lets them sign in
    # (signin.may_sign_in). A CSV import or the board's form lists them (True).
    listed: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Board sign-in's second factor (RFC 6238). The server must read the secret to check a code,
    # so it is stored as is: protect the database as the rest of the record is protected.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_last_step: Mapped[int | None] = mapped_column(Integer)  # a code is accepted once
    # e.g. doctor, nurse, social_worker (vocabulary.PROFESSIONAL_GROUPS): routing rules match it.
    professional_group: Mapped[str] = mapped_column(String(40), default="", server_default="")
    line_manager_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))

    deputy: Mapped[Person | None] = relationship(remote_side=[id], foreign_keys=[deputy_id])
    line_manager: Mapped[Person | None] = relationship(
        remote_side=[id], foreign_keys=[line_manager_id]
    )
    role_rows: Mapped[list[PersonRole]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )
    # Partnerships besides `partnership` (their home one) in which they hold the same roles.
    other_partnership_rows: Mapped[list[PersonPartnership]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def roles(self) -> set[str]:
        return {row.role for row in self.role_rows}

    @property
    def primary_roles(self) -> set[str]:
        return {row.role for row in self.role_rows if row.is_primary}

    @property
    def partnerships(self) -> list[str]:
        """Their home partnership first, then the others they serve."""
        others = sorted(row.partnership for row in self.other_partnership_rows)
        return [self.partnership, *(other for other in others if other != self.partnership)]

    def is_absent_on(self, day: date) -> bool:
        if self.absent_from is None:
            return False
        return self.absent_from <= day and (self.absent_until is None or day <= self.absent_until)

    def label(self) -> str:
        return f"{self.name} <{self.email}>"


class PersonRole(Base):
    __tablename__ = "person_roles"
    __table_args__ = (Index("ix_person_roles_role", "role"),)

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(40), primary_key=True)
    # The primary holder decides between several people who match a routing rule for this role.
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class PersonPartnership(Base):
    """A partnership someone serves besides their home one (a designated doctor serving two
    local authorities): they hold their roles there too."""

    __tablename__ = "person_partnerships"

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)
    partnership: Mapped[str] = mapped_column(String(100), primary_key=True, index=True)


class Organisation(Base):
    """An organisation in the directory and its agency type (vocabulary.AGENCY_TYPES): routing
    rules match on it. People name their organisation as text; `key` is its lower-case form."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    agency_type: Mapped[str] = mapped_column(String(40))


class PolicyVersion(Base):
    """A policy document as it was when a disagreement first used it (disagreements are pinned)."""

    __tablename__ = "policy_versions"
    __table_args__ = (UniqueConstraint("policy_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[str] = mapped_column(String(100))
    version: Mapped[str] = mapped_column(String(50))
    digest: Mapped[str] = mapped_column(String(64))
    document: Mapped[dict] = mapped_column(JSON)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


# The rows the sweep's due question reads (deadlines.due_query; migration 0012).
ACTIONABLE = "status = 'open' AND resolution_state IS NULL AND final_stage_overdue_at IS NULL"


class Disagreement(Base):
    __tablename__ = "disagreements"
    __table_args__ = (
        # The sweep's question "what needs action now?" reads only open rows neither ending nor
        # flagged at the final stage, by due time, so its cost grows with what is due, not with
        # what is open. Shaped for each planner (migration 0012 says why).
        Index(
            "ix_disagreements_actionable_due", "due_at", postgresql_where=text(ACTIONABLE)
        ).ddl_if(dialect="postgresql"),
        Index(
            "ix_disagreements_actionable_due",
            "status",
            "final_stage_overdue_at",
            "resolution_state",
            "due_at",
            sqlite_where=text(ACTIONABLE),
        ).ddl_if(dialect="sqlite"),
        Index("ix_disagreements_status_due", "status", "due_at"),
        Index("ix_disagreements_status_remind", "status", "remind_at"),
        Index("ix_disagreements_status_watch", "status", "watch_at"),
        # The board dashboard: one partnership's rows by status, urgent first, oldest due first.
        Index("ix_disagreements_board", "partnership", "status", "urgent", "due_at", "id"),
        Index(
            "ix_disagreements_board_stage", "partnership", "status", "stage_key", "urgent", "due_at"
        ),
        Index("ix_disagreements_board_raised", "partnership", "raised_at", "id"),
        # The dashboard's organisation filters: each side's distinct names, one probe a name
        # (reads/dashboard_flags.organisation_options), not a scan of the partnership's rows.
        Index("ix_disagreements_raising_org", "partnership", "raiser_organisation"),
        Index("ix_disagreements_receiving_org", "partnership", "counterpart_organisation"),
        # The anchor's question "whose chain moved since it was last sealed?", kept small.
        Index(
            "ix_disagreements_unanchored",
            "id",
            sqlite_where=text("chain_seq > anchored_seq"),
            postgresql_where=text("chain_seq > anchored_seq"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    partnership: Mapped[str] = mapped_column(String(100), index=True)
    policy_id: Mapped[str] = mapped_column(String(100))
    policy_version: Mapped[str] = mapped_column(String(50))

    status: Mapped[str] = mapped_column(String(20))
    stage_key: Mapped[str] = mapped_column(String(60))
    stage_index: Mapped[int] = mapped_column(Integer)
    stage_entered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    stage_acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    owner_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    final_stage_overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    remind_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # cleared once reminded
    urgent: Mapped[bool] = mapped_column(Boolean)
    row_version: Mapped[int] = mapped_column(Integer, default=1)
    # Its chain's head (casework/chronology.py), written by Core, outside the ORM's version
    # check: the last chained event's seq and hash, and the seq the last anchor sealed.
    chain_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    chain_hash: Mapped[str] = mapped_column(String(64), default="0" * 64, server_default="0" * 64)
    anchored_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    raised_by_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    raiser_name: Mapped[str] = mapped_column(String(200))
    raiser_email: Mapped[str] = mapped_column(String(320))
    raiser_role: Mapped[str] = mapped_column(String(200))
    raiser_organisation: Mapped[str] = mapped_column(String(200))
    counterpart_name: Mapped[str] = mapped_column(String(200))
    counterpart_email: Mapped[str] = mapped_column(String(320))
    counterpart_role: Mapped[str] = mapped_column(String(200))
    counterpart_organisation: Mapped[str] = mapped_column(String(200))
    # The decision-maker as a directory entry (added unlisted if they were not in it).
    counterpart_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    # A cross-border child: the other area named (the child's own area is `partnership`).
    other_area: Mapped[str] = mapped_column(String(100), default="", server_default="")
    # Set when a stage's clock ran out with no response from its counterpart.
    counterpart_silent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    child_reference: Mapped[str] = mapped_column(String(100), index=True)
    category: Mapped[str] = mapped_column(String(40))
    decision_disputed: Mapped[str] = mapped_column(Text)
    decision_date: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    outcome_sought: Mapped[str] = mapped_column(Text)
    immediate_risk: Mapped[bool] = mapped_column(Boolean)
    protective_action: Mapped[str] = mapped_column(Text, default="")
    level_of_need: Mapped[str] = mapped_column(String(100), default="")

    outcome: Mapped[str | None] = mapped_column(String(60))
    outcome_summary: Mapped[str | None] = mapped_column(Text)
    resolved_stage: Mapped[str | None] = mapped_column(String(60))
    learning_themes: Mapped[list | None] = mapped_column(
        JSON(none_as_null=True)
    )  # NULL: none recorded
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # How it is ending (casework/endings.py): None while a stage is active, "resolution_proposed"
    # while the raiser's say is awaited, "watched" while agreed actions are outstanding.
    resolution_state: Mapped[str | None] = mapped_column(String(30))
    # When the sweep must next look at its agreed actions, meetings or the say window.
    watch_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    learning_systemic: Mapped[bool | None] = mapped_column(Boolean)
    learning_lesson: Mapped[str] = mapped_column(Text, default="", server_default="")
    learning_recorded_by: Mapped[str] = mapped_column(String(320), default="", server_default="")

    owner: Mapped[Person] = relationship(foreign_keys=[owner_id], lazy="joined", innerjoin=True)
    raised_by: Mapped[Person] = relationship(foreign_keys=[raised_by_id])
    decision_maker: Mapped[Person | None] = relationship(foreign_keys=[counterpart_id])
    stages: Mapped[list[StagePeriod]] = relationship(
        order_by="StagePeriod.id", back_populates="disagreement"
    )

    __mapper_args__ = {"version_id_col": row_version}

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    def is_overdue(self, now: datetime) -> bool:
        return self.is_open and self.due_at <= now


class StagePeriod(Base):
    """One stage of one disagreement: who owned it, from when, due when, how it ended."""

    __tablename__ = "stage_periods"

    id: Mapped[int] = mapped_column(primary_key=True)
    disagreement_id: Mapped[int] = mapped_column(ForeignKey("disagreements.id"), index=True)
    stage_key: Mapped[str] = mapped_column(String(60))
    stage_index: Mapped[int] = mapped_column(Integer)
    owner_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_by: Mapped[str | None] = mapped_column(String(40))
    clock_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # None: entered_at
    owner_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    # The receiving side at this stage: who answers for the agency whose decision is disputed.
    counterpart_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    counterpart_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    counterpart_response: Mapped[str | None] = mapped_column(String(30))
    counterpart_responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    counterpart_silent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    disagreement: Mapped[Disagreement] = relationship(back_populates="stages")
    owner: Mapped[Person] = relationship(foreign_keys=[owner_id])
    counterpart: Mapped[Person | None] = relationship(foreign_keys=[counterpart_id])

    @property
    def clock_start(self) -> datetime:
        """When this stage's clock started: when the stage began, kept when it changed hands."""
        return self.clock_started_at or self.entered_at


class Event(Base):
    """The chronology: append-only; each disagreement's events form their own hash chain
    (casework/chronology.py). A view is recorded outside the chain (`seq` NULL, no link)."""

    __tablename__ = "events"
    __table_args__ = (Index("uq_events_chain", "disagreement_id", "seq", unique=True),)

    # The database numbers events (their order on screen); the chain is (disagreement, seq).
    id: Mapped[int] = mapped_column(primary_key=True)
    disagreement_id: Mapped[int] = mapped_column(ForeignKey("disagreements.id"), index=True)
    seq: Mapped[int | None] = mapped_column(Integer)  # 1, 2, ... in its disagreement's chain
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(320))
    kind: Mapped[str] = mapped_column(String(40))
    from_stage: Mapped[str | None] = mapped_column(String(60))
    to_stage: Mapped[str | None] = mapped_column(String(60))
    note: Mapped[str] = mapped_column(Text, default="")
    prev_hash: Mapped[str] = mapped_column(String(64))  # a view's is a random salt, not a link
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class ChainAnchor(Base):
    """A periodic seal over every disagreement's chain head that changed since the one before,
    itself hash-chained to the anchor before: a deleted tail or a deleted disagreement that was
    sealed is still found by `audit verify`."""

    __tablename__ = "chain_anchors"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    heads: Mapped[int] = mapped_column(Integer)  # how many disagreements' heads it seals
    digest: Mapped[str] = mapped_column(String(64))  # over its entries, in disagreement order
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)  # one successor: no fork
    hash: Mapped[str] = mapped_column(String(64))


class AnchorEntry(Base):
    """One disagreement's chain head (seq and hash) as an anchor sealed it."""

    __tablename__ = "anchor_entries"

    anchor_id: Mapped[int] = mapped_column(ForeignKey("chain_anchors.id"), primary_key=True)
    # No foreign key: a deleted disagreement must leave its entry behind as evidence.
    disagreement_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


class OutboxMessage(Base):
    """One email to one recipient, written in the transaction that caused it, sent later.

    `context` holds only what the template may show: reference, stage, due time, the recipient's
    role. Never a child's identifier or the disagreement's text. The link token is minted when
    the message is sent, so no raw token is ever stored.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_next_attempt", "status", "next_attempt_at"),
        Index("ix_outbox_claim", "status", "priority", "next_attempt_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(500), unique=True)
    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    disagreement_id: Mapped[int | None] = mapped_column(ForeignKey("disagreements.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    stage_key: Mapped[str | None] = mapped_column(String(60))
    recipient_email: Mapped[str] = mapped_column(String(320))
    recipient_role: Mapped[str] = mapped_column(String(40))
    link_purpose: Mapped[str | None] = mapped_column(String(20))
    context: Mapped[dict] = mapped_column(JSON)
    # pending, sent, dead, failed_permanent; superseded: an owner's email for a stage that moved on
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Which rows a delivery run claims first (lower first), set by the database from the kind so
    # no way of queuing can forget it: alarms, then emails someone waits for, then the rest.
    # Migration 0010 creates it with this SQL; outbox/kinds.priority says the same in Python
    # (tests/test_delivery_priority.py checks they agree).
    PRIORITY_SQL = (
        "CASE WHEN kind IN ('sweep_stalled', 'undeliverable') THEN 0 "
        "WHEN kind IN ('sign_in', 'fresh_links') THEN 1 ELSE 2 END"
    )
    priority: Mapped[int] = mapped_column(SmallInteger, Computed(PRIORITY_SQL, persisted=True))


class LinkToken(Base):
    """An emailed link's token, stored only as its SHA-256; bound to one recipient and stage."""

    __tablename__ = "link_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"), index=True)
    disagreement_id: Mapped[int | None] = mapped_column(ForeignKey("disagreements.id"))
    stage_key: Mapped[str | None] = mapped_column(String(60))
    recipient_email: Mapped[str] = mapped_column(String(320))
    purpose: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LinkSession(Base):
    """A short browser session started by pressing Continue on an emailed link's page: bound to
    that link (so to one recipient, disagreement and stage). The cookie holds a random id; only
    its SHA-256 is stored. `csrf_token` changes after every action, so a form acts once."""

    __tablename__ = "link_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    id_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("link_tokens.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Alert(Base):
    """Something the board manager and operators must see (a stalled sweep, a refused login to
    the mail relay, a disagreement the sweep could not move). One row per `key`, counted."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    message: Mapped[str] = mapped_column(Text)
    first_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime)
    count: Mapped[int] = mapped_column(Integer, default=1)
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Heartbeat(Base):
    """When a scheduled job last started and completed; the engine watches itself with it."""

    __tablename__ = "heartbeats"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    last_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)


class ApiKey(Base):
    """An agency system's key for the JSON API, one organisation each; stored only hashed."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))  # shown in listings, to tell keys apart
    organisation: Mapped[str] = mapped_column(String(200))
    partnership: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # None: until revoked
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ResolutionMeeting(Base):
    """A resolution meeting the board convened about one disagreement."""

    __tablename__ = "resolution_meetings"

    id: Mapped[int] = mapped_column(primary_key=True)
    disagreement_id: Mapped[int] = mapped_column(ForeignKey("disagreements.id"), index=True)
    held_on: Mapped[date] = mapped_column(Date)
    attendees: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(320))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AgreedAction(Base):
    """Something a resolution agreed (or a meeting a stage owner convened): what, whose, by
    when. The disagreement stays watched until each is confirmed done by its owner."""

    __tablename__ = "agreed_actions"
    # The dashboard and the digest ask for open actions by disagreement.
    __table_args__ = (Index("ix_agreed_actions_open", "ended", "disagreement_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    disagreement_id: Mapped[int] = mapped_column(ForeignKey("disagreements.id"), index=True)
    stage_key: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(20))  # "action" or "meeting"
    what: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    due_on: Mapped[date] = mapped_column(Date)
    meeting_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # meetings: when it is held
    place: Mapped[str] = mapped_column(Text, default="")
    invitees: Mapped[list] = mapped_column(JSON, default=list)  # work emails, meetings only
    created_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    chased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended: Mapped[str | None] = mapped_column(String(20))  # None open; done, missed, cancelled
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_note: Mapped[str] = mapped_column(Text, default="")
    attendees: Mapped[str] = mapped_column(Text, default="")  # meetings: who came

    owner: Mapped[Person] = relationship()

    @property
    def is_open(self) -> bool:
        return self.ended is None


class ResolutionSay(Base):
    """One person's say on a proposed resolution: the raiser's, and the counterpart's when the
    decision stands. `answer` is accepted, contested or accepted_by_silence (None: awaited)."""

    __tablename__ = "resolution_says"

    id: Mapped[int] = mapped_column(primary_key=True)
    disagreement_id: Mapped[int] = mapped_column(ForeignKey("disagreements.id"), index=True)
    stage_key: Mapped[str] = mapped_column(String(60))
    email: Mapped[str] = mapped_column(String(320))
    part: Mapped[str] = mapped_column(String(20))  # raiser or counterpart
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answer: Mapped[str | None] = mapped_column(String(30))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(Text, default="")


class StageRecord(Base):
    """A stage's formal record: the letter each procedure demands for both agencies' files,
    written when the stage's decision is made. `content` is the letter's text as it was then
    (never recomputed), so the PDF made from it later says what was decided at the time."""

    __tablename__ = "stage_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    disagreement_id: Mapped[int] = mapped_column(ForeignKey("disagreements.id"), index=True)
    stage_key: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(30))  # resolution, determination, escalation, ...
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)
    signed_by: Mapped[str] = mapped_column(String(200))
    signed_role: Mapped[str] = mapped_column(String(200))
    content: Mapped[dict] = mapped_column(JSON)


class DeadlineExtension(Base):
    """A request to move one stage's deadline; it takes effect only when the chair approves."""

    __tablename__ = "deadline_extensions"

    id: Mapped[int] = mapped_column(primary_key=True)
    disagreement_id: Mapped[int] = mapped_column(ForeignKey("disagreements.id"), index=True)
    stage_period_id: Mapped[int] = mapped_column(ForeignKey("stage_periods.id"))
    amount: Mapped[int] = mapped_column(Integer)  # in the stage's own unit: working days or hours
    unit: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(320))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decision: Mapped[str | None] = mapped_column(String(20))  # approved, refused, lapsed
    decided_by: Mapped[str | None] = mapped_column(String(320))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    new_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebSession(Base):
    """A signed-in browser: server-side, so signing out (or expiry) really ends it. The cookie
    holds a random id; only its SHA-256 is stored."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    id_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(320))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    second_factor_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # board pages need it
    failed_codes: Mapped[int] = mapped_column(Integer, default=0)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
