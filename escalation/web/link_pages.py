"""The parts of the emailed links' pages that read the case for a person on a phone: the question
"What do you want to do?" (`choices`: one radio per action the holder may take now), the case
summary's rows (with the immediate risk, the protective action and the decision's date), the
chronology with each person's views folded into one line, and whom the case is with now (the
confirmation page's "Now with …, due …").
"""

from __future__ import annotations

from escalation.casework.lifecycle import state_of
from escalation.directory.people import find_person
from escalation.rules import statemachine as sm
from escalation.rules.calendar import date_text, due_text, time_text
from escalation.store.models import Disagreement

# The choices' words, in the order the question lists them.
CHOICES = {
    "acknowledge": ("Acknowledge", "Tell everyone you have this stage; you can still act later"),
    "resolve": ("Resolve it", "Propose how it ends, with any agreed actions"),
    "convene_meeting": ("Convene a meeting", "Invite both sides, with a calendar entry"),
    "hand_to_deputy": ("Hand it to your deputy", "The deadline stays the same"),
    "escalate": ("Escalate it now", "Move it to the next stage's owners"),
    "respond": ("Record your response", "Whether the decision stands, has changed, or a meeting"),
    "say": ("Accept or contest the proposed resolution", ""),
    "add_note": ("Add a note", "It goes in the chronology"),
    "confirm_action": ("Confirm an agreed action is done", ""),
    "change_counterpart": ("Change the counterpart", "Who answers for the decision-maker's side"),
    "make_urgent": ("Move onto the urgent track", "The child is now at immediate risk"),
}


def choices(disagreement: Disagreement, may: dict[str, str]) -> list[tuple[str, str, str]]:
    """(action, words, hint) for each action the holder may take now, in CHOICES' order; a stage
    already acknowledged is not offered acknowledging again."""
    found = []
    for action, (words, hint) in CHOICES.items():
        if action not in may:
            continue
        if action == "acknowledge" and disagreement.stage_acknowledged_at is not None:
            continue
        if action == "say" and may[action] != "Send your answer":
            words, hint = may[action], ""  # at the final stage: accept the determination
        found.append((action, words, hint))
    return found


def summary_rows(disagreement: Disagreement, category: str) -> list[dict]:
    """The case summary's rows: what was disputed, by whom and when, the risk and its action."""
    d = disagreement
    rows = [
        ("Child reference", d.child_reference),
        ("Category", category),
        ("Decision disputed", d.decision_disputed),
        ("Decision made", date_text(d.decision_date)),
        (
            "Decision by",
            f"{d.counterpart_name}, {d.counterpart_role}, {d.counterpart_organisation}",
        ),
        ("Raised by", f"{d.raiser_name}, {d.raiser_role}, {d.raiser_organisation}"),
        ("Why they disagree", d.reason),
        ("Outcome sought", d.outcome_sought),
        ("Immediate risk of significant harm", "Yes" if d.immediate_risk else "No"),
    ]
    if d.protective_action:
        rows.append(("Protective action taken", d.protective_action))
    return [{"key": {"text": key}, "value": {"text": value}} for key, value in rows]


def chronology(session, events, tz: str) -> list[dict]:
    """The chronology, oldest first, as (when, what) lines; each person's views are one line,
    where their last view was: "Hana Visitor viewed it 3 times, last 10:04 Mon 23 Nov 2026"."""
    names: dict[str, str] = {}

    def name(email: str) -> str:
        if email not in names:
            person = find_person(session, email) if "@" in email else None
            names[email] = person.name if person is not None else email
        return names[email]

    views: dict[str, list] = {}
    for event in events:
        if event.kind == "view":
            views.setdefault(event.actor, []).append(event)
    lines = []
    for event in events:
        what = event.kind.replace("_", " ")
        if event.kind == "view":
            seen = views[event.actor]
            if event is not seen[-1]:
                continue
            times = "once" if len(seen) == 1 else f"{len(seen)} times"
            what = f"viewed it {times}, last {time_text(event.at, tz)}"
        elif event.note:
            what = f"{what}: {event.note}"
        lines.append({"when": time_text(event.at, tz), "who": name(event.actor), "what": what})
    return lines


def with_now(disagreement: Disagreement, tz: str, *, emailed: bool) -> str:
    """Whom an active stage is with now and its deadline ("Now with Dr Dev Designated (ICB), due
    17:00 Thu 3 Dec 2026 GMT; we have emailed them"); "" once it is ending or closed."""
    if not disagreement.is_open or state_of(disagreement) not in sm.ACTIVE_STATES:
        return ""
    owner = disagreement.owner
    line = f"Now with {owner.name} ({owner.organisation}), due {due_text(disagreement.due_at, tz)}"
    return f"{line}; we have emailed them." if emailed else f"{line}."
