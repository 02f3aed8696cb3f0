"""Checking the plan a dry run kept (grader.service.regrade_store) against the rows as they are now, before its
commit applies it (grader.service.regrade_commit).

    verified_plan(assignment, request, fingerprint, kept, restore) -> Plan, or None: refused
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Text, cast, func, true

from grader.models import Assignment, Submission, db
from grader.service import regrade_store
from grader.service.regrade import Plan, RegradeRequest, feedback_digest, in_scope, terms_of

_STATE_COLUMNS = (Submission.id, Submission.user_id, Submission.item_id, Submission.attempt, Submission.score,
                  Submission.points, cast(Submission.mistakes, Text).label("mistakes"), Submission.exercise_version_id,
                  Submission.late)
_FEEDBACK_TEXT = cast(Submission.feedback, Text)


def verified_plan(assignment: Assignment, request: RegradeRequest, fingerprint: str, kept: regrade_store.Kept,
                  restore: dict[int, Any]) -> Plan | None:
    """The plan a dry run kept (grader.service.regrade_store), if every row it read still holds the values it
    read then (or, for a row this plan's commit wrote already, its history says it did) and the regrade's terms
    are the same; else None (refused). Grades nothing: the outcomes are the dry run's. A submission's answers,
    code and seed never change once stored, and its status and attempt are in the query (a row no longer graded
    drops out and the counts differ)."""
    _, digest = terms_of(assignment, request)
    if digest.hexdigest() != kept.terms:
        return None
    by_id = {e.submission_id: e for e in kept.entries}
    # the feedback's digest: computed by PostgreSQL (32 characters a row rather than the feedback), here elsewhere
    postgresql = db.session.get_bind().dialect.name == "postgresql"
    rows = db.session.execute(in_scope(assignment, request, *_STATE_COLUMNS,
                                       func.md5(_FEEDBACK_TEXT) if postgresql else _FEEDBACK_TEXT)
                              .where(Submission.id.in_(list(by_id)) if len(by_id) < 1000 else true())).all()
    seen, memo = 0, {}
    for sid, user_id, item_id, attempt, score, points, mistakes, version_id, late, feedback in rows:
        entry = by_id.get(sid)
        if entry is None:
            continue
        seen += 1
        before = restore.get(sid)
        if before is not None:  # this plan's commit wrote it already: its values before are in the history
            score, points, mistakes, version_id = (before.old_score, before.old_points, before.old_mistakes,
                                                   before.old_version_id)
        else:
            mistakes = mistakes_of(mistakes, memo)
            if (feedback if postgresql else feedback_digest(feedback)) != entry.feedback_digest:
                return None
        if (user_id, item_id, attempt, late, score, points, mistakes, version_id) != (
                entry.user_id, entry.item_id, entry.attempt, entry.late, entry.old_score, entry.old_points,
                entry.old_mistakes, entry.old_version_id):
            return None
    if seen != len(kept.entries):
        return None
    # the totals the dry run said would move (the LMS grades to send again): its report, as it was committed
    return Plan(assignment, request, kept.entries, fingerprint, list(by_id),
                {t.user_id: t.username for t in kept.totals}, kept.totals, kept.terms)


def mistakes_of(stored: str | None, memo: dict[str | None, list[str]]) -> list[str]:
    """A row's mistakes from their JSON text, each distinct text decoded once (a class makes few distinct
    lists: a regrade compares twenty thousand of them)."""
    if stored not in memo:
        memo[stored] = list(json.loads(stored) or []) if stored else []
    return memo[stored]
