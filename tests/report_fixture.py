"""Thirty invented disagreements whose board figures were worked out by hand (tests/test_reports.py
and tests/test_report_pages.py check them). Default policy; the directory must be loaded first.

Raised by:
  A: 12 from Example Trust against Example Council (referral), resolved by the raiser an hour
     later at the practitioner stage ("decision changed", learning theme "recording");
     children A-1 .. A-12.
  B:  8 from Example School (no named professional there, so the board manager holds stage 2)
     against Example Council (icpc_request): escalated by the system at the practitioner
     deadline, closed by the board manager two hours later ("decision upheld") with learning
     themes: the first four "thresholds" and "information_sharing", the next three
     "thresholds" and "timeliness", the last "other"; the raiser and the counterpart accept
     at once; children A-1, A-2, B-3 .. B-8.
  C:  6 urgent from Example Trust against Example Police (plan_implementation), raised two days
     before `now`, left open at the named professional past their 4-hour clock; children
     A-1, C-2 .. C-6.
  D:  4 from Example Trust against Example Council (other), raised 40 days before `now` and
     escalated by the raiser after an hour, open at the named professional, long past due.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from escalation.casework import board_actions
from escalation.casework import disagreements as d
from escalation.casework.endings import Learning
from escalation.reads.reports import OUTCOME_WORDS
from escalation.rules.vocabulary import CATEGORIES, LEARNING_THEMES
from escalation.store.db import transaction
from tests.factories import MANAGER, RAISER, accept_all, due_at, raise_one, utc

T0 = utc(2026, 11, 2, 10)  # Monday
NOW = utc(2026, 11, 30, 12)  # Monday, four weeks later
PARTNERSHIP = "example-partnership"
SCHOOL = {
    "name": "Pat Practitioner",
    "email": "pat@school.example",
    "organisation": "Example School",
    "role": "Designated safeguarding lead",
}
POLICE = {
    "name": "Pc Poole",
    "email": "poole@police.example",
    "organisation": "Example Police",
    "role": "Public protection officer",
}
B_THEMES = (
    [["thresholds", "information_sharing"]] * 4 + [["thresholds", "timeliness"]] * 3 + [["other"]]
)


def raise_the_thirty(sessions, t0: datetime = T0, now: datetime = NOW) -> None:
    _group_a(sessions, t0)
    _group_b(sessions, t0)
    for child in ["A-1", *(f"C-{n}" for n in range(2, 7))]:
        raise_one(
            sessions,
            now - timedelta(days=2),
            counterpart=POLICE,
            child_reference=child,
            category="plan_implementation",
            immediate_risk=True,
            protective_action="Police attended (invented)",
        )
    raised = now - timedelta(days=40)
    for number in range(1, 5):
        reference = raise_one(sessions, raised, child_reference=f"D-{number}", category="other")
        with transaction(sessions) as session:
            d.escalate(
                session,
                reference=reference,
                actor=RAISER,
                now=raised + timedelta(hours=1),
                reason="No reply",
            )


def _group_a(sessions, t0: datetime) -> None:
    for number in range(1, 13):
        reference = raise_one(sessions, t0, child_reference=f"A-{number}", category="referral")
        with transaction(sessions) as session:
            d.resolve(
                session,
                reference=reference,
                actor=RAISER,
                now=t0 + timedelta(hours=1),
                outcome="decision_changed",
                summary="Assessment opened",
                learning=Learning(("recording",), False, "Invented lesson"),
            )


def _group_b(sessions, t0: datetime) -> None:
    children = ["A-1", "A-2", *(f"B-{n}" for n in range(3, 9))]
    for child, themes in zip(children, B_THEMES, strict=True):
        reference = raise_one(
            sessions, t0, raiser=SCHOOL, child_reference=child, category="icpc_request"
        )
        deadline = due_at(sessions, reference)
        with transaction(sessions) as session:
            d.escalate(session, reference=reference, actor=d.SYSTEM, now=deadline)
        with transaction(sessions) as session:
            board_actions.close(
                session,
                reference=reference,
                actor=MANAGER,
                now=deadline + timedelta(hours=2),
                outcome="decision_upheld",
                summary="Rationale accepted",
                learning=Learning(tuple(themes), False, "Invented lesson"),
            )
        accept_all(sessions, reference, deadline + timedelta(hours=2))


# --- the figures as the board sees them, counted by hand ---------------------------------------
# Stages are titled by the default policy; open counts are at NOW.

PRACTITIONER = "Practitioner to practitioner"
NAMED_STAGE = "Named professional or line manager"
LATER_STAGES = [
    "Designated professional or senior manager",
    "Partnership business manager",
    "Independent chair",
]


def _mix(words: dict[str, str], counts: dict[str, int]) -> list[tuple]:
    return [(label, counts.get(key, 0)) for key, label in words.items()]


def _theme_counts(counts: dict[str, int]) -> list[int]:
    return [counts.get(key, 0) for key in LEARNING_THEMES]


def _themes_by_column(
    counts: dict[str, tuple], *, systemic: tuple, closed: tuple, columns: int
) -> list[tuple]:
    """A learning table's rows: each default theme, the systemic ones and all closed with
    learning, with `columns` counts (the first given, the rest 0) and their total."""

    def row(label: str, given: tuple) -> tuple:
        cells = (*given, *(0,) * (columns - len(given)))
        return (label, *cells, sum(cells))

    rows = [row(words, counts.get(key, ())) for key, words in LEARNING_THEMES.items()]
    return rows + [
        row("Points to a systemic issue", systemic),
        row("Closed with learning recorded", closed),
    ]


HAND_COUNTED = {
    # C: 6 raised 2 days ago; D: 4 raised 40 days ago; both at the named professional.
    "open-by-stage-and-age": (
        ("Stage", "0-7 days", "8-30 days", "over 30 days", "Total"),
        [(PRACTITIONER, 0, 0, 0, 0), (NAMED_STAGE, 6, 0, 4, 10)]
        + [(title, 0, 0, 0, 0) for title in LATER_STAGES],
    ),
    # A: 12 at the practitioner stage, B: 8 at the named professional stage; 12/20 = 60%.
    "resolved-by-stage": (
        ("Stage", "Resolved", "Share (%)"),
        [(PRACTITIONER, 12, 60), (NAMED_STAGE, 8, 40)] + [(title, 0, 0) for title in LATER_STAGES],
    ),
    # Practitioner: A 12 x 1 h, D 4 x 1 h, B 8 x 175 h (Mon 10:00 to 17:00 the next Monday):
    # the 12th and 13th of 24 are 1 h. Named professional: B 8 x 2 h, C 6 x 48 h, D 4 x 959 h:
    # the 9th and 10th of 18 are 48 h.
    "time-at-stage": (
        ("Stage", "Policy timescale", "Periods at the stage", "Median hours at the stage"),
        [
            (PRACTITIONER, "5 working days", 24, 1.0),
            (NAMED_STAGE, "3 working days; urgent track 4 hours", 18, 48.0),
        ],
    ),
    # B's 8 practitioner stages ended at the deadline; C's 6 and D's 4 are open past it.
    # 8/24 = 33.3%, 10/18 = 55.6%.
    "breaches": (
        ("Stage", "Periods at the stage", "Past the deadline", "Share past the deadline (%)"),
        [(PRACTITIONER, 24, 8, 33), (NAMED_STAGE, 18, 10, 56)],
    ),
    "outcomes": (
        ("Outcome", "Disagreements"),
        _mix(OUTCOME_WORDS, {"decision_changed": 12, "decision_upheld": 8}),
    ),
    # Trust: A 12 + D 4 against the Council, C 6 against the Police; School: B 8.
    "organisations": (
        ("Raising organisation", "Example Council", "Example Police", "Total"),
        [("Example School", 8, 0, 8), ("Example Trust", 16, 6, 22)],
    ),
    "categories": (
        ("Category", "Disagreements"),
        _mix(CATEGORIES, {"referral": 12, "icpc_request": 8, "plan_implementation": 6, "other": 4}),
    ),
    # B only: thresholds 4 + 3, information sharing 4, timeliness 3.
    "learning-themes": (
        ("Learning theme", "Disagreements"),
        _mix(
            LEARNING_THEMES,
            {
                "thresholds": 7,
                "information_sharing": 4,
                "timeliness": 3,
                "recording": 12,
                "other": 1,
            },
        ),
    ),
    # Closed with learning: A's 12 at the practitioner stage, B's 8 at the named professional
    # stage (the board manager holds it for the school); none systemic.
    "learning-by-stage": (
        ("Learning theme", PRACTITIONER, NAMED_STAGE, *LATER_STAGES, "Total"),
        _themes_by_column(
            {
                "thresholds": (0, 7),
                "information_sharing": (0, 4),
                "timeliness": (0, 3),
                "recording": (12, 0),
                "other": (0, 1),
            },
            systemic=(0, 0),
            closed=(12, 8),
            columns=5,
        ),
    ),
    # Example Trust is "health" in the directory and Example Council "childrens_social_care";
    # Example School has no agency type there, so it is named. 12 before 8.
    "learning-by-agency-pair": (
        (
            "Raising → receiving agency",
            *LEARNING_THEMES.values(),
            "Points to a systemic issue",
            "Total",
        ),
        [
            ("Health → Children's social care", *_theme_counts({"recording": 12}), 0, 12),
            (
                "Example School → Children's social care",
                *_theme_counts(
                    {"thresholds": 7, "information_sharing": 4, "timeliness": 3, "other": 1}
                ),
                0,
                8,
            ),
        ],
    ),
    # All twenty closed in November 2026 (A on 2 Nov, B on 9 Nov): one quarter.
    "learning-over-time": (
        ("Learning theme", "Oct–Dec 2026", "Total"),
        _themes_by_column(
            {
                "thresholds": (7,),
                "information_sharing": (4,),
                "timeliness": (3,),
                "recording": (12,),
                "other": (1,),
            },
            systemic=(0,),
            closed=(20,),
            columns=1,
        ),
    ),
    # A-1 in A, B and C; A-2 in A and B.
    "repeat-children": (("Child reference", "Disagreements"), [("A-1", 3), ("A-2", 2)]),
    "urgent-track": (
        ("Track", "Disagreements"),
        [("Urgent track (child at immediate risk)", 6), ("Standard track", 24)],
    ),
    # The directory's organisations that raised none first (the counterparts are not in it).
    "under-use": (
        ("Organisation", "Raised"),
        [
            ("Example Council", 0),
            ("Example ICB", 0),
            ("Example Partnership", 0),
            ("Example Trust", 22),
            ("Example School", 8),
        ],
    ),
}


# --- the annual-report section (reads/annual.py) for the reporting year 1 April 2026 to
# 31 March 2027, to date at NOW: all thirty were raised in it --------------------------------

ANNUAL_HAND_COUNTED = {
    # None open at the start; A and B resolved; C and D open.
    "counts": [
        ("Open at the start of the period", 0),
        ("Raised", 30),
        ("Resolved", 20),
        ("Withdrawn", 0),
        ("Still open at the end of the period", 10),
    ],
    # Practitioner stage: A, B, D (C, urgent, starts at the named professional). No further:
    # A's 12 at the first stage; B's 8, C's 6 and D's 4 at the second.
    "stages": [(PRACTITIONER, 24, 12), (NAMED_STAGE, 18, 18)]
    + [(title, 0, 0) for title in LATER_STAGES],
    # A: 12 resolved the day raised (0 working days); B: raised Monday 2 November, resolved
    # Monday 9 November (5). Median: the 10th and 11th of 20 are 0; 90th percentile: the 18th.
    "time-to-resolution": [
        ("Disagreements resolved", 20),
        ("Median time to resolution (working days)", 0),
        ("90th percentile time to resolution (working days)", 5),
    ],
    "outcomes": _mix(OUTCOME_WORDS, {"decision_changed": 12, "decision_upheld": 8}),
    # Themes as the "learning-themes" figure; none systemic; every closed one has learning.
    "learning": [
        (words, count, 0)
        for words, count in _mix(
            LEARNING_THEMES,
            {
                "thresholds": 7,
                "information_sharing": 4,
                "timeliness": 3,
                "recording": 12,
                "other": 1,
            },
        )
    ]
    + [("Closed with learning recorded", 20, 0), ("Closed without learning recorded", 0, None)],
    "agreed-actions": [
        ("Agreed actions and convened meetings", 0),
        ("Done on time", 0),
        ("Done late", 0),
        ("Missed (the disagreement reopened a stage higher)", 0),
        ("Cancelled (contested, reopened or withdrawn)", 0),
        ("Still open at the end of the period", 0),
    ],
    # A: 12 raisers resolving their own stage (no say asked); B: 8 closed by the board manager,
    # each accepted by its raiser and its counterpart (the decision stands): 16.
    "proposals": [
        ("Resolutions proposed", 20),
        ("Accepted by the person asked", 16),
        ("Accepted by silence (no answer in time)", 0),
        ("Contested (moved up a stage)", 0),
        ("Reopened a stage higher (an action or meeting missed)", 0),
    ],
}
