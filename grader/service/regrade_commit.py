"""Committing a regrade's dry run, as a job with progress; undoing it; the records (grader.service.regrade plans).

    commit_regrade(actor, assignment, request, plan, reason)  ->  Regrade (queued; its job started)
    apply_regrade(regrade_id, progress)                            the job's work ("regrade" runner)
    undo_regrade(actor, regrade)                              ->  how many submissions were restored
    regrades_of(actor, assignment)                            ->  [Regrade], newest first

The commit applies exactly the dry run: the job plans again over the rows the dry run read (the plan's ids) and
refuses, changing nothing, unless the fingerprint is the dry run's (a submission, a manual score, the set's
terms or the grader's outcome moved since). It then writes in batches, each in one transaction with the
progress: the submissions' new score, points, feedback and mistakes, and a RegradeChange row per submission
keeping the old ones. A commit delivered again (its worker killed) plans with the old values of what it wrote
already, so the fingerprint still holds, and skips those rows: it applies once. Student submissions stored
meanwhile are not in the plan and never touched; each batch locks its own rows (SELECT ... FOR UPDATE on
PostgreSQL) and leaves any that moved since the plan, reporting them.
"""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy import ARRAY, JSON, Float, Integer, any_, bindparam, insert, select, update

from grader.errors import ServiceError
from grader.jobs.progress import Progress, start_job
from grader.lti.outbox import score_changed
from grader.models import Assignment, Regrade, RegradeChange, Submission, User, db, utcnow
from grader.service.limits import earned_points
from grader.service.manual_scores import check_reason
from grader.service.regrade import (
    Entry,
    RegradeRequest,
    compute_plan,
    read_token,
    require_instructor,
)

# Rows written per transaction (and progress step). REGRADE_BATCH in the environment changes it (the tests make
# a worker's batches small, to kill it mid-way).
BATCH = int(os.environ.get("REGRADE_BATCH", "1000"))
STALE = "the submissions, the manual scores, the set's terms or the grader changed since the dry run: run it again"


def commit_regrade(actor: User, assignment: Assignment, request: RegradeRequest, plan: Any, reason: Any) -> Regrade:
    """Store the regrade (the audit record: who, when, why, what) and start its job. 422 naming `reason` or
    `plan` (the dry run's token) when either is missing or malformed; nothing is changed yet."""
    require_instructor(actor, assignment)
    reason = check_reason(reason)
    fingerprint, ids = read_token(plan)
    regrade = Regrade(course_id=assignment.course_id, assignment_id=assignment.id, created_by=actor.id,
                      reason=reason, params=request.to_params(), fingerprint=fingerprint, submission_ids=ids,
                      state="queued", created_at=utcnow())
    db.session.add(regrade)
    db.session.flush()
    regrade_id = regrade.id
    job = start_job("regrade", actor, {"regrade_id": regrade_id})  # commits the regrade with the job
    regrade = db.session.get(Regrade, regrade_id)
    regrade.job_id = job.id
    db.session.commit()
    return regrade


def apply_regrade(regrade_id: int, progress: Progress) -> dict[str, Any]:
    """The job: plan over the dry run's rows, check the fingerprint, write in batches. Its counts."""
    regrade = db.session.get(Regrade, regrade_id)
    if regrade is None:
        progress.fail([f"no regrade {regrade_id}"])
    if regrade.state == "committed":
        return dict(regrade.counts or {})  # applied already: a job delivered once more does nothing
    if regrade.state != "queued":
        progress.fail([f"regrade {regrade_id} is {regrade.state}"])
    assignment = regrade.assignment
    written = {c.submission_id: c for c in db.session.scalars(
        select(RegradeChange).where(RegradeChange.regrade_id == regrade_id))}
    ids = list(regrade.submission_ids)
    progress.set_total(2 * len(ids))  # plan every row, then write (or pass) every row
    plan = compute_plan(assignment, RegradeRequest.from_params(regrade.params), ids=ids, restore=written,
                        on_progress=lambda n: progress.step(count=n))
    if plan.fingerprint != regrade.fingerprint or len(plan.submission_ids) != len(ids):
        regrade.state, regrade.counts = "refused", {"reason": STALE}
        db.session.commit()
        progress.fail([STALE])
    changed = plan.changed
    progress.step(count=len(ids) - len(changed))  # rows that stay as they are
    moved: list[int] = []
    for start in range(0, len(changed), BATCH):
        batch = changed[start:start + BATCH]
        moved += _write(regrade_id, [e for e in batch if e.submission_id not in written])
        progress.step(count=len(batch))  # commits the batch with the progress
    regrade = db.session.get(Regrade, regrade_id)
    counts = plan.counts()
    counts.update(changed=counts["changed"] - len(moved), moved_since=len(moved),
                  lms_resend=[t.username for t in plan.totals])
    regrade.state, regrade.counts, regrade.committed_at = "committed", counts, utcnow()
    score_changed(assignment)  # the LMS's gradebook hears of the new scores (sent only where they changed)
    db.session.commit()
    return counts


