"""A regrade's commit on a real worker: killed with SIGKILL mid-way (some batches written), its job delivered again
to a new worker, which applies the rest; every changed submission has exactly one history row keeping its
values from before, and holds the dry run's new values."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from grader.jobs.models import Job
from grader.models import Regrade, RegradeChange, Submission, db
from grader.service.regrade import check_request, dry_run
from grader.service.regrade_commit import commit_regrade
from tests.jobs.conftest import ONE_BACKEND, start_worker
from tests.service.regrade_world import build

pytestmark = pytest.mark.celery

STUDENTS = 240


def history_count() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(RegradeChange))


@ONE_BACKEND
def test_a_commit_killed_mid_way_applies_once_on_the_next_worker(jobs_app, deployment, workers, tmp_path):
    world = build(jobs_app.config["EXERCISES_DIR"], extra_students=STUDENTS)
    before = {s.id: (s.score, s.points, s.feedback) for s in db.session.scalars(select(Submission))}
    request = check_request(world.assignment, exercise="gate-multiply", change="tolerance", tolerance={"rtol": 0.25})
    plan = dry_run(world.teacher, world.assignment, request)
    changed = {e.submission_id: e for e in plan.changed}
    assert len(changed) == STUDENTS + 3  # the extra students were 20% off too; the manual one is kept
    first = start_worker(workers, deployment, tmp_path, queues="default", REGRADE_BATCH="1")
    regrade = commit_regrade(world.teacher, world.assignment, request, plan.token(), "tolerance too tight")
    deadline = time.monotonic() + 90
    while history_count() < 5:  # mid-way: a few batches of one written
        assert time.monotonic() < deadline, first.text()[-3000:]
        time.sleep(0.01)
    first.kill9()
    written = history_count()
    assert 5 <= written < len(changed), "the commit was over before the kill"
    second = start_worker(workers, deployment, tmp_path, queues="default")
    while True:
        db.session.rollback()
        job = db.session.get(Job, regrade.job_id)
        if job.state in ("done", "failed"):
            break
        assert time.monotonic() < deadline + 60, second.text()[-3000:]
        time.sleep(0.2)
    assert job.state == "done", job.errors
    record = db.session.get(Regrade, regrade.id)
    assert record.state == "committed" and record.counts["changed"] == len(changed)
    history = list(db.session.scalars(select(RegradeChange)))
    assert sorted(h.submission_id for h in history) == sorted(changed)  # each once
    for h in history:
        assert (h.old_score, h.old_points, h.old_feedback) == before[h.submission_id]
    for s in db.session.scalars(select(Submission)):
        if s.id in changed:
            e = changed[s.id]
            assert (s.score, s.points, s.mistakes, s.feedback) == (e.new_score, e.new_points, e.new_mistakes,
                                                                   e.new_feedback)
        else:
            assert (s.score, s.points, s.feedback) == before[s.id]
