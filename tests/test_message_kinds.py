"""Message kinds: one name per kind of email, and each has its three templates."""

from __future__ import annotations

from pathlib import Path

from escalation.outbox.kinds import TEMPLATE_PARTS, MessageKind

EMAIL_TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "email"


def test_every_kind_has_its_three_templates_and_every_template_a_kind():
    templates = {
        path.name for path in EMAIL_TEMPLATES.iterdir() if not path.name.startswith("_")
    }  # _base.html and _footer.txt are included by the others
    expected = {f"{kind.value}.{part}" for kind in MessageKind for part in TEMPLATE_PARTS}
    assert sorted(expected - templates) == []  # a kind without a template
    assert sorted(templates - expected) == []  # a template without a kind


def test_a_kind_names_its_templates():
    assert MessageKind.REMINDER.template("subject.txt") == "email/reminder.subject.txt"
    assert MessageKind("sign_in") is MessageKind.SIGN_IN
