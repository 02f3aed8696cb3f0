"""GRADING_BACKEND=celery with a real worker process: a code submission through the API and one through the page
are stored as queued with their attempt numbers, graded by the worker (which alone holds a sandbox pool) and
shown; the attempt limit holds while results are pending; code that does not parse is answered at once."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from grader.models import Submission, db
from tests.api.conftest import bearer
from tests.jobs.conftest import RELU_RIGHT, code_course, start_worker, wait_graded

pytestmark = pytest.mark.celery

RELU_WRONG = "import numpy as np\n\ndef relu_backward(dout, z):\n    return dout * (z >= 0) + 1.0\n"


def test_api_and_page_submissions_are_queued_then_graded_by_the_worker(jobs_app, deployment, workers, tmp_path):
    assignment, (student, reader) = code_course(students=2, attempt_limit=3)
    headers = bearer(student.username)
    api = jobs_app.test_client()
    url = f"/api/v1/assignments/{assignment.id}/submissions"
    # No worker yet: accepted at once, queued, its attempt numbered, and where to read it.
    jobs_app.config["SUBMIT_WAIT_S"] = 0.3
    queued = api.post(url, json={"code": RELU_RIGHT}, headers=headers)
    assert queued.status_code == 202, queued.text
    body = queued.get_json()
    assert body["status"] == "queued" and body["attempt"] == 1 and body["score"] is None
    assert queued.headers["Location"].endswith(f"/api/v1/submissions/{body['id']}")
    assert api.get(queued.headers["Location"], headers=headers).get_json()["status"] == "queued"
    # The page: "grading…", polling the submission's JSON (script), refreshing itself without the script.
    page_client = jobs_app.test_client()
    login = page_client.post("/login", data={"username": reader.username, "password": f"{reader.username}-password"})
    assert login.status_code == 302
    posted = page_client.post(f"/assignments/{assignment.id}", data={"code": RELU_RIGHT})
    assert posted.status_code == 303
    page = page_client.get(posted.headers["Location"]).text
    assert "grading…" in page and "grading.js" in page
    assert re.search(r'<noscript><meta http-equiv="refresh" content="\d+"></noscript>', page)
    page_id = db.session.scalar(select(Submission.id).where(Submission.user_id == reader.id))
    assert f'data-poll="/api/v1/submissions/{page_id}"' in page
    assert page_client.get(f"/api/v1/submissions/{page_id}").get_json()["status"] == "queued"

    start_worker(workers, deployment, tmp_path)
    wait_graded([body["id"], page_id])
    graded = api.get(queued.headers["Location"], headers=headers).get_json()
    assert graded["status"] == "graded" and graded["score"] == 1.0 and graded["attempt"] == 1
    assert graded["feedback"]["kind"] == "code" and graded["feedback"]["parts"]
    page = page_client.get(posted.headers["Location"]).text
    assert "grading…" not in page and "http-equiv=\"refresh\"" not in page
    assert "Attempt 1:" in page and 'id="feedback"' in page and "result-graded" in page

    # With a worker running, the API waits briefly and answers with the result itself.
    jobs_app.config["SUBMIT_WAIT_S"] = 20
    done = api.post(url, json={"code": RELU_WRONG}, headers=headers)
    assert done.status_code == 201, done.text
    assert done.get_json()["status"] == "graded" and done.get_json()["attempt"] == 2
    assert done.get_json()["score"] < 1.0
    # Code that does not parse is answered at once, in the web process, and uses no attempt.
    invalid = api.post(url, json={"code": "def relu_backward(dout, z:\n    pass\n"}, headers=headers)
    assert invalid.status_code == 201 and invalid.get_json()["status"] == "invalid"
    assert invalid.get_json()["attempt"] is None
    # The third attempt is the last: a fourth is refused, whether the third is still being graded or not.
    jobs_app.config["SUBMIT_WAIT_S"] = 0
    assert api.post(url, json={"code": RELU_RIGHT}, headers=headers).status_code == 202
    refused = api.post(url, json={"code": RELU_RIGHT}, headers=headers)
    assert refused.status_code == 409 and refused.get_json()["code"] == "no_attempts_left"
    rows = [s for s in wait_graded() if s.user_id == student.id]
    assert sorted(s.attempt for s in rows if s.attempt is not None) == [1, 2, 3]
