"""Committing a regrade's dry run, as a job with progress; undoing it; the records (grader.service.regrade plans).

    commit_regrade(actor, assignment, request, plan, reason)  ->  Regrade (queued; its job started)
    apply_regrade(regrade_id, progress)                            the job's work ("regrade" runner)
    undo_regrade(actor, regrade)                              ->  how many submissions were restored
    regrades_of(actor, assignment)                            ->  [Regrade], newest first

The commit applies exactly the dry run: the job takes the plan the dry run kept (grader.service.regrade_store:
its outcomes, and the values it read of every row) and refuses, changing nothing, unless every row still holds
those values and the regrade's terms (the manual scores, the set's items, points and late policy) are the same;
it grades nothing again. Where no plan is kept (expired, or kept on another host) it plans again over the rows
the dry run read (the plan's ids), grading each, and refuses unless the fingerprint is the dry run's. It then
writes in batches, each in a transaction of its own: the submissions' new score, points, feedback and mistakes,
and a RegradeChange row per submission keeping the old ones. A commit delivered again (its worker killed) checks
the rows it wrote already against their history, so the check still holds, and skips them: it applies once.
Student submissions stored meanwhile are not in the plan and never touched; each batch locks its own rows
(SELECT ... FOR UPDATE on PostgreSQL) and leaves any that moved since the plan, reporting them.
"""

from __future__ import annotations

import json
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from itertools import islice
from typing import Any

