"""Regrade with a dry run (grader.service.regrade, regrade_commit): the dry run changes no row of any table; the
commit applies exactly what the dry run said, once (also when started again after dying mid-way); undo
restores every score and feedback; manual scores and "never lower" keep submissions; a changed row refuses the
commit; another version regrades only where it draws the same numbers."""

from __future__ import annotations

import copy

import pytest
from sqlalchemy import func, select

from grader import authoring, service
from grader.errors import ServiceError
from grader.jobs.models import Job
from grader.jobs.progress import JobRefused, Progress
from grader.models import Regrade, RegradeChange, Submission, db
from grader.service import regrade_commit
from grader.service.regrade import KEPT_NEVER_LOWER, KEPT_OVERRIDDEN, NUMBERS_DIFFER, check_request, dry_run
from grader.service.regrade_commit import apply_regrade, commit_regrade, undo_regrade
from tests.service.regrade_world import (
    answers_for,
    build,
    documents,
    exercise,
    forget_kept_plans,
    snapshot,
    stored_submissions,
)

LOOSER = {"rtol": 0.25}


@pytest.fixture
def world(app):
    return build(app.config["EXERCISES_DIR"])


def committed(world, request, reason="tolerance too tight"):
    plan = dry_run(world.teacher, world.assignment, request)
    regrade = commit_regrade(world.teacher, world.assignment, request, plan.token(), reason)
    db.session.expire_all()
    return plan, db.session.get(Regrade, regrade.id)


def test_a_dry_run_changes_no_row_and_says_what_would_change(world):
    request = check_request(world.assignment, exercise="gate-multiply", change="tolerance", tolerance=LOOSER)
    before = snapshot()
    plan = dry_run(world.teacher, world.assignment, request)
    assert snapshot() == before  # every table, every row
    report = plan.report()
    # "three" was 20% off (wrong at 1%): right at 25%; "manual" too, but a manual score wins; the others stay
    # right (their feedback now says 25%: a change too, of feedback only, no score moves)
    assert report["counts"]["scores_move"] == 1 and report["counts"][KEPT_OVERRIDDEN] == 1
    assert report["summary"] == "would change 3 submissions of 3 students"
    moved = {e["user"]: e for e in report["entries"] if e["old_score"] != e["new_score"]}
    assert set(moved) == {"three", "manual"}
    assert (moved["three"]["old_score"], moved["three"]["new_score"]) == (0.5, 1.0)
    assert (moved["three"]["old_points"], moved["three"]["new_points"]) == (2.0, 4.0)
    assert moved["manual"]["outcome"] == KEPT_OVERRIDDEN and report["kept_overridden"] == ["manual"]
    assert report["totals"] == [{"user": "three", "old": 2.0, "new": 4.0}] and report["lms_resend"] == ["three"]


def test_commit_applies_exactly_the_dry_run_once_and_undo_restores_everything(world):
    before = stored_submissions()
    request = check_request(world.assignment, exercise="gate-multiply", change="tolerance", tolerance=LOOSER)
    plan, regrade = committed(world, request)
    assert regrade.state == "committed" and regrade.reason == "tolerance too tight"
    assert regrade.created_by == world.teacher.id and regrade.committed_at is not None
    assert regrade.counts["changed"] == len(plan.changed) == 3 and regrade.counts["lms_resend"] == ["three"]
    after = stored_submissions()
    changed = {e.submission_id: e for e in plan.changed}
    for sid, row in after.items():
        if sid in changed:
            e = changed[sid]
            assert row[:2] == (e.new_score, e.new_points) and row[3] == e.new_mistakes and row[2] == e.new_feedback
        else:
            assert row == before[sid]
    history = list(db.session.scalars(select(RegradeChange).where(RegradeChange.regrade_id == regrade.id)))
    assert {h.submission_id for h in history} == set(changed)
    assert all((h.old_score, h.old_points, h.old_feedback) == before[h.submission_id][:3] for h in history)
    three = world.students["three"]
    assert service.gradebook_cell(world.assignment, three).points == 4.0  # the gradebook shows it
    # The job delivered again: nothing more happens.
    job = Job(kind="regrade", state="running", done=0, errors=[], params={"regrade_id": regrade.id})
    db.session.add(job)
    db.session.commit()
    assert apply_regrade(regrade.id, Progress(job)) == regrade.counts
    assert stored_submissions() == after
    assert db.session.scalar(select(func.count()).select_from(RegradeChange)) == 3

    assert undo_regrade(world.teacher, regrade) == 3
    assert stored_submissions() == before and db.session.get(Regrade, regrade.id).state == "undone"
    assert service.gradebook_cell(world.assignment, three).points == 2.0
    with pytest.raises(ServiceError) as refused:
        undo_regrade(world.teacher, regrade)
    assert refused.value.status == 409