_SUBMISSIONS, _HISTORY = Submission.__table__, RegradeChange.__table__
# One batch's history: each row copied from its submission by the database (the score, points, feedback and
# mistakes it replaces never travel through Python), with the new values bound; sent as one executemany, which
# psycopg pipelines (and SQLite runs in process): no round trip per row.
_COPY_HISTORY = insert(_HISTORY).from_select(
    ["regrade_id", "submission_id", "user_id", "old_score", "old_points", "old_feedback", "old_mistakes",
     "old_version_id", "new_score", "new_points", "new_mistakes", "new_feedback", "new_version_id"],
    select(bindparam("b_regrade", type_=Integer), _SUBMISSIONS.c.id, _SUBMISSIONS.c.user_id, _SUBMISSIONS.c.score,
           _SUBMISSIONS.c.points, _SUBMISSIONS.c.feedback, _SUBMISSIONS.c.mistakes, _SUBMISSIONS.c.exercise_version_id,
           bindparam("b_score", type_=Float), bindparam("b_points", type_=Float), bindparam("b_mistakes", type_=JSON),
           bindparam("b_feedback", type_=JSON), bindparam("b_version", type_=Integer))
    .where(_SUBMISSIONS.c.id == bindparam("b_submission", type_=Integer)))
# ... and the submission from its history row, found by the unique (regrade, submission) key: the new feedback is
# serialized once, for the history, and copied from there by the database.
_APPLY_HISTORY = update(_SUBMISSIONS).where(
    _HISTORY.c.regrade_id == bindparam("b_regrade", type_=Integer),
    _HISTORY.c.submission_id == bindparam("b_submission", type_=Integer),
    _SUBMISSIONS.c.id == _HISTORY.c.submission_id).values(
    score=_HISTORY.c.new_score, points=_HISTORY.c.new_points, feedback=_HISTORY.c.new_feedback,
    mistakes=_HISTORY.c.new_mistakes, exercise_version_id=_HISTORY.c.new_version_id)

def _write(regrade_id: int, entries: list[Entry]) -> list[int]:
    """One batch: lock its rows, leave any that moved since the plan, write the history of the rest (the values
    it replaces copied by the database, not through Python), then the rows themselves from that history: one
    statement and two pipelined executemany whatever the batch's size. The ids left."""
    if not entries:
        return []
    ids = [e.submission_id for e in entries]
    # the batch's ids as one array on PostgreSQL (a thousand bound parameters cost more than the lookup)
    wanted = (Submission.id == any_(bindparam("ids", ids, type_=ARRAY(Integer)))
              if db.session.get_bind().dialect.name == "postgresql" else Submission.id.in_(ids))
    current = {row.id: row for row in db.session.execute(
        select(Submission.id, Submission.score, Submission.points, Submission.mistakes,
               Submission.exercise_version_id).where(wanted).order_by(Submission.id).with_for_update())}
    moved, history = [], []
    for e in entries:
        row = current.get(e.submission_id)
        if row is None or (row.score, row.points, list(row.mistakes or []), row.exercise_version_id) != (
                e.old_score, e.old_points, e.old_mistakes, e.old_version_id):
            moved.append(e.submission_id)
            continue
        history.append({"b_regrade": regrade_id, "b_submission": e.submission_id, "b_score": e.new_score,
                        "b_points": e.new_points, "b_mistakes": e.new_mistakes, "b_feedback": e.new_feedback,
                        "b_version": e.new_version_id})
    if history:
        connection = db.session.connection()  # Core, not the ORM: nothing of these rows is in the session
        connection.execute(_COPY_HISTORY, history)
        connection.execute(_APPLY_HISTORY, [{"b_regrade": regrade_id, "b_submission": h["b_submission"]}
                                            for h in history])
    return moved


