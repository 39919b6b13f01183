"""Who may see the board pages: deny by default.

Every /board route takes `user: BoardUser = Depends(EITHER)` (or MANAGER, or CHAIR: the
`allow(...roles)` dependencies, defined here once), naming the roles it admits; a route without
it is refused by tests/test_board_access.py, which walks the app's routes. `allow` requires a
live server-side session (signed in by emailed link), a person in the directory holding one of
the roles, and a second factor checked in this session; unsafe requests must also carry the
session's CSRF token. Records are fetched through `case_for`, which scopes
them to the user's partnership (another partnership's reference is "not found", not "forbidden").
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from escalation.access import signin
from escalation.casework.lifecycle import reference_key
from escalation.directory.people import find_person
from escalation.rules.errors import NotFound
from escalation.rules.policy import partnership_policy
from escalation.rules.vocabulary import BOARD_ROLES
from escalation.settings import get_settings
from escalation.store.db import transaction
from escalation.store.models import Disagreement
from escalation.web.forms import PostedForm
from escalation.web.raising import cookie_name


class BoardSignInRequired(Exception):
    pass


class SecondFactorRequired(Exception):
    pass


class BoardForbidden(Exception):
    pass


@dataclass(frozen=True)
class BoardUser:
    person_id: int
    email: str
    name: str
    partnership: str
    roles: frozenset[str]
    csrf: str

    @property
    def is_chair(self) -> bool:
        return "chair" in self.roles

    @property
    def is_manager(self) -> bool:
        return "board_manager" in self.roles


def allow(*roles: str):
    """A dependency admitting signed-in, second-factor-checked holders of `roles`."""
    if not roles or not set(roles) <= set(BOARD_ROLES):
        raise ValueError(f"board routes admit some of {BOARD_ROLES}, not {roles}")

    def dependency(request: Request, form: PostedForm) -> BoardUser:
        user = current_user(request, roles)
        unsafe = request.method not in ("GET", "HEAD")
        if unsafe and not secrets.compare_digest(str(form.get("csrf", "")), user.csrf):
            raise BoardForbidden(
                "This form had expired. Nothing was changed. Go back, reload and try again."
            )
        return user

    dependency.allowed_roles = frozenset(roles)
    return dependency


# What each board route admits (`user: BoardUser = Depends(EITHER)`).
EITHER = allow(*BOARD_ROLES)
MANAGER = allow("board_manager")
CHAIR = allow("chair")


def current_user(
    request: Request, roles: tuple[str, ...], *, second_factor: bool = True
) -> BoardUser:
    with transaction(request.app.state.sessions) as session:
        web = signin.current(
            session, request.cookies.get(cookie_name()), now=request.app.state.clock()
        )
        if web is None:
            raise BoardSignInRequired()
        person = find_person(session, web.email)
        if person is None or not person.active or not person.roles & set(roles):
            raise BoardForbidden("Your account cannot use this page.")
        if second_factor and web.second_factor_at is None:
            raise SecondFactorRequired()
        return BoardUser(
            person.id,
            person.email,
            person.name,
            person.partnership,
            frozenset(person.roles),
            web.csrf_token,
        )


def policy_of(request: Request, user: BoardUser):
    """The policy of the user's partnership (its stages, calendar), else the default one."""
    return partnership_policy(
        request.app.state.policies, user.partnership, get_settings().default_policy
    )


def case_for(session: Session, user: BoardUser, reference: str) -> Disagreement:
    disagreement = session.execute(
        select(Disagreement).where(
            Disagreement.reference == reference_key(reference),
            Disagreement.partnership == user.partnership,
        )
    ).scalar_one_or_none()
    if disagreement is None:
        raise NotFound("no such disagreement in your partnership")
    return disagreement