class Killed(Exception):
    pass


def died_after_its_first_batch(world, request, plan, monkeypatch) -> tuple[Regrade, Job]:
    """The plan committed in batches of one, its job "killed" once the first batch is written: one history row."""
    monkeypatch.setattr(regrade_commit, "BATCH", 1)
    monkeypatch.setattr(regrade_commit, "start_job", lambda kind, user, params, queue=None: _job(params))
    regrade = commit_regrade(world.teacher, world.assignment, request, plan.token(), "grader fixed")
    first_batch = 2 * len(plan.entries) - len(plan.changed) + 1  # checked all, passed the rest, wrote one

    class Dies(Progress):
        def step(self, label=None, error=None, count=1):
            super().step(label, error, count)
            if self.job.done >= first_batch:
                raise Killed

    job = db.session.get(Job, regrade.job_id)
    with pytest.raises(Killed):
        apply_regrade(regrade.id, Dies(job))
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(RegradeChange)) == 1
    return regrade, job


@pytest.mark.parametrize("kept", [True, False], ids=["kept-plan", "graded-again"])
def test_a_commit_that_died_mid_way_applies_once_when_started_again(world, app, monkeypatch, kept):
    # one batch at a time, in this session (the writers of PostgreSQL are killed for real in
    # tests/jobs/test_regrade_job.py); with the dry run's kept plan, and without (the commit grades again)
    app.config["REGRADE_WRITERS"] = 1
    request = check_request(world.assignment, change="grader")
    # a grader fix: pretend the stored feedback was an older grader's (its message text), so all change
    for sub in db.session.scalars(select(Submission)):
        sub.feedback = {**sub.feedback, "message": "old grader"}
    db.session.commit()
    before = stored_submissions()
    plan = dry_run(world.teacher, world.assignment, request)
    assert len(plan.changed) == 3  # the manual student's is kept
    if not kept:
        forget_kept_plans(app)
    regrade, job = died_after_its_first_batch(world, request, plan, monkeypatch)
    counts = apply_regrade(regrade.id, Progress(job))  # started again: the fingerprint still holds
    assert counts["changed"] == 3 and db.session.get(Regrade, regrade.id).state == "committed"
    assert counts["outcomes"] == ("the dry run's" if kept else "graded again")
    history = list(db.session.scalars(select(RegradeChange)))
    assert len(history) == 3 and all(h.old_feedback == before[h.submission_id][2] for h in history)
    assert all(stored_submissions()[h.submission_id][2]["message"] != "old grader" for h in history)


@pytest.mark.parametrize("kept", [True, False], ids=["kept-plan", "graded-again"])
def test_a_restarted_commit_refused_puts_back_what_it_wrote(world, app, monkeypatch, kept):
    """Its worker died after a batch; before it starts again, a row not yet written moves: refused, and the batch
    written goes back (a refused regrade changed nothing; none but a committed one can be undone)."""
    app.config["REGRADE_WRITERS"] = 1
    request = check_request(world.assignment, exercise="gate-multiply", change="tolerance", tolerance=LOOSER)
    before = stored_submissions()
    plan = dry_run(world.teacher, world.assignment, request)
    if not kept:
        forget_kept_plans(app)
    regrade, job = died_after_its_first_batch(world, request, plan, monkeypatch)
    last = db.session.get(Submission, plan.changed[-1].submission_id)  # not written yet: it moves
    last.points += 0.5
    db.session.commit()
    before[last.id] = stored_submissions()[last.id]
    with pytest.raises(JobRefused):
        apply_regrade(regrade.id, Progress(job))
    record = db.session.get(Regrade, regrade.id)
    assert record.state == "refused" and record.counts["put_back"] == 1
    assert stored_submissions() == before


def test_a_batch_that_fails_puts_back_what_was_written(world, app, monkeypatch):
    app.config["REGRADE_WRITERS"] = 1
    request = check_request(world.assignment, exercise="gate-multiply", change="tolerance", tolerance=LOOSER)
    before = stored_submissions()
    plan = dry_run(world.teacher, world.assignment, request)
    monkeypatch.setattr(regrade_commit, "BATCH", 1)
    write, calls = regrade_commit._write, {"n": 0}

    def fails_the_second_time(regrade_id, entries):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk full, say")
        return write(regrade_id, entries)

    monkeypatch.setattr(regrade_commit, "_write", fails_the_second_time)
    regrade = commit_regrade(world.teacher, world.assignment, request, plan.token(), "looser")  # eager job
    db.session.expire_all()
    job, record = db.session.get(Job, regrade.job_id), db.session.get(Regrade, regrade.id)
    assert job.state == "failed" and "RuntimeError" in job.errors[0]["message"]
    assert record.state == "refused" and "the commit failed (RuntimeError)" in record.counts["reason"]
    assert record.counts["put_back"] == 1 and stored_submissions() == before


