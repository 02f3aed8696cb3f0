"""A regrade's commit applies the plan its dry run kept (grader.service.regrade_store), grading nothing again;
without it (expired, kept on another host, altered in the store, the store down) the commit grades again and
applies the same. Either way a row changed since the dry run refuses the commit and changes nothing."""

from __future__ import annotations

import os
import uuid

import pytest
import redis

from grader.jobs.models import Job
from grader.models import Regrade, Submission, db
from grader.service import regrade as regrade_service
from grader.service import regrade_store
from grader.service.regrade import check_request, dry_run
from grader.service.regrade_commit import commit_regrade
from tests.service.regrade_world import build, forget_kept_plans, kept_files, stored_submissions

LOOSER = {"rtol": 0.25}
KEPT, GRADED_AGAIN = "the dry run's", "graded again"


@pytest.fixture
def world(app):
    return build(app.config["EXERCISES_DIR"])


def commit(world, request, plan) -> Regrade:
    regrade = commit_regrade(world.teacher, world.assignment, request, plan.token(), "tolerance too tight")
    db.session.expire_all()
    return db.session.get(Regrade, regrade.id)


def assert_applied(plan, before) -> None:
    """Every changed submission holds the plan's new values; every other one is as it was."""
    changed = {e.submission_id: e for e in plan.changed}
    assert changed
    for sid, row in stored_submissions().items():
        if sid in changed:
            e = changed[sid]
            assert (row[0], row[1], row[2], row[3]) == (e.new_score, e.new_points, e.new_feedback, e.new_mistakes)
        else:
            assert row == before[sid]


def test_the_commit_applies_the_kept_plan_and_grades_nothing_again(world, app, monkeypatch):
    request = check_request(world.assignment, exercise="gate-multiply", change="tolerance", tolerance=LOOSER)
    before = stored_submissions()
    plan = dry_run(world.teacher, world.assignment, request)
    assert len(kept_files(app)) == 1

    def no_grading(*args, **kwargs):
        raise AssertionError("the commit graded a submission again")

    monkeypatch.setattr(regrade_service, "grade", no_grading)
    regrade = commit(world, request, plan)
    assert regrade.state == "committed" and regrade.counts["outcomes"] == KEPT
    assert regrade.counts["changed"] == len(plan.changed) == 3
    assert regrade.counts["lms_resend"] == ["three"]  # the totals the dry run said would move
    assert_applied(plan, before)


def test_without_a_kept_plan_the_commit_grades_again_and_applies_the_same(world, app):
    request = check_request(world.assignment, exercise="gate-multiply", change="tolerance", tolerance=LOOSER)
    before = stored_submissions()
    plan = dry_run(world.teacher, world.assignment, request)
    forget_kept_plans(app)  # expired, or kept on a host the worker is not
    regrade = commit(world, request, plan)
    assert regrade.state == "committed" and regrade.counts["outcomes"] == GRADED_AGAIN
    assert regrade.counts["changed"] == 3 and regrade.counts["lms_resend"] == ["three"]
    assert_applied(plan, before)


def test_a_kept_plan_altered_in_the_store_is_not_used(world, app):
    request = check_request(world.assignment, exercise="gate-multiply", change="tolerance", tolerance=LOOSER)
    before = stored_submissions()
    plan = dry_run(world.teacher, world.assignment, request)
    (path,) = kept_files(app)
    sealed = bytearray(path.read_bytes())
    sealed[-1] ^= 0xFF  # one bit of the compressed plan: a better score for someone, say
    path.write_bytes(bytes(sealed))
    regrade = commit(world, request, plan)
    assert regrade.counts["outcomes"] == GRADED_AGAIN
    assert_applied(plan, before)