def regrade_for(actor: User, regrade_id: int, assignment: Assignment | None = None) -> Regrade:
    """The regrade, for the course's instructors (of `assignment`, where the address names one); else 404/403."""
    regrade = db.session.get(Regrade, regrade_id)
    if regrade is None or (assignment is not None and regrade.assignment_id != assignment.id):
        raise ServiceError(404, "not_found", "no such regrade")
    require_instructor(actor, regrade.assignment)
    return regrade


def undo_regrade(actor: User, regrade: Regrade) -> int:
    """Restore every score, feedback, mistakes and version the regrade changed, from its history (in one
    transaction), with the points those scores earn under the set's terms of now; the regrade is then
    "undone". 409 unless it is committed and no later committed regrade of the set is still in force (undo that
    one first). How many submissions were restored."""
    require_instructor(actor, regrade.assignment)
    if regrade.state != "committed":
        raise ServiceError(409, "not_committed", f"regrade {regrade.id} is {regrade.state}: only a committed "
                           "regrade can be undone")
    later = db.session.scalar(select(Regrade.id).where(Regrade.assignment_id == regrade.assignment_id,
                                                       Regrade.id > regrade.id, Regrade.state == "committed"))
    if later is not None:
        raise ServiceError(409, "later_regrade", f"regrade {later} of this set came after: undo it first")
    restored, items = 0, {item.id: item for item in regrade.assignment.items}
    changes = db.session.execute(select(RegradeChange.submission_id).where(RegradeChange.regrade_id == regrade.id)
                                 .order_by(RegradeChange.submission_id)).all()
    for start in range(0, len(changes), BATCH):
        batch = [c.submission_id for c in changes[start:start + BATCH]]
        db.session.execute(select(Submission.id).where(Submission.id.in_(batch)).order_by(Submission.id)
                           .with_for_update()).all()
        db.session.execute(update(Submission).where(
            RegradeChange.regrade_id == regrade.id, RegradeChange.submission_id == Submission.id,
            Submission.id.in_(batch), RegradeChange.submission_id.in_(batch)).values(
            score=RegradeChange.old_score, points=RegradeChange.old_points, feedback=RegradeChange.old_feedback,
            mistakes=RegradeChange.old_mistakes, exercise_version_id=RegradeChange.old_version_id),
            execution_options={"synchronize_session": False})
        _earn_under_current_terms(items, batch)
        restored += len(batch)
    regrade.state, regrade.undone_at, regrade.undone_by = "undone", utcnow(), actor.id
    score_changed(regrade.assignment)  # the LMS's gradebook hears of the restored scores
    db.session.commit()
    return restored


def _earn_under_current_terms(items: dict[int, Any], ids: list[int]) -> None:
    """The restored scores' points under the set's terms of now: the old points were stored under the terms of
    the regrade's time, and a change of points, due date or late penalty since rescored the regraded ones."""
    rows = db.session.execute(select(Submission.id, Submission.item_id, Submission.score, Submission.late,
                                     Submission.points).where(Submission.id.in_(ids))).all()
    moved = [{"sid": r.id, "earned": earned_points(items[r.item_id], r.score or 0.0, r.late)} for r in rows
             if r.item_id in items and r.points != earned_points(items[r.item_id], r.score or 0.0, r.late)]
    if moved:
        db.session.execute(update(Submission.__table__).where(Submission.__table__.c.id == bindparam("sid"))
                           .values(points=bindparam("earned")), moved)


def regrades_of(actor: User, assignment: Assignment) -> list[Regrade]:
    require_instructor(actor, assignment)
    return list(db.session.scalars(select(Regrade).where(Regrade.assignment_id == assignment.id)
                                   .order_by(Regrade.id.desc())))


def regrade_view(regrade: Regrade) -> dict[str, Any]:
    """A regrade record as the API and pages show it."""
    return {"id": regrade.id, "assignment_id": regrade.assignment_id, "created_by": regrade.created_by,
            "reason": regrade.reason, "params": regrade.params, "state": regrade.state, "job_id": regrade.job_id,
            "counts": regrade.counts, "created_at": regrade.created_at, "committed_at": regrade.committed_at,
            "undone_at": regrade.undone_at, "undone_by": regrade.undone_by,
            "submissions": len(regrade.submission_ids or [])}