def _job(params):
    job = Job(kind="regrade", state="queued", done=0, errors=[], params=params)
    db.session.add(job)
    db.session.commit()
    return job


def test_never_lower_keeps_a_lower_score_and_overrides_are_kept(world):
    stricter = {"rtol": 0.001}  # "half" was 0.8% off: right at 1%, wrong at 0.1% (and its 5× rounding band)
    request = check_request(world.assignment, exercise="gate-multiply", change="tolerance", tolerance=stricter,
                            never_lower=True)
    report = dry_run(world.teacher, world.assignment, request).report()
    kept = {e["user"]: e for e in report["entries"] if e["outcome"] == KEPT_NEVER_LOWER}
    assert set(kept) == {"half"} and (kept["half"]["old_score"], kept["half"]["new_score"]) == (1.0, 0.5)
    assert report["lms_resend"] == []
    half = world.students["half"]
    _, regrade = committed(world, request, "stricter")
    assert service.gradebook_cell(world.assignment, half).points == 4.0  # kept
    undo_regrade(world.teacher, regrade)
    lowered = check_request(world.assignment, exercise="gate-multiply", change="tolerance", tolerance=stricter)
    plan, _ = committed(world, lowered, "stricter")
    assert plan.report()["lms_resend"] == ["half"]
    assert service.gradebook_cell(world.assignment, half).points == 2.0
    manual = world.students["manual"]
    assert service.gradebook_cell(world.assignment, manual).points == 5.0  # overridden: still the manual score


def test_a_commit_refuses_when_a_row_changed_and_leaves_new_submissions_alone(world):
    request = check_request(world.assignment, exercise="gate-multiply", change="tolerance", tolerance=LOOSER)
    plan = dry_run(world.teacher, world.assignment, request)
    # A student submits after the dry run: not in the plan, untouched, and no reason to refuse.
    three = world.students["three"]
    late = service.submit(three, world.assignment, exercise="gate-multiply",
                          answers=answers_for(three, world.assignment, 0.2))
    late_row = (late.id, late.score, late.feedback)
    regrade = commit_regrade(world.teacher, world.assignment, request, plan.token(), "looser")
    db.session.expire_all()
    assert db.session.get(Regrade, regrade.id).state == "committed"
    fresh = db.session.get(Submission, late_row[0])
    assert (fresh.id, fresh.score, fresh.feedback) == late_row
    # A manual score set after a dry run moves the fingerprint: refused, nothing changed.
    plan = dry_run(world.teacher, world.assignment, check_request(world.assignment, change="grader"))
    service.set_manual_score(world.teacher, world.assignment, "right", 1, "late work")
    before = stored_submissions()
    refused = commit_regrade(world.teacher, world.assignment, check_request(world.assignment, change="grader"),
                             plan.token(), "grader fixed")
    db.session.expire_all()
    job = db.session.get(Job, refused.job_id)
    assert job.state == "failed" and "changed since the dry run" in job.errors[0]["message"]
    assert db.session.get(Regrade, refused.id).state == "refused" and stored_submissions() == before


def test_another_version_regrades_only_where_it_draws_the_same_numbers(world, app):
    multiply = exercise("gate-multiply")
    same = documents(app.config["EXERCISES_DIR"])["gate-multiply"]
    same["tolerance"] = LOOSER  # the same `version: 1` in the document: the same numbers for every seed
    authoring.save_exercise(same)
    other = copy.deepcopy(same)
    other["version"] = 2  # drawn anew: other numbers
    authoring.save_exercise(other)
    db.session.commit()
    request = check_request(world.assignment, exercise="gate-multiply", change="version", version=2)
    report = dry_run(world.teacher, world.assignment, request).report()
    assert report["counts"]["scores_move"] == 1 and report["counts"].get(NUMBERS_DIFFER, 0) == 0
    redrawn = check_request(world.assignment, exercise="gate-multiply", change="version", version=3)
    report = dry_run(world.teacher, world.assignment, redrawn).report()
    assert report["counts"]["changed"] == 0
    assert report["numbers_differ"] == sorted(world.students)  # each student named, their submissions left
    _, regrade = committed(world, request, "new version")
    versions = {s.exercise_version_id for s in db.session.scalars(select(Submission).where(
        Submission.item_id == world.assignment.items[0].id, Submission.user_id != world.students["manual"].id))}
    assert versions == {next(v.id for v in multiply.versions if v.version == 2)}
    assert regrade.counts["changed"] == 3


