"""/healthz with a broker: whether it answers, the workers seen and each queue's depth; a worker on a host that
cannot isolate code (started here without CAP_SYS_ADMIN and CAP_SETUID) refuses the grading queue and says why."""

from __future__ import annotations

import socket
import time

import pytest

from grader.models import Submission, db
from tests.api.conftest import bearer
from tests.conftest import app_on
from tests.jobs.conftest import ONE_BACKEND, RELU_RIGHT, Deployment, code_course, start_worker

pytestmark = pytest.mark.celery

NO_ISOLATION = ["setpriv", "--bounding-set=-sys_admin,-setuid,-setgid", "--"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@ONE_BACKEND
def test_a_worker_without_isolation_refuses_grading_and_healthz_shows_the_queue(jobs_app, deployment, workers,
                                                                                 tmp_path):
    assignment, (student,) = code_course()
    client = jobs_app.test_client()
    health = client.get("/healthz").get_json()
    grading, default = jobs_app.config["GRADING_QUEUE"], jobs_app.config["DEFAULT_QUEUE"]
    assert health["status"] == "degraded"  # grading on workers, and none seen
    assert health["jobs"]["broker"] == "ok" and health["jobs"]["workers"] == []
    assert health["jobs"]["queues"] == {grading: 0, default: 0}

    weak = start_worker(workers, deployment, tmp_path, name="weak", wrap=NO_ISOLATION)
    assert "refuses the 'grading' queue: this host cannot isolate submitted code" in weak.text()
    jobs_app.config["SUBMIT_WAIT_S"] = 0
    queued = client.post(f"/api/v1/assignments/{assignment.id}/submissions", json={"code": RELU_RIGHT},
                         headers=bearer(student.username))
    assert queued.status_code == 202
    time.sleep(2)  # time enough for a worker that consumed the queue to have graded it
    health = client.get("/healthz").get_json()
    assert health["jobs"]["workers"] == [weak.name + "@" + socket.gethostname()]
    assert health["jobs"]["queues"][grading] == 1 and health["status"] == "ok"
    assert "gradgate.grade_submission" not in weak.text().split(" ready.", 1)[1]
    assert db.session.get(Submission, queued.get_json()["id"]).status == "queued"  # waits for a grading host


def test_healthz_says_when_the_broker_is_unreachable(tmp_path):
    deployment = Deployment(f"sqlite:///{tmp_path / 'gradgate.db'}", f"redis://127.0.0.1:{free_port()}/0")
    with app_on(deployment.database_url, **deployment.config()) as app:
        started = time.monotonic()
        response = app.test_client().get("/healthz")
        assert time.monotonic() - started < 5
    body = response.get_json()
    assert response.status_code == 200 and body["status"] == "degraded"
    assert body["jobs"]["broker"].startswith("unreachable")
