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


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_simultaneous_edits_of_one_exercise_are_saved_or_409(app, backend, world):
    import copy

    from grader.exercises import find

    document = dict(copy.deepcopy(find("gate-add", app.config["EXERCISES_DIR"]).document), id="raced")
    headers = bearer("teacher")
    assert app.test_client().post("/api/v1/exercises", json={"definition": document},
                                  headers=headers).status_code == 201
    barrier = threading.Barrier(8)
    results: list[tuple[int, str]] = []

    def edit(i: int) -> None:
        client = app.test_client()
        barrier.wait()
        response = client.put("/api/v1/exercises/raced", json={"definition": dict(document, title=f"edit {i}")},
                              headers=headers)
        results.append((response.status_code, response.get_json()["code"] if response.status_code != 200 else ""))

    threads = [threading.Thread(target=edit, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    statuses = Counter(status for status, _ in results)
    assert len(results) == 8 and set(statuses) <= {200, 409} and statuses[200] >= 1, results
    assert {code for status, code in results if status == 409} <= {"conflict"}
    versions = app.test_client().get("/api/v1/exercises/raced", headers=headers).get_json()["versions"]
    assert versions == list(range(1, statuses[200] + 2))  # one new version per saved edit, no gap