from flask import current_app
from sqlalchemy import (
    ARRAY,
    JSON,
    Column,
    Float,
    Integer,
    MetaData,
    Table,
    Text,
    any_,
    bindparam,
    cast,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import OperationalError

from grader.errors import ServiceError
from grader.jobs.progress import Progress, start_job
from grader.lti.outbox import score_changed
from grader.models import Assignment, Job, Regrade, RegradeChange, Submission, User, db, utcnow
from grader.service import regrade_store
from grader.service.limits import earned_points
from grader.service.manual_scores import check_reason
from grader.service.regrade import (
    Entry,
    RegradeRequest,
    collector_waits,
    compute_plan,
    read_token,
    require_instructor,
)
from grader.service.regrade_check import mistakes_of, verified_plan
from grader.service.regrade_jobs import job_queue

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
    # commits the regrade with the job; on the grading queue where only grading workers grade code (a commit
    # whose plan is no longer kept grades again)
    job = start_job("regrade", actor, {"regrade_id": regrade_id}, queue=job_queue(assignment, request))
    regrade = db.session.get(Regrade, regrade_id)
    regrade.job_id = job.id
    db.session.commit()
    return regrade


def apply_regrade(regrade_id: int, progress: Progress) -> dict[str, Any]:
    """The job: take the dry run's kept plan (or plan again), check it against the rows, write in batches."""
    regrade = db.session.get(Regrade, regrade_id)
    if regrade is None:
        progress.fail([f"no regrade {regrade_id}"])
    if regrade.state == "committed":
        return dict(regrade.counts or {})  # applied already: a job delivered once more does nothing
    if regrade.state != "queued":
        progress.fail([f"regrade {regrade_id} is {regrade.state}"])
    assignment = regrade.assignment
    request = RegradeRequest.from_params(regrade.params)
    # what this regrade's commit wrote already (a job delivered again): the values from before, the feedback as
    # its JSON text (as the dry run read it: its digest is in the fingerprint)
    written = {c.submission_id: c for c in db.session.execute(
        select(RegradeChange.submission_id, RegradeChange.old_score, RegradeChange.old_points,
               RegradeChange.old_mistakes, RegradeChange.old_version_id,
               cast(RegradeChange.old_feedback, Text).label("old_feedback"))
        .where(RegradeChange.regrade_id == regrade_id))}
    ids = list(regrade.submission_ids)
    progress.set_total(2 * len(ids))  # check (or plan) every row, then write (or pass) every row
    with collector_waits():
        kept = regrade_store.fetch(regrade.fingerprint, assignment.id, ids)
        if kept is not None:  # the dry run's outcomes, if every row still holds what it read
            plan = verified_plan(assignment, request, regrade.fingerprint, kept, written)
    if kept is not None:
        progress.step(count=len(ids))
    else:  # not kept (expired, or kept on another host): grade every row again, and compare the fingerprints
        plan = compute_plan(assignment, request, ids=ids, restore=written, on_progress=lambda n: progress.step(count=n))
        if plan.fingerprint != regrade.fingerprint or len(plan.submission_ids) != len(ids):
            plan = None
    if plan is None:
        _refuse(regrade, STALE)
        progress.fail([STALE])
    changed = plan.changed
    progress.step(count=len(ids) - len(changed))  # rows that stay as they are
    moved: list[int] = []
    batches = [changed[start:start + BATCH] for start in range(0, len(changed), BATCH)]
    try:
        for batch, left in _written(regrade_id, batches, written):
            moved += left
            progress.step(count=len(batch))
    except BatchFailed as failed:  # for good: what was written goes back, and the regrade is refused
        db.session.rollback()
        cause = failed.__cause__
        _refuse(db.session.get(Regrade, regrade_id), f"the commit failed ({type(cause).__name__}): nothing was "
                "changed")
        raise cause from None
    regrade = db.session.get(Regrade, regrade_id)
    counts = plan.counts()
    counts.update(changed=counts["changed"] - len(moved), moved_since=len(moved),
                  lms_resend=[t.username for t in plan.totals],
                  outcomes="the dry run's" if kept is not None else "graded again")
    regrade.state, regrade.counts, regrade.committed_at = "committed", counts, utcnow()
    score_changed(assignment)  # the LMS's gradebook hears of the new scores (sent only where they changed)
    db.session.commit()
    return counts


_SUBMISSIONS, _HISTORY = Submission.__table__, RegradeChange.__table__
# A batch's new values, loaded into a temporary table (COPY on PostgreSQL, one executemany elsewhere) so that
# the history and the submissions are each written by one statement that joins it: no statement per row.
# On PostgreSQL it empties itself at each commit (as TRUNCATE does: no dead rows piling up on a pooled connection).
_BATCH_TABLE = Table("regrade_batch", MetaData(), Column("submission_id", Integer, primary_key=True),
                     Column("score", Float), Column("points", Float), Column("mistakes", JSON),
                     Column("feedback", JSON), Column("version_id", Integer), prefixes=["TEMPORARY"],
                     postgresql_on_commit="DELETE ROWS")
_NEW = _BATCH_TABLE.c
# The history: the values each submission had, copied by the database (they never travel through Python).
_COPY_HISTORY = insert(_HISTORY).from_select(
    ["regrade_id", "submission_id", "user_id", "old_score", "old_points", "old_feedback", "old_mistakes",
     "old_version_id", "new_score", "new_points", "new_mistakes", "new_version_id"],
    select(bindparam("regrade_id", type_=Integer), _SUBMISSIONS.c.id, _SUBMISSIONS.c.user_id, _SUBMISSIONS.c.score,
           _SUBMISSIONS.c.points, _SUBMISSIONS.c.feedback, _SUBMISSIONS.c.mistakes, _SUBMISSIONS.c.exercise_version_id,
           _NEW.score, _NEW.points, _NEW.mistakes, _NEW.version_id)
    .where(_SUBMISSIONS.c.id == _NEW.submission_id))
_APPLY = update(_SUBMISSIONS).where(_SUBMISSIONS.c.id == _NEW.submission_id).values(
    score=_NEW.score, points=_NEW.points, feedback=_NEW.feedback, mistakes=_NEW.mistakes,
    exercise_version_id=_NEW.version_id)


class BatchFailed(Exception):
    """A batch's write failed, not for the database being away (OperationalError: the job starts over once it is
    back, and goes on from what it wrote)."""


def _refuse(regrade: Regrade, reason: str) -> None:
    """Refused: and where this commit had written batches already (a job delivered again after its worker died,
    or a batch that failed), they are put back first, so that a refused regrade changed nothing."""
    restored = _put_back(regrade)
    regrade.state, regrade.counts = "refused", {"reason": reason, **({"put_back": restored} if restored else {})}
    if restored:
        score_changed(regrade.assignment)
    db.session.commit()


def _written(regrade_id: int, batches: list[list[Entry]], written: dict[int, Any]) -> Iterator[tuple[list[Entry],
                                                                                                  list[int]]]:
    """Write the batches, each in a transaction of its own, and yield each (batch, ids left) once written. On
    PostgreSQL REGRADE_WRITERS of them at a time, each on a connection of its own: the database's work for one
    batch (most of a regrade's time) goes on on another core while this process prepares the next. Elsewhere
    one at a time, in this session (SQLite has one writer), each committed with its progress step."""
    todo = [[e for e in batch if e.submission_id not in written] for batch in batches]
    writers = int(current_app.config.get("REGRADE_WRITERS", 2))
    if db.session.get_bind().dialect.name != "postgresql" or writers < 2 or len(batches) < 2:
        for batch, entries in zip(batches, todo, strict=True):
            with _failing_for_good():
                left = _write(regrade_id, entries)
            yield batch, left  # committed with the progress step that counts it
        return
    app = current_app._get_current_object()

    def write_apart(entries: list[Entry]) -> list[int]:
        with app.app_context():  # a session (and connection) of this thread's own
            try:
                left = _write(regrade_id, entries)
                db.session.commit()
                return left
            finally:
                db.session.remove()

    work = iter(zip(batches, todo, strict=True))
    with ThreadPoolExecutor(max_workers=writers, thread_name_prefix="regrade-writer") as pool:
        # as many batches in hand as writers (no more: a job stopped half-way leaves at most these written)
        pending = deque((batch, pool.submit(write_apart, entries)) for batch, entries in islice(work, writers))
        while pending:
            batch, future = pending.popleft()
            with _failing_for_good():
                left = future.result()
            following = next(work, None)
            if following is not None:
                pending.append((following[0], pool.submit(write_apart, following[1])))
            yield batch, left


@contextmanager
def _failing_for_good() -> Iterator[None]:
    try:
        yield
    except OperationalError:
        raise
    except Exception as exc:
        raise BatchFailed() from exc


def _write(regrade_id: int, entries: list[Entry]) -> list[int]:
    """One batch: lock its rows, leave any that moved since the plan, load the new values of the rest, write
    their history, then the rows themselves. The ids left."""
    if not entries:
        return []
    connection = db.session.connection()  # Core, not the ORM: nothing of these rows is in the session
    postgresql = connection.dialect.name == "postgresql"
    if postgresql:
        # A batch's commit need not wait for the disk: the regrade's own end does (its record, committed with
        # the default), which makes every batch before it durable too; and a database that crashed before it
        # lost at most some batches of a regrade still "queued", which its job, delivered again, writes.
        connection.execute(text("SET LOCAL synchronous_commit TO OFF"))
    ids = [e.submission_id for e in entries]
    # the batch's ids as one array on PostgreSQL (a thousand bound parameters cost more than the lookup)
    wanted = (Submission.id == any_(bindparam("ids", ids, type_=ARRAY(Integer))) if postgresql
              else Submission.id.in_(ids))
    current = {row.id: row for row in connection.execute(
        select(Submission.id, Submission.score, Submission.points, cast(Submission.mistakes, Text).label("mistakes"),
               Submission.exercise_version_id).where(wanted).order_by(Submission.id).with_for_update())}
    moved, kept, memo = [], [], {}
    for e in entries:
        row = current.get(e.submission_id)
        if row is None or (row.score, row.points, mistakes_of(row.mistakes, memo), row.exercise_version_id) != (
                e.old_score, e.old_points, e.old_mistakes, e.old_version_id):
            moved.append(e.submission_id)
        else:
            kept.append(e)
    if kept:
        _BATCH_TABLE.create(connection, checkfirst=True)  # once per connection (temporary: its own)
        if not postgresql:
            connection.execute(_BATCH_TABLE.delete())
        _load(connection, kept, postgresql)
        if postgresql:
            # PostgreSQL keeps no statistics of a temporary table by itself: without them it guesses the batch
            # large and joins it to every submission by a scan of the whole table, at every batch
            connection.execute(text("ANALYZE regrade_batch"))
        connection.execute(_COPY_HISTORY, {"regrade_id": regrade_id})
        connection.execute(_APPLY)
    return moved


def _load(connection: Any, entries: list[Entry], postgresql: bool) -> None:
    """The batch's new values into the temporary table, the JSON as text (the feedback a dry run kept is text
    already, never decoded here): COPY on PostgreSQL, else one executemany of the driver's own (SQLite's JSON
    is text: nothing for SQLAlchemy to convert)."""
    columns = "submission_id, score, points, mistakes, feedback, version_id"
    rows = [(e.submission_id, e.new_score, e.new_points, json.dumps(e.new_mistakes),
             e.new_feedback if isinstance(e.new_feedback, str) else json.dumps(e.new_feedback), e.new_version_id)
            for e in entries]
    if postgresql:
        with connection.connection.driver_connection.cursor() as cursor, cursor.copy(
                f"COPY regrade_batch ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    else:
        connection.exec_driver_sql(f"INSERT INTO regrade_batch ({columns}) VALUES (?, ?, ?, ?, ?, ?)", rows)


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
    # a later regrade committed (undo it first), or committing now (its job not finished: wait for it), read
    # or wrote the rows this undo would put back
    later = db.session.execute(select(Regrade.id, Regrade.state).outerjoin(Job, Job.id == Regrade.job_id).where(
        Regrade.assignment_id == regrade.assignment_id, Regrade.id > regrade.id,
        (Regrade.state == "committed") | ((Regrade.state == "queued") & Job.state.in_(("queued", "running")))
    ).order_by(Regrade.id)).first()
    if later is not None:
        raise ServiceError(409, "later_regrade", f"regrade {later.id} of this set came after: "
                           + ("undo it first" if later.state == "committed" else "wait till its commit is over"))
    restored = _put_back(regrade)
    regrade.state, regrade.undone_at, regrade.undone_by = "undone", utcnow(), actor.id
    score_changed(regrade.assignment)  # the LMS's gradebook hears of the restored scores
    db.session.commit()
    return restored


def _put_back(regrade: Regrade) -> int:
    """Every submission the regrade wrote back as its history has it (uncommitted). How many."""
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
