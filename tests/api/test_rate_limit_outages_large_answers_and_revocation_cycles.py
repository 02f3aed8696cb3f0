"""The rate-limit store failing open, large numeric answers counted in numbers, one visibility check per
listing, and token revocation that stops at a (hand-made) cycle."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import uuid

import pytest
from sqlalchemy import event, select

from grader import service
from grader.models import ApiToken, User, db
from grader.service import MAX_ANSWER_ENTRIES, MAX_ANSWER_TEXT, ServiceError
from tests.api.conftest import RIGHT, bearer, seed_world
from tests.conftest import app_on


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_submissions_go_on_when_the_rate_limit_store_goes_down(backend, database_urls, caplog):
    assert shutil.which("redis-server"), "redis-server is needed (Debian package redis-server)"
    port = free_port()
    redis = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                              "--appendonly", "no"], stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while socket.socket().connect_ex(("127.0.0.1", port)) and time.monotonic() < deadline:
            time.sleep(0.05)
        with app_on(database_urls[backend], RATELIMIT_ENABLED=True, SUBMIT_RATE_LIMIT="100 per minute",
                    RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{port}",
                    RATELIMIT_KEY_PREFIX=uuid.uuid4().hex) as app:
            world = seed_world(app.config["EXERCISES_DIR"], only=("seed-two-layer-w1-22",))
            client, url = app.test_client(), f"/api/v1/assignments/{world.assignment.id}/submissions"
            assert client.post(url, json={"answers": RIGHT}, headers=bearer("alice")).status_code == 201
            redis.terminate()
            redis.wait(timeout=10)
            response = client.post(url, json={"answers": RIGHT}, headers=bearer("alice"))
            assert response.status_code == 201
            assert "submissions are not throttled" in caplog.text
            signing_in = client.post("/login", data={"username": "alice", "password": "wrong"})
            assert signing_in.status_code == 200 and "Wrong username or password." in signing_in.text
    finally:
        redis.kill()
        redis.wait(timeout=10)


def test_large_numeric_answers_are_counted_in_numbers_not_characters():
    a_big_matrix = [[0.123456789012345] * 40 for _ in range(40)]  # 1,600 numbers: far over 20,000 characters
    service.check_payload({"0": a_big_matrix}, None)
    with pytest.raises(ServiceError) as info:
        service.check_payload({"0": [0.5] * (MAX_ANSWER_ENTRIES + 1)}, None)
    assert info.value.status == 413 and info.value.errors == {"answers.0": ["more than 10,000 numbers"]}
    with pytest.raises(ServiceError):
        service.check_payload({"0": [["1" * (MAX_ANSWER_TEXT + 1)]]}, None)  # a page's box, typed in


def test_a_listing_asks_for_visibility_once_not_once_a_row(app, client, world):
    url = f"/api/v1/assignments/{world.assignment.id}/submissions"
    world.assignment.attempt_limit = None
    db.session.commit()
    headers = bearer("alice")

    def statements_for_listing(n: int) -> int:
        while len(client.get(url + "?page_size=50", headers=headers).get_json()) < n:
            assert client.post(url, json={"answers": {"0": "1"}}, headers=headers).status_code == 201
        count = [0]

        def tally(*_args) -> None:
            count[0] += 1

        event.listen(db.engine, "before_cursor_execute", tally)
        try:
            assert len(client.get(url + "?page_size=50", headers=headers).get_json()) == n
        finally:
            event.remove(db.engine, "before_cursor_execute", tally)
        return count[0]

    assert statements_for_listing(5) == statements_for_listing(30)


def test_revoking_stops_at_a_cycle_of_parents(app, world):
    alice = db.session.scalar(select(User).where(User.username == "alice"))
    first, _ = ApiToken.issue(alice, [])
    second, _ = ApiToken.issue(alice, [])
    db.session.add_all([first, second])
    db.session.flush()
    first.parent_id, second.parent_id = second.id, first.id  # only a hand-edited database holds this
    db.session.commit()
    assert {t.id for t in first.revoke()} == {first.id, second.id}
    assert not first.usable() and not second.usable()
