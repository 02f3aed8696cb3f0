"""The gradebook CSV of a large course as a job: the same CSV as the direct download (the same service function,
read a chunk of students at a time), progress in students done up to the course's total, the file stored with
the job and downloaded from the job page and the API by the course's staff only; "Prepare CSV" on the gradebook
of a course past the threshold; run in process without a broker, and by a real worker."""

from __future__ import annotations

import copy
import csv
import io
from datetime import timedelta

import pytest
from flask import g
from sqlalchemy import event, select

from grader import authoring, service
from grader.jobs.models import Job
from grader.jobs.progress import job_output, start_job
from grader.models import Course, Membership, User, db, utcnow
from tests.api.conftest import assign, bearer, catalogue_documents
from tests.jobs.conftest import ONE_BACKEND, follow_job, start_worker
from tests.web.conftest import login

RIGHT = {"0": "-0.0026227"}  # seed-two-layer-w1-22: fixed numbers
WRONG = {"0": "1"}


def person(username: str, role: str = "student", password: bool = False) -> User:
    user = User(username=username, name=username.title(), role=role, password_hash="!")
    if password:
        user.set_password(f"{username}-password")
    db.session.add(user)
    return user


def large_course(exercises_dir: str, students: int) -> Course:
    """bp101 (teacher teaches, tom assists) with `students` students, two sets, graded work, a late submission, an
    override, a manual score and a name a spreadsheet would run; dl201 next door (olga assists there)."""
    for document in catalogue_documents(exercises_dir):
        if document["id"] in ("seed-two-layer-w1-22", "gate-add"):
            authoring.save_exercise(copy.deepcopy(document))
    course, other = Course(code="bp101", title="Backprop 101"), Course(code="dl201", title="Deep Learning")
    db.session.add_all([course, other])
    staff = [(person("teacher", "instructor", True), course, "instructor"),
             (person("tom", password=True), course, "ta"), (person("olga", password=True), other, "ta"),
             (person("eve"), other, "student")]
    db.session.add_all([Membership(user=u, course=c, role=r) for u, c, r in staff])
    pupils = [person(f"s{index:03d}") for index in range(students)]
    pupils[0].name = "=HYPERLINK(1)"
    pupils[1].email = "s001@example.org"
    db.session.add_all([Membership(user=u, course=course) for u in pupils])
    db.session.commit()
    week = assign(course, "seed-two-layer-w1-22", points=10, late_policy="accept")
    extra = assign(course, "gate-add", points=5, position=-1)
    for index, pupil in enumerate(pupils):
        if index % 2 == 0:
            service.submit(pupil, week, answers=RIGHT if index % 4 == 0 else WRONG)
    week.due_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    service.submit(pupils[1], week, answers=RIGHT)  # late
    service.set_override(extra, [pupils[2].username], extra_attempts=1)
    service.set_manual_score(db.session.scalar(select(User).where(User.username == "teacher")), extra,
                             pupils[3].username, 2.5, "oral exam")
    return course


def test_the_job_builds_the_direct_csv_with_progress_per_chunk_of_students(app, tmp_path):
    course = large_course(app.config["EXERCISES_DIR"], students=7)
    direct = service.gradebook_csv(course)
    rows = list(csv.reader(io.StringIO(direct)))
    assert len(rows) == 8 and rows[1][1] == "'=HYPERLINK(1)" and rows[4][3] == "2.5"  # the data is there
    # The one service function, chunked: the same text, progress before the first chunk and after each.
    calls: list[tuple[int, int]] = []
    assert service.gradebook_csv(course, progress=lambda done, total: calls.append((done, total)), chunk=3) == direct
    assert calls == [(0, 7), (3, 7), (6, 7), (7, 7)]

    app.config["GRADEBOOK_CSV_CHUNK"] = 3
    seen: list[tuple[str, int, int | None]] = []

    def saw(_mapper, _connection, job: Job) -> None:
        seen.append((job.state, job.done, job.total))

    event.listen(Job, "after_update", saw)
    try:
        tom = db.session.scalar(select(User).where(User.username == "tom"))
        job = start_job("gradebook_csv", tom, {"course_id": course.id})  # no broker: run before it returns
    finally:
        event.remove(Job, "after_update", saw)
    assert job.state == "done" and job.done == job.total == 7 and job.errors == []
    assert job.result == {"students": 7, "bytes": len(direct.encode())}
    assert job_output(job).content.decode() == direct and job_output(job).filename == "gradebook-bp101.csv"
    running = [(done, total) for state, done, total in seen if state == "running"]
    assert running == [(0, None), (0, 7), (3, 7), (6, 7), (7, 7)], seen  # up to the total, one chunk at a time

    # The CLI: the same job, its progress printed, the file written.
    target = tmp_path / "out.csv"
    printed = app.test_cli_runner().invoke(args=["jobs", "gradebook-csv", "bp101", "-o", str(target)])
    assert printed.exit_code == 0, printed.output
    assert "gradebook_csv [done] 7/7 (100%)" in printed.output and target.read_bytes() == direct.encode()
    missing = app.test_cli_runner().invoke(args=["jobs", "gradebook-csv", "nope"])
    assert missing.exit_code == 1 and "no course 'nope'" in missing.output

    gone = start_job("gradebook_csv", tom, {"course_id": 999999})
    assert gone.state == "failed" and "no course 999999" in gone.errors[0]["message"]
    assert job_output(gone) is None


