"""Ten invented disagreements around the reporting year 1 April 2026 to 31 March 2027, whose
annual-report section was counted by hand (tests/test_annual_report.py checks it). Default policy
(England's bank holidays, close of business 17:00 London time); the directory must be loaded
first. Every one is raised by Hana Visitor (Example Trust, "health") about Sam Social's decision
(Example Council, "childrens_social_care"). Times are UTC; BST runs from 29 March to 25 October
2026 and from 28 March 2027.

  E1  raised Mon 2 Mar 2026; resolved by the raiser at the practitioner stage on Tue 7 Apr 2026
      ("decision changed"; information sharing, systemic): 24 working days (21 in March after
      the 2nd, 1 and 2 April, 7 April: Good Friday 3 and Easter Monday 6 April not counted).
  E2  raised Mon 1 Mar 2027, escalated to the named professional, who convenes a meeting for
      Tue 6 Apr 2027 on 2 Mar; it is held and recorded on 6 Apr: open then, open at the end.
  E3  raised Mon 1 Jun 2026, escalated; the named professional resolves "with agreed actions":
      the team manager's, due Fri 5 Jun, done 5 Jun 16:00 BST (on time), and the named
      professional's, due the same day, done Mon 8 Jun 09:00 BST (late); the raiser accepts on
      1 Jun; resolved on 8 Jun at the named professional stage (thresholds, timeliness; not
      systemic): 5 working days.
  E4  raised Mon 6 Jul 2026, escalated; the named professional proposes "decision upheld"; the
      raiser contests on 7 Jul (to the designated professional), who proposes "decision
      changed" on 8 Jul; the raiser accepts; resolved on Wed 8 Jul (escalation procedure,
      systemic): 2 working days.
  E5  raised Mon 7 Sep 2026, escalated; the named professional proposes "resolution meeting
      convened" for Thu 10 Sep 14:00 BST; the raiser accepts; the meeting is never recorded: at
      close of business the next working day (Fri 11 Sep) the sweep marks it missed and reopens
      the disagreement at the designated professional; the raiser withdraws it on Mon 14 Sep
      (meeting attendance, systemic).
  E6  raised Mon 5 Oct 2026, escalated; the named professional resolves "with agreed actions"
      (the team manager's, due Fri 9 Oct); the raiser contests on 6 Oct: the action is
      cancelled and it stays open at the designated professional.
  E7  raised Mon 2 Feb 2026, left at the practitioner stage: open all year.
  E8  raised Mon 8 Mar 2027; resolved by the raiser on Tue 6 Apr 2027, after the year ("decision
      changed"; recording): 19 working days (Good Friday 26 and Easter Monday 29 March 2027 not
      counted).
  E9  raised Mon 9 Nov 2026, escalated; the named professional proposes "dissent recorded, no
      change"; nobody answers: at close of business on Wed 11 Nov the sweep takes the silence
      as acceptance and it is resolved (voice of the child; not systemic): 2 working days.
  E10 raised Mon 12 Oct 2026; withdrawn by the raiser on Tue 13 Oct with no learning recorded.

The year's figures, by hand, are in YEAR below; the year before's and this one to date after it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from escalation.casework import disagreements as d
from escalation.casework.endings import ActionInput, Learning, open_actions
from escalation.reads.reports import OUTCOME_WORDS
from escalation.rules.calendar import local_midnight
from escalation.rules.vocabulary import LEARNING_THEMES
from escalation.store.db import transaction
from tests.factories import DESIGNATED, NAMED, RAISER, TEAM_MANAGER, raise_one, utc

NOW = utc(2027, 5, 4, 12)  # Tuesday 4 May 2027, after the year's end
SINCE = local_midnight(date(2026, 4, 1))  # 23:00 UTC on 31 March 2026
UNTIL = local_midnight(date(2027, 4, 1))


def _learning(*themes: str, systemic: bool = False) -> Learning:
    return Learning(themes, systemic, "Invented lesson")


def _do(sessions, action, **kwargs):
    with transaction(sessions) as session:
        return action(session, **kwargs)


def _raise(sessions, at: datetime, child: str, *, escalate: bool = True) -> str:
    reference = raise_one(sessions, at, child_reference=child)
    if escalate:
        _do(
            sessions,
            d.escalate,
            reference=reference,
            actor=RAISER,
            now=at + timedelta(minutes=30),
            reason="Not agreed",
        )
    return reference


def _action_ids(sessions, reference: str) -> list[int]:
    with transaction(sessions) as session:
        return [item.id for item in open_actions(session, d.get(session, reference))]


def raise_the_ten(sessions) -> dict[str, str]:
    """The ten, built in the order of the docstring; their references by name."""
    return {
        name: build(sessions)
        for name, build in (
            ("E1", _e1),
            ("E2", _e2),
            ("E3", _e3),
            ("E4", _e4),
            ("E5", _e5),
            ("E6", _e6),
            ("E7", _e7),
            ("E8", _e8),
            ("E9", _e9),
            ("E10", _e10),
        )
    }


def _raiser_resolves(sessions, reference: str, at: datetime, learning: Learning) -> None:
    _do(
        sessions,
        d.resolve,
        reference=reference,
        actor=RAISER,
        now=at,
        outcome="decision_changed",
        summary="Assessment opened",
        learning=learning,
    )


def _e1(sessions) -> str:
    reference = _raise(sessions, utc(2026, 3, 2, 10), "E-1", escalate=False)
    _raiser_resolves(
        sessions, reference, utc(2026, 4, 7, 9), _learning("information_sharing", systemic=True)
    )
    return reference


def _e2(sessions) -> str:
    reference = _raise(sessions, utc(2027, 3, 1, 10), "E-2")
    meeting = _do(
        sessions,
        d.convene_meeting,
        reference=reference,
        actor=NAMED,
        now=utc(2027, 3, 2, 10),
        meeting_at=utc(2027, 4, 6, 9),
        place="Trust offices, room 3",
        invitees=[RAISER, TEAM_MANAGER],
    )
    _do(
        sessions,
        d.confirm_action,
        reference=reference,
        actor=NAMED,
        now=utc(2027, 4, 6, 12),
        action_id=meeting.id,
        note="Views heard; the named professional to decide",
        attendees="Hana Visitor, Tia Team, Nadia Named",
    )
    return reference


def _e3(sessions) -> str:
    reference = _raise(sessions, utc(2026, 6, 1, 9), "E-3")
    friday = utc(2026, 6, 5).date()
    _do(
        sessions,
        d.resolve,
        reference=reference,
        actor=NAMED,
        now=utc(2026, 6, 1, 10),
        outcome="resolved_agreed_actions",
        summary="Both sides to act",
        learning=_learning("thresholds", "timeliness"),
        actions=(
            ActionInput("Open an assessment", TEAM_MANAGER, friday),
            ActionInput("Share the health records", NAMED, friday),
        ),
    )
    _do(sessions, d.accept, reference=reference, actor=RAISER, now=utc(2026, 6, 1, 11))
    on_time, late = _action_ids(sessions, reference)
    for actor, action_id, at in (
        (TEAM_MANAGER, on_time, utc(2026, 6, 5, 15)),
        (NAMED, late, utc(2026, 6, 8, 8)),
    ):
        _do(
            sessions,
            d.confirm_action,
            reference=reference,
            actor=actor,
            now=at,
            action_id=action_id,
            note="Done",
        )
    return reference


def _e4(sessions) -> str:
    reference = _raise(sessions, utc(2026, 7, 6, 9), "E-4")
    _do(
        sessions,
        d.resolve,
        reference=reference,
        actor=NAMED,
        now=utc(2026, 7, 6, 12),
        outcome="decision_upheld",
        summary="Threshold not met",
        learning=_learning("thresholds"),
    )
    _do(
        sessions,
        d.contest,
        reference=reference,
        actor=RAISER,
        now=utc(2026, 7, 7, 9),
        reason="The risk was not weighed",
    )
    _do(
        sessions,
        d.resolve,
        reference=reference,
        actor=DESIGNATED,
        now=utc(2026, 7, 8, 9),
        outcome="decision_changed",
        summary="Assessment opened",
        learning=_learning("escalation_procedure", systemic=True),
    )
    _do(sessions, d.accept, reference=reference, actor=RAISER, now=utc(2026, 7, 8, 10))
    return reference


def _e5(sessions) -> str:
    reference = _raise(sessions, utc(2026, 9, 7, 9), "E-5")
    _do(
        sessions,
        d.resolve,
        reference=reference,
        actor=NAMED,
        now=utc(2026, 9, 7, 10),
        outcome="resolution_meeting_convened",
        summary="To meet on Thursday",
        learning=_learning("thresholds"),
        actions=(ActionInput("Resolution meeting", NAMED, None, utc(2026, 9, 10, 13), "Room 1"),),
    )
    _do(sessions, d.accept, reference=reference, actor=RAISER, now=utc(2026, 9, 7, 11))
    assert _do(sessions, d.watch, reference=reference, now=utc(2026, 9, 11, 16)) == ["reopen"]
    _do(
        sessions,
        d.withdraw,
        reference=reference,
        actor=RAISER,
        now=utc(2026, 9, 14, 9),
        reason="Agreed informally",
        learning=_learning("meeting_attendance", systemic=True),
    )
    return reference


def _e6(sessions) -> str:
    reference = _raise(sessions, utc(2026, 10, 5, 9), "E-6")
    _do(
        sessions,
        d.resolve,
        reference=reference,
        actor=NAMED,
        now=utc(2026, 10, 5, 10),
        outcome="resolved_agreed_actions",
        summary="Council to review",
        learning=_learning("thresholds"),
        actions=(ActionInput("Review the decision", TEAM_MANAGER, utc(2026, 10, 9).date()),),
    )
    _do(
        sessions,
        d.contest,
        reference=reference,
        actor=RAISER,
        now=utc(2026, 10, 6, 9),
        reason="A review is not enough",
    )
    return reference


def _e7(sessions) -> str:
    return _raise(sessions, utc(2026, 2, 2, 10), "E-7", escalate=False)


def _e8(sessions) -> str:
    reference = _raise(sessions, utc(2027, 3, 8, 10), "E-8", escalate=False)
    _raiser_resolves(sessions, reference, utc(2027, 4, 6, 9), _learning("recording"))
    return reference


def _e9(sessions) -> str:
    reference = _raise(sessions, utc(2026, 11, 9, 10), "E-9")
    _do(
        sessions,
        d.resolve,
        reference=reference,
        actor=NAMED,
        now=utc(2026, 11, 9, 11),
        outcome="dissent_recorded_no_change",
        summary="Dissent noted",
        learning=_learning("voice_of_child"),
    )
    assert _do(sessions, d.watch, reference=reference, now=utc(2026, 11, 11, 17)) == ["accept"]
    return reference


def _e10(sessions) -> str:
    reference = _raise(sessions, utc(2026, 10, 12, 9), "E-10", escalate=False)
    _do(
        sessions,
        d.withdraw,
        reference=reference,
        actor=RAISER,
        now=utc(2026, 10, 13, 9),
        reason="Resolved in conversation",
    )
    return reference


# --- the year's figures, counted by hand -------------------------------------------------------

STAGES = [
    "Practitioner to practitioner",
    "Named professional or line manager",
    "Designated professional or senior manager",
    "Partnership business manager",
    "Independent chair",
]


def _outcomes(counts: dict[str, int]) -> list[tuple]:
    return [(words, counts.get(key, 0)) for key, words in OUTCOME_WORDS.items()]


def _learnt(counts: dict[str, tuple[int, int]], closed: tuple, without: int) -> list[tuple]:
    rows = [(words, *counts.get(key, (0, 0))) for key, words in LEARNING_THEMES.items()]
    return rows + [
        ("Closed with learning recorded", *closed),
        ("Closed without learning recorded", without, None),
    ]


YEAR = {
    # Open at the start: E1 and E7 (raised before 1 April 2026, open then). Raised: E2, E3, E4,
    # E5, E6, E8, E9, E10. Resolved in the year: E1, E3, E4, E9; withdrawn: E5, E10. Open at
    # the end: E2, E6, E7 and E8 (resolved after it). 2 + 8 = 4 + 2 + 4.
    "counts": [
        ("Open at the start of the period", 2),
        ("Raised", 8),
        ("Resolved", 4),
        ("Withdrawn", 2),
        ("Still open at the end of the period", 4),
    ],
    # Of the eight raised: all at the practitioner stage; E2, E3, E4, E5, E6, E9 at the named
    # professional; E4, E5, E6 at the designated professional. No further: E8, E10 at the
    # first stage; E2, E3, E9 at the second; E4, E5, E6 at the third.
    "stages": [
        (STAGES[0], 8, 2),
        (STAGES[1], 6, 3),
        (STAGES[2], 3, 3),
        (STAGES[3], 0, 0),
        (STAGES[4], 0, 0),
    ],
    # E4 2, E9 2, E3 5, E1 24 working days: median (2 + 5) / 2; the 90th percentile is the
    # 4th of 4 (0.9 x 4 = 3.6, rounded up).
    "time-to-resolution": [
        ("Disagreements resolved", 4),
        ("Median time to resolution (working days)", 3.5),
        ("90th percentile time to resolution (working days)", 24),
    ],
    # E4 ended "decision changed" (its upheld proposal was contested).
    "outcomes": _outcomes(
        {
            "decision_changed": 2,
            "resolved_agreed_actions": 1,
            "dissent_recorded_no_change": 1,
            "withdrawn": 2,
        }
    ),
    # E1 information sharing (systemic), E3 thresholds and timeliness, E4 escalation procedure
    # (systemic), E5 meeting attendance (systemic: its withdrawal's learning replaced its
    # proposal's), E9 voice of the child; E10 none.
    "learning": _learnt(
        {
            "thresholds": (1, 0),
            "information_sharing": (1, 1),
            "escalation_procedure": (1, 1),
            "voice_of_child": (1, 0),
            "timeliness": (1, 0),
            "meeting_attendance": (1, 1),
        },
        closed=(5, 3),
        without=1,
    ),
    # E3's two (one on time, one late), E5's meeting (missed), E6's (cancelled by the contest),
    # E2's meeting (agreed 2 March 2027, recorded on 6 April: still open at the end).
    "agreed-actions": [
        ("Agreed actions and convened meetings", 5),
        ("Done on time", 1),
        ("Done late", 1),
        ("Missed (the disagreement reopened a stage higher)", 1),
        ("Cancelled (contested, reopened or withdrawn)", 1),
        ("Still open at the end of the period", 1),
    ],
    # Proposed: E1, E3, E4 twice, E5, E6, E9 (E8's is after the year). Accepted: the raiser in
    # E3, E4 (the second) and E5; by silence: E9's raiser and its counterpart (the council's
    # team manager, asked as the decision stands). Contested: E4, E6. Reopened: E5.
    "proposals": [
        ("Resolutions proposed", 7),
        ("Accepted by the person asked", 3),
        ("Accepted by silence (no answer in time)", 2),
        ("Contested (moved up a stage)", 2),
        ("Reopened a stage higher (an action or meeting missed)", 1),
    ],
}

YEAR_HEADLINES = [
    "From 1 April 2026 to 31 March 2027, 8 professional disagreements were raised (2 were "
    "already open at the start); 4 were resolved, 2 withdrawn and 4 still open at the end.",
    "Of the 8 raised, 2 went no further than the first stage (practitioner to practitioner) "
    "and 0 reached the final stage (independent chair).",
    "Those resolved took a median of 3.5 working days from being raised; nine in ten were "
    "resolved within 24 working days.",
    # Every theme was recorded once: the first three by key, alphabetically.
    "Learning was recorded for 5 of the 6 disagreements closed; the themes recorded most often "
    "were knowledge and use of the escalation procedure (1), information sharing between "
    "agencies (1) and attendance at and invitations to meetings (1). Of these, 3 pointed to a "
    "systemic issue.",
    "5 actions and meetings were agreed: 1 done on time, 1 done late, 1 missed, 1 cancelled "
    "and 1 still open.",
    "7 resolutions were proposed; those asked for their say accepted 3 times and stayed silent "
    "twice (taken as acceptance); 2 were contested, moving the disagreement up a stage, and 1 "
    "disagreement reopened a stage higher because an agreed action or meeting was missed.",
]

# The year before (1 April 2025 to 31 March 2026): E1 and E7 raised, both open at its end
# (E1 was resolved on 7 April 2026), both at the first stage; nothing else.
YEAR_BEFORE = {
    "counts": [
        ("Open at the start of the period", 0),
        ("Raised", 2),
        ("Resolved", 0),
        ("Withdrawn", 0),
        ("Still open at the end of the period", 2),
    ],
    "stages": [(STAGES[0], 2, 2)] + [(title, 0, 0) for title in STAGES[1:]],
    "time-to-resolution": [
        ("Disagreements resolved", 0),
        ("Median time to resolution (working days)", None),
        ("90th percentile time to resolution (working days)", None),
    ],
}

# This year to date (1 April 2027 to NOW, 4 May 2027): open at the start E2, E6, E7, E8; E8
# resolved on 6 April, 19 working days after it was raised; E2, E6, E7 still open; none raised.
TO_DATE = {
    "counts": [
        ("Open at the start of the period", 4),
        ("Raised", 0),
        ("Resolved", 1),
        ("Withdrawn", 0),
        ("Still open at the end of the period", 3),
    ],
    "time-to-resolution": [
        ("Disagreements resolved", 1),
        ("Median time to resolution (working days)", 19),
        ("90th percentile time to resolution (working days)", 19),
    ],
    # E2's meeting, agreed on 2 March, was recorded on 6 April: agreed before this year.
    "agreed-actions": [
        ("Agreed actions and convened meetings", 0),
        ("Done on time", 0),
        ("Done late", 0),
        ("Missed (the disagreement reopened a stage higher)", 0),
        ("Cancelled (contested, reopened or withdrawn)", 0),
        ("Still open at the end of the period", 0),
    ],
}
