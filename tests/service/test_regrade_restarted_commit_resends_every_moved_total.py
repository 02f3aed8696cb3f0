"""A regrade's commit that died mid-way and was started again still names, in its counts' `lms_resend`, every
student whose set total it moved, also those whose rows the first run wrote already (the LMS outbox reads it):
their totals before are those of before the regrade, not of the half-written rows."""

from __future__ import annotations

import pytest

from grader.jobs.models import Job
from grader.jobs.progress import Progress
from grader.models import Regrade, db
from grader.service import regrade_commit
from grader.service.regrade import check_request, dry_run
from grader.service.regrade_commit import apply_regrade, commit_regrade
from tests.service.regrade_world import build


class Killed(Exception):
    pass


@pytest.fixture
def world(app):
    return build(app.config["EXERCISES_DIR"])


def test_a_restarted_commit_resends_the_totals_its_first_run_moved(world, monkeypatch):
    request = check_request(world.assignment, exercise="gate-multiply", change="tolerance", tolerance={"rtol": 0.25})
    plan = dry_run(world.teacher, world.assignment, request)
    assert plan.report()["lms_resend"] == ["three"]  # right, three, half change (in that order); three's score
    monkeypatch.setattr(regrade_commit, "BATCH", 1)

    def queued(kind, user, params, queue=None):
        job = Job(kind=kind, state="queued", done=0, errors=[], params=params)
        db.session.add(job)
        db.session.commit()
        return job

    monkeypatch.setattr(regrade_commit, "start_job", queued)
    regrade = commit_regrade(world.teacher, world.assignment, request, plan.token(), "looser")
    steps = {"n": 0}

    class Dies(Progress):
        def step(self, label=None, error=None, count=1):
            super().step(label, error, count)
            steps["n"] += 1
            if steps["n"] == 4:  # the plan, the rows kept, then right's and three's batches: both written
                raise Killed

    job = db.session.get(Job, regrade.job_id)
    with pytest.raises(Killed):
        apply_regrade(regrade.id, Dies(job))
    db.session.rollback()
    counts = apply_regrade(regrade.id, Progress(job))
    assert db.session.get(Regrade, regrade.id).state == "committed" and counts["changed"] == 3
    assert counts["lms_resend"] == ["three"]
