"""The embedded default needs no broker: without CELERY_BROKER_URL the same task code runs in the process that
starts it (Celery's eager mode), for a catalogue import job (with the CLI printing its progress) and for code
graded with GRADING_BACKEND=celery (stored as queued, then graded before the request answers)."""

from __future__ import annotations

from sqlalchemy import select

from grader.jobs.models import Job
from grader.jobs.progress import start_job
from grader.models import Submission, db
from tests.api.conftest import bearer
from tests.jobs.conftest import RELU_RIGHT, code_course


def test_a_job_runs_in_process_without_a_broker_and_the_cli_prints_its_progress(app):
    assert app.config["CELERY_BROKER_URL"] is None and app.extensions["celery"].conf.task_always_eager
    result = app.test_cli_runner().invoke(args=["jobs", "import-catalogue"])
    assert result.exit_code == 0, result.output
    job = db.session.scalar(select(Job))
    assert job.state == "done" and job.done == job.total >= 10 and job.result == {"created": job.total}
    assert f"job {job.id} catalogue_import [done] {job.total}/{job.total} (100%)" in result.output
    assert f"{job.total} created" in result.output
    shown = app.test_cli_runner().invoke(args=["jobs", "show", str(job.id)])
    assert shown.exit_code == 0 and "[done]" in shown.output
    missing = app.test_cli_runner().invoke(args=["jobs", "show", "999"])
    assert missing.exit_code != 0 and "no job 999" in missing.output
    again = start_job("catalogue_import", None, {"path": app.config["EXERCISES_DIR"]})
    assert again.state == "done" and again.result == {"unchanged": job.total}


def test_code_graded_by_the_task_in_process_without_a_broker(app, pool):
    app.config["GRADING_BACKEND"] = "celery"
    assignment, (student,) = code_course(attempt_limit=2)
    response = app.test_client().post(f"/api/v1/assignments/{assignment.id}/submissions",
                                      json={"code": RELU_RIGHT}, headers=bearer(student.username))
    assert response.status_code == 201, response.text
    body = response.get_json()
    assert body["status"] == "graded" and body["score"] == 1.0 and body["attempt"] == 1
    stored = db.session.get(Submission, body["id"])
    assert stored.status == "graded" and stored.grading_ms > 0
