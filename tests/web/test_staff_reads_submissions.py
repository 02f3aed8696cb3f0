"""The course's instructors and TAs open any submission page of their course (/submissions/<id>): as its
student saw it, with a banner saying whose it is and a link to all their work, and no way to submit as them.
Everyone else still gets 404."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from grader import service
from grader.models import Course, Membership, Submission, db
from tests.service.conftest import assign, make_user, user
from tests.web.conftest import login

NUMERIC = "seed-two-layer-w1-22"


@pytest.fixture
def staffed(course) -> Course:
    """bp101 (alice, bob) with ada teaching and tom assisting; dl201 with olga teaching and eve studying."""
    other = Course(code="dl201", title="Deep Learning")
    db.session.add(other)
    ada, tom, olga, eve = make_user("ada", "instructor"), make_user("tom"), make_user("olga", "instructor"), \
        make_user("eve")
    make_user("root", "admin")
    db.session.add_all([Membership(user=ada, course=course, role="instructor"),
                        Membership(user=tom, course=course, role="ta"),
                        Membership(user=olga, course=other, role="instructor"), Membership(user=eve, course=other)])
    db.session.commit()
    return course


@pytest.mark.parametrize("who", ["ada", "tom", "root"])
def test_staff_read_a_students_submission_without_a_submit_button(client, staffed, who):
    assignment = assign(staffed, NUMERIC, attempt_limit=3, solution_policy="never")
    submission = service.submit(user("alice"), assignment, answers={"0": "0.5"})
    login(client, who)
    response = client.get(f"/submissions/{submission.id}")
    assert response.status_code == 200
    html = response.text
    assert "Submission by Alice (alice)" in html
    assert f'href="/instructor/courses/{staffed.id}/students/alice"' in html
    assert "Not correct" in html and 'value="0.5"' in html  # her answer and the feedback she got
    assert "Correct answer:" not in html  # as she saw it: the policy never shows it to her
    assert "Attempts left: <strong id=\"attempts-left\">2</strong>" in html  # hers, not the reader's
    assert f'action="/assignments/{assignment.id}"' not in html and ">Submit</button>" not in html
    # and submitting as her is not possible: a post is the reader's own submission, or refused
    before = db.session.scalar(select(func.count()).select_from(Submission).where(
        Submission.user_id == user("alice").id))
    client.post(f"/assignments/{assignment.id}", data={"answer-0": "1"})
    assert db.session.scalar(select(func.count()).select_from(Submission).where(
        Submission.user_id == user("alice").id)) == before


@pytest.mark.parametrize("who", ["bob", "olga", "eve"])
def test_anyone_else_still_gets_404(client, staffed, who):
    assignment = assign(staffed, NUMERIC)
    submission = service.submit(user("alice"), assignment, answers={"0": "0.5"})
    login(client, who)
    assert client.get(f"/submissions/{submission.id}").status_code == 404


def test_the_owner_sees_no_banner(client, staffed):
    assignment = assign(staffed, NUMERIC)
    submission = service.submit(user("alice"), assignment, answers={"0": "0.5"})
    login(client, "alice")
    html = client.get(f"/submissions/{submission.id}").text
    assert "Submission by" not in html and ">Submit</button>" in html
