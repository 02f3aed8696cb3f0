"""Forms a careless or hostile student can send to the pages: each gets a clear answer, never a 500, and
nothing oversized or unstorable is kept. (Found by a review of the pages; each was a 500 or a gap before.)"""

from __future__ import annotations

import re
import time

import itsdangerous
import pytest

from grader import authoring, service
from grader.models import Submission, db
from grader.service import MAX_ANSWER_TEXT, MAX_CODE
from grader.web.student import render_prompt
from tests.api.conftest import count
from tests.conftest import app_on
from tests.service.conftest import assign, make_user, user
from tests.web.conftest import login
from tests.web.test_pages import RIGHT_W1_22


def test_a_version_field_of_odd_digits_is_ignored_not_a_500(client, course):
    a = assign(course, "seed-two-layer-w1-22")
    login(client)
    for odd in ("²", "٣", "1" * 40, "-1", ""):
        response = client.post(f"/assignments/{a.id}", data={"answer-0": RIGHT_W1_22, "version": odd})
        assert response.status_code == 303 and response.location.startswith("/submissions/"), odd


def test_code_with_a_nul_byte_or_too_long_is_refused_and_nothing_stored(client, course, grading_backend):
    a = assign(course, "code-relu-backward")
    login(client)
    for code, says in (("def relu_backward(dout, x):\n    return dout\x00\n", "the code contains a NUL byte"),
                       ("#" * (MAX_CODE + 1), f"the code is longer than {MAX_CODE:,} characters")):
        response = client.post(f"/assignments/{a.id}", data={"code": code}, follow_redirects=True)
        assert response.status_code == 200 and f"Not submitted: {says}" in response.text
    assert count(Submission) == 0


def test_an_oversized_answer_is_refused_and_not_echoed_back(client, course):
    a = assign(course, "seed-two-layer-w1-22")
    login(client)
    huge = "1" * (MAX_ANSWER_TEXT + 1)
    response = client.post(f"/assignments/{a.id}", data={"answer-0": huge}, follow_redirects=True)
    assert response.status_code == 200 and f"longer than {MAX_ANSWER_TEXT:,} characters" in response.text
    assert huge not in response.text and count(Submission) == 0
    assert not service.graded_attempts(user("alice"), a)


def test_a_nul_byte_in_the_username_is_a_wrong_login(client, course):
    response = client.post("/login", data={"username": "ali\x00ce", "password": "alice-password"})
    assert response.status_code == 200 and "Wrong username or password." in response.text


@pytest.mark.parametrize("target", ["/courses%0D%0ASet-Cookie:x=1", "/%09/evil.example", "/ok%7F"])
def test_control_characters_in_next_fall_back_to_the_index(client, course, target):
    response = client.post(f"/login?next={target}", data={"username": "alice", "password": "alice-password"})
    assert response.status_code == 302 and response.location == "/"


@pytest.fixture
def csrf_client(backend, database_urls):
    with app_on(database_urls[backend], WTF_CSRF_ENABLED=True) as app:
        authoring.import_catalogue(app.config["EXERCISES_DIR"])
        from grader.models import Course, Membership

        course = Course(code="bp101", title="Backprop 101")
        db.session.add_all([course, Membership(user=make_user("alice"), course=course)])
        db.session.commit()
        yield app.test_client(), assign(course, "seed-two-layer-w1-22")


def token_of(html: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def test_a_form_left_open_for_hours_still_submits(csrf_client, monkeypatch):
    client, a = csrf_client
    client.post("/login", data={"username": "alice", "password": "alice-password",
                                "csrf_token": token_of(client.get("/login").text)})
    # The page was opened three hours ago (its token is signed with that time; the session cookie is not: its
    # signature from "the future" would sign the student out)
    def three_hours_ago_for_the_token(signer) -> int:
        return int(time.time()) - (3 * 3600 if b"csrf" in itsdangerous.encoding.want_bytes(signer.salt) else 0)

    with monkeypatch.context() as m:
        m.setattr(itsdangerous.timed.TimestampSigner, "get_timestamp", three_hours_ago_for_the_token)
        token = token_of(client.get(f"/assignments/{a.id}").text)
    response = client.post(f"/assignments/{a.id}", data={"answer-0": RIGHT_W1_22, "csrf_token": token})
    assert response.status_code == 303 and response.location.startswith("/submissions/")


def test_a_form_without_a_valid_token_gets_a_page_that_explains(csrf_client):
    client, a = csrf_client
    client.post("/login", data={"username": "alice", "password": "alice-password",
                                "csrf_token": token_of(client.get("/login").text)})
    response = client.post(f"/assignments/{a.id}", data={"answer-0": RIGHT_W1_22, "csrf_token": "forged"})
    assert response.status_code == 400
    assert "Nothing was sent" in response.text and "Back button" in response.text
    assert count(Submission) == 0


def test_an_escaped_dollar_stays_a_dollar_katex_cannot_pair():
    html = str(render_prompt(r"A ticket costs \$5 and a drink \$3. Find $\partial L/\partial w$."))
    assert html.count('<span class="dollar">$</span>') == 2
    assert "costs $5" not in html and r"$\partial L/\partial w$" in html


def test_an_exercise_that_cannot_draw_numbers_shows_a_page_not_a_500(client, course):
    from grader.models import ExerciseVersion

    a = assign(course, "gate-add")
    broken = dict(a.exercise.current.definition,
                  inputs={"x": {"shape": [], "random": {"uniform": [-2.0, -1.0]}}}, params={},
                  graph=["z = relu(x)"], upstream={"z": {"shape": [], "random": {"uniform": [1.0, 2.0]}}},
                  ask=[{"grad": "x", "label": "dL/dx"}])  # stored as if before definitions were checked
    db.session.add(ExerciseVersion(exercise=a.exercise, version=2, definition=broken))
    a.exercise.current_version = 2
    db.session.commit()
    login(client)
    response = client.get(f"/assignments/{a.id}")
    assert response.status_code == 503 and "tell your instructor" in response.text
