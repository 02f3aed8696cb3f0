"""200 submissions fired at once by one student at an assignment with an attempt limit of 3: exactly 3 are
graded, every other one is a clear 409 (PostgreSQL: SQLite serialises writers, so there is no race to test)."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlalchemy import select

from grader.models import Submission, db
from tests.api.conftest import RIGHT, bearer

N = 200


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_attempt_limit_holds_under_200_simultaneous_submissions(app, backend, world):
    headers = bearer("alice")
    url = f"/api/v1/assignments/{world.assignment.id}/submissions"
    barrier = threading.Barrier(N)
    results: list[tuple[int, dict]] = []
    lock = threading.Lock()

    def fire() -> None:
        client = app.test_client()  # each request gets its own app context, so its own session
        barrier.wait()
        response = client.post(url, json={"answers": RIGHT}, headers=headers)
        with lock:
            results.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=fire) for _ in range(N)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    statuses = Counter(status for status, _ in results)
    assert len(results) == N and statuses == {201: 3, 409: N - 3}, statuses
    assert {body["code"] for status, body in results if status == 409} == {"no_attempts_left"}
    db.session.expire_all()
    stored = db.session.scalars(select(Submission).where(Submission.assignment_id == world.assignment.id)).all()
    assert sorted(s.attempt for s in stored) == [1, 2, 3]
    assert all(s.status == "graded" and s.score == 1.0 for s in stored)