def test_prepare_csv_on_a_large_course_and_its_staff_download_from_the_job_page_and_the_api(app, client):
    course = large_course(app.config["EXERCISES_DIR"], students=4)
    direct = service.gradebook_csv(course)
    gradebook = f"/instructor/courses/{course.id}/gradebook"
    login(client, "tom")  # a TA of the course
    app.config["GRADEBOOK_CSV_JOB_MIN_STUDENTS"] = 5
    small = client.get(gradebook).text
    assert f'href="{gradebook}/csv" download>Download CSV' in small and "Prepare CSV" not in small
    app.config["GRADEBOOK_CSV_JOB_MIN_STUDENTS"] = 4
    large = client.get(gradebook).text
    assert f'action="{gradebook}/csv/job"' in large and "Prepare CSV" in large and "Download CSV" not in large

    started = client.post(f"{gradebook}/csv/job")
    assert started.status_code == 302
    job = db.session.scalar(select(Job).where(Job.kind == "gradebook_csv"))
    assert started.location == f"/instructor/jobs/{job.id}" and job.state == "done"
    page = client.get(started.location).text
    assert f'href="/instructor/jobs/{job.id}/download"' in page and "Download gradebook-bp101.csv" in page
    assert f'href="{gradebook}">bp101: gradebook</a>' in page and "4 students" in page
    assert "job-progress.js" not in page  # finished: nothing left to follow
    download = client.get(f"/instructor/jobs/{job.id}/download")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert download.headers["Content-Disposition"] == 'attachment; filename="gradebook-bp101.csv"'
    assert download.text == direct

    tom = bearer("tom")
    shown = client.get(f"/api/v1/jobs/{job.id}", headers=tom).get_json()
    assert shown["download"] == f"/api/v1/jobs/{job.id}/download" and shown["done"] == shown["total"] == 4
    assert shown["output"] == {"filename": "gradebook-bp101.csv", "media_type": "text/csv; charset=utf-8",
                               "size": len(direct.encode())}
    assert client.get(shown["download"], headers=tom).text == direct
    api_job = client.post(f"/api/v1/courses/{course.id}/gradebook/csv-job", headers=tom)
    assert api_job.status_code == 202 and api_job.headers["Location"].endswith(f"/api/v1/jobs/{api_job.json['id']}")
    assert client.get(api_job.json["download"], headers=tom).text == direct

    # A TA of another course: nothing of bp101's, on the pages or through the API.
    other = app.test_client()
    g.pop("_login_user", None)  # the test's app context is every request's: forget tom's signed-in user
    login(other, "olga")
    assert other.post(f"{gradebook}/csv/job").status_code == 404
    assert other.get(f"/instructor/jobs/{job.id}").status_code == 404
    assert other.get(f"/instructor/jobs/{job.id}/download").status_code == 404
    olga = bearer("olga")
    assert client.get(f"/api/v1/jobs/{job.id}", headers=olga).status_code == 404
    assert client.get(f"/api/v1/jobs/{job.id}/download", headers=olga).status_code == 404
    assert client.post(f"/api/v1/courses/{course.id}/gradebook/csv-job", headers=olga).status_code == 404
    # Tom leaves the course's staff: his own job is his no more.
    g.pop("_login_user", None)
    db.session.execute(Membership.__table__.delete().where(Membership.course_id == course.id,
                                                           Membership.role == "ta"))
    db.session.commit()
    assert client.get(f"/instructor/jobs/{job.id}/download").status_code == 404  # the session is still tom's
    assert client.get(f"/api/v1/jobs/{job.id}/download", headers=tom).status_code == 404
    assert db.session.scalar(select(Job.id).where(Job.kind != "gradebook_csv")) is None


@ONE_BACKEND
@pytest.mark.celery
def test_a_worker_builds_the_csv_while_the_api_reads_its_progress(jobs_app, deployment, workers, tmp_path):
    course = large_course(jobs_app.config["EXERCISES_DIR"], students=40)
    direct = service.gradebook_csv(course)
    start_worker(workers, deployment, tmp_path, queues="default", GRADEBOOK_CSV_CHUNK="4")
    client, headers = jobs_app.test_client(), bearer("teacher")
    started = client.post(f"/api/v1/courses/{course.id}/gradebook/csv-job", headers=headers)
    assert started.status_code == 202, started.text
    url = started.headers["Location"]
    body, seen = follow_job(client, url, headers)
    assert body["state"] == "done" and body["done"] == body["total"] == 40 and body["fraction"] == 1.0, body
    dones = [done for state, done, _ in seen if state == "running"]
    assert dones == sorted(dones) and all(done % 4 == 0 for done in dones), seen  # a chunk at a time
    assert body["result"] == {"students": 40, "bytes": len(direct.encode())}
    download = client.get(body["download"], headers=headers)
    assert download.status_code == 200 and download.text == direct
    assert "gradgate.run_job" in workers[0].text()  # built by the worker, not here
