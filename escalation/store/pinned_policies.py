"""Policy pinning: a disagreement keeps the exact policy version it started under. The policy
document is stored the first time a version is used; later events read that stored copy."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from escalation.rules.errors import InvalidInput
from escalation.rules.policy import Policy, policy_from_document
from escalation.store.models import Disagreement, PolicyVersion


def pin_policy(session: Session, policy: Policy, *, now: datetime) -> None:
    """Keep the exact policy a disagreement starts under; a changed file must bump its version."""
    stored = session.execute(
        select(PolicyVersion).where(
            PolicyVersion.policy_id == policy.id, PolicyVersion.version == policy.version
        )
    ).scalar_one_or_none()
    if stored is None:
        session.add(
            PolicyVersion(
                policy_id=policy.id,
                version=policy.version,
                digest=policy.digest(),
                document=policy.document(),
                recorded_at=now,
            )
        )
    elif stored.digest != policy.digest():
        raise InvalidInput(
            {
                "policy": f"policy {policy.id!r} version {policy.version} has changed since it was "
                "first used; give the changed file a new version"
            }
        )


def policy_for(session: Session, disagreement: Disagreement) -> Policy:
    """The policy version this disagreement is pinned to (not whatever the file says today), as
    its category's route climbs it (Policy.for_category)."""
    key = (
        session.get_bind().url.render_as_string(),
        disagreement.policy_id,
        disagreement.policy_version,
    )
    routed = _ROUTED.get((*key, disagreement.category))
    if routed is not None:
        return routed
    policy = _PINNED.get(key)
    if policy is None:
        stored = session.execute(
            select(PolicyVersion).where(
                PolicyVersion.policy_id == disagreement.policy_id,
                PolicyVersion.version == disagreement.policy_version,
            )
        ).scalar_one()
        policy = policy_from_document(stored.document, source=f"stored policy {stored.policy_id}")
        _PINNED[key] = policy
    routed = _ROUTED[(*key, disagreement.category)] = policy.for_category(disagreement.category)
    return routed


# A stored policy version never changes (pin_policy refuses a changed document), so it is read
# once per database and process.
_PINNED: dict[tuple[str, str, str], Policy] = {}
_ROUTED: dict[tuple[str, str, str, str], Policy] = {}
