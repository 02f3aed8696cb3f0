"""Submissions are rate limited per account, with one budget shared by the API and the pages."""

from __future__ import annotations

import copy
import uuid

import pytest
from sqlalchemy import select

from grader import authoring
from grader.models import Submission, User, db
from tests.conftest import app_on

from .conftest import RIGHT, assign, bearer, catalogue_documents, count, seed_world

WRONG_FORMAT = {"0": "not a number"}  # stored as invalid, no attempt used: still counted by the limit


# Per worker in memory, or shared by every worker in Redis (the real one, as deployed behind gunicorn).
@pytest.fixture(params=["memory://", "redis://127.0.0.1:6379"])
def limited(request, backend, database_urls):
    with app_on(database_urls[backend], RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=request.param,
                RATELIMIT_KEY_PREFIX=f"test-{uuid.uuid4().hex}",  # Redis outlives the test; user ids repeat
                SUBMIT_RATE_LIMIT="3 per minute") as app:
        world = seed_world(app.config["EXERCISES_DIR"], only=("seed-two-layer-w1-22",))
        yield app, world


def test_the_api_answers_429_past_the_limit_and_stores_nothing(limited):
    app, world = limited
    client, alice = app.test_client(), bearer("alice")
    url = f"/api/v1/assignments/{world.assignment.id}/submissions"
    statuses = [client.post(url, json={"answers": WRONG_FORMAT}, headers=alice).status_code for _ in range(3)]
    assert statuses == [201, 201, 201]

    refused = client.post(url, json={"answers": RIGHT}, headers=alice)
    assert refused.status_code == 429
    assert refused.json["code"] == "too_many_requests"
    assert "at most 3 per minute" in refused.json["message"] and "no attempt used" in refused.json["message"]
    assert int(refused.headers["Retry-After"]) > 0
    assert count(Submission) == 3

    # Per account, not per address: a classmate on the same machine still submits.
    assert client.post(url, json={"answers": RIGHT}, headers=bearer("bob")).status_code == 201


def test_anonymous_requests_do_not_spend_a_students_budget(limited):
    app, world = limited
    client = app.test_client()
    url = f"/api/v1/assignments/{world.assignment.id}/submissions"
    assert [client.post(url, json={"answers": RIGHT}).status_code for _ in range(5)] == [401] * 5
    assert client.post(url, json={"answers": RIGHT}, headers=bearer("alice")).status_code == 201


def test_pages_and_api_share_one_budget_and_the_page_explains(limited):
    app, world = limited
    alice = db.session.scalar(select(User).where(User.username == "alice"))
    alice.set_password("alice-password")
    db.session.commit()
    client = app.test_client()
    api_url = f"/api/v1/assignments/{world.assignment.id}/submissions"
    for _ in range(2):
        assert client.post(api_url, json={"answers": WRONG_FORMAT}, headers=bearer("alice")).status_code == 201
    assert client.post("/login", data={"username": "alice", "password": "alice-password"}).status_code == 302

    page = f"/assignments/{world.assignment.id}"
    assert client.post(page, data={"answer-0": "-0.0026227"}).status_code == 303  # the third: graded
    refused = client.post(page, data={"answer-0": "-0.0026227"})
    assert refused.status_code == 429
    assert "no attempt was used" in refused.text and "Back button" in refused.text
    assert "Retry-After" in refused.headers
    assert count(Submission) == 3
    assert client.get(page).status_code == 200  # reading the exercise is not limited


def test_checks_on_the_example_spend_the_same_budget(limited):
    """A check takes a sandbox slot as a submission does: one budget for both, not a second limiter."""
    app, world = limited
    for document in catalogue_documents(app.config["EXERCISES_DIR"]):
        if document["id"] == "code-relu-backward":
            authoring.save_exercise(copy.deepcopy(document))
    code = assign(world.course, "code-relu-backward")
    client, alice = app.test_client(), bearer("alice")
    check = f"/api/v1/assignments/{code.id}/precheck"
    broken = {"code": "def relu_backward(dout, z:\n    pass\n"}  # answered without the sandbox
    assert [client.post(check, json=broken, headers=alice).status_code for _ in range(2)] == [200, 200]
    url = f"/api/v1/assignments/{world.assignment.id}/submissions"
    assert client.post(url, json={"answers": WRONG_FORMAT}, headers=alice).status_code == 201
    refused = client.post(check, json=broken, headers=alice)
    assert refused.status_code == 429 and "checks on the example included" in refused.json["message"]
    assert int(refused.headers["Retry-After"]) > 0
    assert client.post(url, json={"answers": RIGHT}, headers=alice).status_code == 429
    assert count(Submission) == 1