@pytest.mark.parametrize("kept", [True, False], ids=["kept", "not-kept"])
@pytest.mark.parametrize("what", ["points", "feedback"])
def test_a_row_changed_since_the_dry_run_refuses_the_commit(world, app, kept, what):
    request = check_request(world.assignment, exercise="gate-multiply", change="tolerance", tolerance=LOOSER)
    plan = dry_run(world.teacher, world.assignment, request)
    if not kept:
        forget_kept_plans(app)
    # a submission's points moved after the dry run (its set's terms were edited by another route, say), or its
    # feedback alone (another regrade, whose scores did not move)
    moved = db.session.get(Submission, plan.changed[0].submission_id)
    if what == "points":
        moved.points += 0.5
    else:
        moved.feedback = {**moved.feedback, "message": "regraded meanwhile"}
    db.session.commit()
    before = stored_submissions()
    regrade = commit(world, request, plan)
    job = db.session.get(Job, regrade.job_id)
    assert regrade.state == "refused" and job.state == "failed"
    assert "changed since the dry run" in job.errors[0]["message"]
    assert stored_submissions() == before


def test_a_store_that_is_down_loses_nothing(world, app, caplog):
    app.config["REGRADE_PLAN_STORE"] = "redis://127.0.0.1:1/0"  # nothing listens there
    request = check_request(world.assignment, exercise="gate-multiply", change="tolerance", tolerance=LOOSER)
    before = stored_submissions()
    plan = dry_run(world.teacher, world.assignment, request)  # answers all the same
    assert plan.summary() == "would change 3 submissions of 3 students"
    assert "not kept: its commit will grade again" in caplog.text
    regrade = commit(world, request, plan)
    assert regrade.state == "committed" and regrade.counts["outcomes"] == GRADED_AGAIN
    assert_applied(plan, before)


def test_plans_kept_in_redis_are_used_and_expire(world, app):
    prefix = f"test-{uuid.uuid4().hex[:8]}:"
    app.config.update(REGRADE_PLAN_STORE="redis://127.0.0.1:6379/0", CELERY_KEY_PREFIX=prefix,
                      REGRADE_PLAN_TTL_S=600)
    client = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    try:
        request = check_request(world.assignment, exercise="gate-multiply", change="tolerance", tolerance=LOOSER)
        before = stored_submissions()
        plan = dry_run(world.teacher, world.assignment, request)
        (key,) = client.keys(prefix + "*")
        assert key.decode().startswith(prefix + "gradgate:regrade-plan:")
        assert 0 < client.ttl(key) <= 600
        assert regrade_store.fetch(plan.fingerprint, world.assignment.id, plan.submission_ids) is not None
        assert regrade_store.fetch(plan.fingerprint, world.assignment.id + 1, plan.submission_ids) is None
        regrade = commit(world, request, plan)
        assert regrade.counts["outcomes"] == KEPT
        assert_applied(plan, before)
    finally:
        for key in client.keys(prefix + "*"):
            client.delete(key)


def test_an_expired_plan_in_the_folder_is_not_used(world, app):
    request = check_request(world.assignment, exercise="gate-multiply", change="tolerance", tolerance=LOOSER)
    plan = dry_run(world.teacher, world.assignment, request)
    app.config["REGRADE_PLAN_TTL_S"] = 0
    (path,) = kept_files(app)
    old = path.stat().st_mtime - 5
    os.utime(path, (old, old))
    assert regrade_store.fetch(plan.fingerprint, world.assignment.id, plan.submission_ids) is None
    assert commit(world, request, plan).counts["outcomes"] == GRADED_AGAIN


def test_a_plan_kept_in_another_format_is_graded_again(world, app, monkeypatch):
    request = check_request(world.assignment, exercise="gate-multiply", change="tolerance", tolerance=LOOSER)
    before = stored_submissions()
    monkeypatch.setattr(regrade_store, "FORMAT", 0)  # the code before a deploy kept it
    plan = dry_run(world.teacher, world.assignment, request)
    monkeypatch.undo()
    assert regrade_store.fetch(plan.fingerprint, world.assignment.id, plan.submission_ids) is None
    regrade = commit(world, request, plan)
    assert regrade.counts["outcomes"] == GRADED_AGAIN
    assert_applied(plan, before)
