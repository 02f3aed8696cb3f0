"""Long jobs with progress: a catalogue import run by a real worker, its progress read through the API while it
runs (done of total rising), the CLI printing the same job's progress, and a refused job's errors."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from grader.jobs.cli import follow
from grader.jobs.progress import start_job
from grader.models import Exercise, User, db
from tests.api.conftest import bearer
from tests.jobs.conftest import ONE_BACKEND, follow_job, start_worker

pytestmark = pytest.mark.celery


@ONE_BACKEND
def test_progress_is_read_while_a_catalogue_import_runs_on_a_worker(jobs_app, deployment, workers, tmp_path):
    teacher = User(username="teacher", name="Teacher", role="instructor", password_hash="!")
    root = User(username="root", name="Root", role="admin", password_hash="!")
    other = User(username="other", name="Other", role="instructor", password_hash="!")
    db.session.add_all([teacher, root, other])
    db.session.commit()
    client = jobs_app.test_client()
    headers = bearer("teacher")
    start_worker(workers, deployment, tmp_path, queues="default")
    job = start_job("catalogue_import", teacher, {"path": jobs_app.config["EXERCISES_DIR"]})
    url = f"/api/v1/jobs/{job.id}"
    body, seen = follow_job(client, url, headers)
    assert body["state"] == "done", body
    total = body["total"]
    assert total >= 10 and body["done"] == total and body["fraction"] == 1.0 and body["errors"] == []
    assert body["result"] == {"created": total} and body["started_at"] and body["finished_at"]
    running = [done for state, done, _ in seen if state == "running"]
    assert any(0 < done < total for done in running), seen  # read mid-way, from this process, over the API
    assert running == sorted(running)
    assert db.session.scalar(select(Exercise).where(Exercise.slug == "code-relu-backward")) is not None
    # The admin reads it too; another instructor gets 404, as for a job that does not exist.
    assert client.get(url, headers=bearer("root")).status_code == 200
    assert client.get(url, headers=bearer("other")).status_code == 404
    assert client.get("/api/v1/jobs/999999", headers=headers).status_code == 404

    # The same job again (through the CLI's follower): nothing changed, and the lines printed end at done.
    again = start_job("catalogue_import", teacher, {"path": jobs_app.config["EXERCISES_DIR"]})
    lines: list[str] = []
    finished = follow(again.id, echo=lines.append, timeout_s=60)
    assert finished.state == "done" and finished.result == {"unchanged": total}
    assert lines[-1] == f"job {again.id} catalogue_import [done] {total}/{total} (100%)"


    # An invalid catalogue: the job fails with the file's problems, and nothing of it is stored.
    bad = tmp_path / "catalogue"
    bad.mkdir()
    (bad / "broken.yaml").write_text("id: broken\ntitle: [unclosed\n")
    refused = follow(start_job("catalogue_import", teacher, {"path": str(bad)}).id, echo=lambda _: None,
                     timeout_s=60)
    assert refused.state == "failed" and refused.done == 0 and refused.finished_at is not None
    assert any("broken.yaml" in e["message"] for e in refused.errors), refused.errors
    assert db.session.scalar(select(Exercise).where(Exercise.slug == "broken")) is None
