"""Nothing lost, nothing stored twice: a worker killed with SIGKILL in the middle of a burst, its unacknowledged
job delivered again to a new worker; a submission whose job was never sent (or was lost) sent again by the
periodic task; a second delivery of a graded submission stores nothing."""

from __future__ import annotations

import time
from collections import defaultdict
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from grader import service
from grader.jobs import TASK_GRADE, TASK_REQUEUE
from grader.models import Submission, db, utcnow
from grader.service.queued import queued_submission
from tests.jobs.conftest import ONE_BACKEND, RELU_RIGHT, code_course, start_worker, wait_graded

pytestmark = pytest.mark.celery

BURST = 50


def graded_count() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(Submission).where(Submission.status == "graded"))


def check_all_graded_once(rows: list[Submission], students: int, per_student: int) -> None:
    assert len(rows) == students * per_student  # each stored once: no extra rows, none missing
    assert {s.status for s in rows} == {"graded"} and all(s.score == 1.0 for s in rows)
    attempts = defaultdict(list)
    for s in rows:
        attempts[s.user_id].append(s.attempt)
    assert all(sorted(a) == list(range(1, per_student + 1)) for a in attempts.values()), attempts


@ONE_BACKEND
def test_kill_9_mid_burst_then_a_new_worker_grades_every_submission_once(jobs_app, deployment, workers, tmp_path):
    assignment, users = code_course(students=5)
    # The burst is accepted (queued in Redis) before the worker starts, so that the kill lands mid-burst however
    # fast the worker grades or however slowly this test polls on a loaded machine.
    ids = [service.submit(users[i % 5], assignment, code=RELU_RIGHT).id for i in range(BURST)]
    assert len(set(ids)) == BURST
    first = start_worker(workers, deployment, tmp_path)
    deadline = time.monotonic() + 60
    while graded_count() < 1:  # mid-burst: some graded, the rest still queued
        assert time.monotonic() < deadline, first.text()[-2000:]
        time.sleep(0.01)
    first.kill9()
    left = BURST - graded_count()
    assert left > 0, "the burst was over before the kill"
    start_worker(workers, deployment, tmp_path)
    rows = wait_graded(timeout=90)
    check_all_graded_once(rows, students=5, per_student=BURST // 5)


@ONE_BACKEND
def test_a_stale_queued_submission_is_sent_again_and_a_repeat_is_a_no_op(jobs_app, deployment, workers, tmp_path):
    assignment, (student,) = code_course()
    item = assignment.single
    version = item.exercise.current
    seed = service.variant_for(student, item.exercise)[0].seed
    columns = {"assignment_id": assignment.id, "item_id": item.id, "user_id": student.id,
               "exercise_version_id": version.id, "seed": seed, "code": RELU_RIGHT, "late": False}
    # Accepted an hour ago while Redis was down (its job never sent), and one accepted just now (not yet due).
    stale = queued_submission(attempt=1, created_at=utcnow() - timedelta(hours=1), **columns)
    recent = queued_submission(attempt=2, created_at=utcnow(), **columns)
    db.session.add_all([stale, recent])
    db.session.commit()
    stale_id, recent_id = stale.id, recent.id
    worker = start_worker(workers, deployment, tmp_path)
    celery = jobs_app.extensions["celery"]
    assert celery.tasks[TASK_REQUEUE].apply().get() == 1  # the beat's task, sent from here: the stale one only
    rows = {s.id: s for s in wait_graded([stale_id])}
    assert rows[stale_id].status == "graded" and rows[stale_id].score == 1.0
    assert rows[recent_id].status == "queued"
    stored = (rows[stale_id].feedback, rows[stale_id].grading_ms)

    # A second delivery of the graded submission (a resend that crossed the first): the worker stores nothing.
    celery.tasks[TASK_GRADE].apply_async((stale_id,), queue=jobs_app.config["GRADING_QUEUE"])
    deadline = time.monotonic() + 30
    while worker.text().count("gradgate.grade_submission[") < 4:  # received + succeeded, twice
        assert time.monotonic() < deadline, worker.text()[-2000:]
        time.sleep(0.1)
    assert "succeeded" in worker.text().rsplit("gradgate.grade_submission[", 1)[1]
    db.session.expire_all()
    again = db.session.get(Submission, stale_id)
    assert (again.feedback, again.grading_ms) == stored and again.attempt == 1
    assert db.session.scalar(select(func.count()).select_from(Submission)) == 2
