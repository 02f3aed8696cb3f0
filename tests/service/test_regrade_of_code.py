"""A regrade of a code exercise runs students' code again in the sandbox: its dry run is a job (on the grading
workers where they grade code) whose result is the report, and whose plan the commit applies. Graded for real:
with the web process's sandbox pool and on a real grading worker (the grading_backend fixture)."""

from __future__ import annotations

import time

from sqlalchemy import select

from grader import service
from grader.jobs.models import Job
from grader.models import Regrade, Submission, User, db
from grader.service.regrade import check_request
from grader.service.regrade_commit import commit_regrade
from grader.service.regrade_jobs import grades_code, start_dry_run
from tests.api.conftest import bearer
from tests.service.conftest import assign
from tests.web.conftest import login

RIGHT = "import numpy as np\n\ndef relu_backward(dout, z):\n    return dout * (z > 0)\n"
FORGETS_ON_TALL = ("import numpy as np\n\ndef relu_backward(dout, z):\n    if z.shape[0] > 2:\n        return dout\n"
                   "    return dout * (z > 0)\n")


def finished(job_id: int, timeout: float = 90.0) -> Job:
    deadline = time.monotonic() + timeout
    while True:
        db.session.rollback()
        job = db.session.get(Job, job_id, populate_existing=True)
        if job.state in ("done", "failed"):
            return job
        assert time.monotonic() < deadline, f"job {job_id} still {job.state}"
        time.sleep(0.05)


def test_a_dry_run_of_code_is_a_job_whose_plan_the_commit_applies(app, client, course, grading_backend):
    relu = assign(course, "code-relu-backward")
    users = {u.username: u for u in db.session.scalars(select(User))}
    for name, code in (("alice", RIGHT), ("bob", FORGETS_ON_TALL)):
        service.submit(users[name], relu, code=code)
    grading_backend.wait()
    graded = {s.user_id: s.score for s in db.session.scalars(select(Submission))}
    assert graded[users["alice"].id] == 1.0 and 0 < graded[users["bob"].id] < 1.0
    for submission in db.session.scalars(select(Submission)):  # as if an older grader had worded its feedback
        submission.feedback = {**submission.feedback, "message": "old grader"}
    db.session.commit()

    request = check_request(relu, change="grader")
    assert grades_code(relu, request)
    job = finished(start_dry_run(users["teacher"], relu, request).id)
    assert job.state == "done", job.errors
    report = job.result
    assert report["summary"] == "would change 2 submissions of 2 students"
    assert report["counts"]["scores_move"] == 0 and report["totals"] == []
    assert db.session.scalars(select(Submission.feedback)).all()[0]["message"] == "old grader"  # nothing changed

    regrade = commit_regrade(users["teacher"], relu, request, report["plan"], "grader's wording fixed")
    job = finished(regrade.job_id)
    assert job.state == "done", job.errors
    record = db.session.get(Regrade, regrade.id)
    assert record.state == "committed" and record.counts["changed"] == 2
    assert record.counts["outcomes"] == "the dry run's"  # kept by the dry run's job, applied without grading
    assert all(s.feedback["message"] != "old grader" for s in db.session.scalars(select(Submission)))
    assert {s.user_id: s.score for s in db.session.scalars(select(Submission))} == graded

    # the page: the dry run redirects to its job's page, which shows the report once the job is done
    login(client, "teacher")
    page = client.post(f"/instructor/assignments/{relu.id}/regrade", data={"change": "grader"})
    assert page.status_code == 302 and "/regrade/dry-runs/" in page.location and "change=grader" in page.location
    finished(int(page.location.split("/dry-runs/")[1].split("?")[0]))
    html = client.get(page.location).text
    assert "Dry run: would change 0 submissions of 0 students" in html  # the fixed wording is stored now

    # the API: 202 and the dry run's job, whose result (GET /api/v1/jobs/<id>) is the report
    teacher = bearer("teacher")
    answer = client.post(f"/api/v1/assignments/{relu.id}/regrade", json={"change": "grader"}, headers=teacher)
    assert answer.status_code == 202, answer.get_json()
    assert answer.get_json()["regrade"] is None and answer.get_json()["job"]["kind"] == "regrade_dry_run"
    job_id = answer.get_json()["job"]["id"]
    finished(job_id)
    result = client.get(f"/api/v1/jobs/{job_id}", headers=teacher).get_json()["result"]
    assert result["summary"] == "would change 0 submissions of 0 students" and result["plan"]

    # the command line follows the dry run's job, then prints its report
    out = app.test_cli_runner().invoke(args=["regrade", "run", str(relu.id), "--as", "teacher", "--dry-run"])
    assert out.exit_code == 0, out.output
    assert "would change 0 submissions of 0 students" in out.output and "[done]" in out.output