def test_only_the_course_instructors_regrade_and_bad_requests_name_the_field(world):
    request = check_request(world.assignment, change="grader")
    for who, status in ((world.ta, 403), (world.students["right"], 403)):
        with pytest.raises(ServiceError) as refused:
            dry_run(who, world.assignment, request)
        assert refused.value.status == status
    bad = [({"change": "magic"}, "change"), ({"exercise": "nope"}, "exercise"),
           ({"change": "tolerance"}, "exercise"),
           ({"change": "tolerance", "exercise": "gate-add", "tolerance": {"rtol": 2}}, "tolerance"),
           ({"change": "version", "exercise": "gate-add", "version": 9}, "version"),
           ({"students": ["nobody"]}, "students")]
    for options, name in bad:
        with pytest.raises(ServiceError) as refused:
            check_request(world.assignment, **options)
        assert refused.value.status == 422 and name in refused.value.errors, options
    with pytest.raises(ServiceError) as refused:
        commit_regrade(world.teacher, world.assignment, request, "not a plan", "why")
    assert refused.value.errors == {"plan": [refused.value.message]}
    chosen = check_request(world.assignment, change="tolerance", exercise="gate-multiply", tolerance=LOOSER,
                           students=["three", "right"])
    report = dry_run(world.teacher, world.assignment, chosen).report()
    assert {e["user"] for e in report["entries"]} == {"three", "right"}


def test_deleting_an_archived_set_deletes_its_regrades_and_their_history(world):
    _, regrade = committed(world, check_request(world.assignment, exercise="gate-multiply", change="tolerance",
                                                tolerance=LOOSER))
    assert db.session.scalar(select(func.count()).select_from(RegradeChange)) == 3
    world.assignment.archived = True
    db.session.commit()
    service.delete_assignment(world.assignment)
    db.session.commit()
    for model in (Regrade, RegradeChange, Submission):
        assert db.session.scalar(select(func.count()).select_from(model)) == 0, model


def test_a_plan_no_dry_run_answered_is_refused_at_once_naming_the_plan(world):
    request = check_request(world.assignment, exercise="gate-multiply", change="tolerance", tolerance=LOOSER)
    token = dry_run(world.teacher, world.assignment, request).token()
    body, signature = token.rsplit(".", 1)
    fingerprint, packed = body.split(".")
    made_up = [
        f"{'0' * 64}.{packed}.{signature}",  # another fingerprint under this plan's mark
        f"{body}.{'0' * 32}",  # a mark of its own
        body,  # no mark (a plan of before marks were made)
        f"{body}.{signature[:-1]}",  # truncated
        f"{body}.{signature}\udc80",  # not text a browser sends
        f"{body}.{signature}.x",
    ]
    before = (db.session.scalar(select(func.count()).select_from(Regrade)),
              db.session.scalar(select(func.count()).select_from(Job)))
    for plan in made_up:
        with pytest.raises(ServiceError) as refused:
            commit_regrade(world.teacher, world.assignment, request, plan, "looser")
        assert refused.value.status == 422 and "plan" in refused.value.errors, plan
    db.session.rollback()
    assert (db.session.scalar(select(func.count()).select_from(Regrade)),
            db.session.scalar(select(func.count()).select_from(Job))) == before  # nothing started


def test_undo_waits_for_a_later_regrade_still_committing(world, monkeypatch):
    looser = check_request(world.assignment, exercise="gate-multiply", change="tolerance", tolerance=LOOSER)
    _, first = committed(world, looser)
    assert first.state == "committed"
    grader = check_request(world.assignment, change="grader")
    plan = dry_run(world.teacher, world.assignment, grader)
    monkeypatch.setattr(regrade_commit, "start_job", lambda kind, user, params, queue=None: _job(params))
    later = commit_regrade(world.teacher, world.assignment, grader, plan.token(), "grader fixed")  # not run yet
    with pytest.raises(ServiceError) as refused:
        undo_regrade(world.teacher, first)
    assert refused.value.status == 409 and f"regrade {later.id}" in refused.value.message
    assert "wait till its commit is over" in refused.value.message
    job = db.session.get(Job, later.job_id)
    job.state = "failed"  # its job ended without committing: nothing of it holds the rows
    db.session.commit()
    assert undo_regrade(world.teacher, first) == 3
