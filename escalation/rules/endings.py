"""How a disagreement ends, as policy: the raiser's say, the grace on agreed actions, the final
stage's repeated reminder, who hears at once, the learning themes and the last step."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from escalation.rules.routing import WORD
from escalation.rules.vocabulary import LEARNING_THEMES, ROLES

_FROZEN = ConfigDict(frozen=True, extra="forbid")
# The endings the board manager can be told of at once (all are in the daily digest anyway).
BoardNotice = Literal["resolve", "withdraw", "contest", "reopen", "complete"]


class Endings(BaseModel):
    """`say_working_days`: how long the raiser (and the counterpart, when the decision stands)
    has to accept or contest a proposed resolution; silence after it is acceptance.
    `action_grace_working_days`: an agreed action (or a convened meeting) not confirmed done this
    long after its date reopens the disagreement a stage higher. `action_reminder_working_days`:
    its owner is reminded this long before its date. `final_stage_reminder_working_days`: a final
    stage still overdue is reminded this often. `last_step`: the roles (the statutory partners'
    lead representatives) who receive the chair's written determination."""

    model_config = _FROZEN
    say_working_days: int = Field(default=2, ge=1)
    action_grace_working_days: int = Field(default=1, ge=0)
    action_reminder_working_days: int = Field(default=1, ge=0)
    final_stage_reminder_working_days: int = Field(default=5, ge=1)
    tell_board_at_once: tuple[BoardNotice, ...] = ("contest", "reopen")
    learning_themes: dict[str, str] = Field(default_factory=lambda: dict(LEARNING_THEMES))
    last_step: tuple[str, ...] = ()

    @field_validator("learning_themes")
    @classmethod
    def themes_named(cls, value: dict[str, str]) -> dict[str, str]:
        if not value:
            raise ValueError("name at least one learning theme")
        for key, words in value.items():
            if not re.fullmatch(WORD, key) or not str(words).strip():
                raise ValueError(f"{key!r}: a theme is a lower-case key and its words")
        return value

    @field_validator("last_step")
    @classmethod
    def known_roles(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for role in value:
            if role not in ROLES:
                raise ValueError(f"{role!r} is not a directory role ({', '.join(ROLES)})")
        return value
