"""The student's-work page (/instructor/courses/<id>/students/<username>): every attempt with the feedback the
student saw, their seed and the link to the worked solution as they see it; course staff only; a constant
number of queries however many submissions there are."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, select

from grader import authoring, service
from grader.models import Assignment, Course, Exercise, Membership, Submission, Variant, db, utcnow
from tests.service.conftest import make_user, user
from tests.web.conftest import login

NUMERIC = "seed-two-layer-w1-22"  # fixed numbers: one ask, dL/dW1_22 = -0.0026227...
RIGHT = {"0": "-0.00262270"}
CODE = "code-relu-backward"
BROKEN = "def relu_backward(dout, z:\n    pass\n"  # a format error: stored without the sandbox


@pytest.fixture
def world(app) -> Course:
    """bp101: ada teaches, tom assists, alice and bob study; dl201: olga teaches, eve studies."""
    authoring.import_catalogue(app.config["EXERCISES_DIR"])
    course, other = Course(code="bp101", title="Backprop 101"), Course(code="dl201", title="Deep Learning")
    db.session.add_all([course, other])
    ada, olga, tom = make_user("ada", "instructor"), make_user("olga", "instructor"), make_user("tom")
    alice, bob, eve = make_user("alice"), make_user("bob"), make_user("eve")
    make_user("root", "admin")
    db.session.add_all([Membership(user=ada, course=course, role="instructor"),
                        Membership(user=tom, course=course, role="ta"),
                        Membership(user=alice, course=course), Membership(user=bob, course=course),
                        Membership(user=olga, course=other, role="instructor"), Membership(user=eve, course=other)])
    db.session.commit()
    return course


def place(course: Course, slug: str, **options) -> Assignment:
    exercise = db.session.scalar(select(Exercise).where(Exercise.slug == slug))
    assignment = Assignment(course=course, exercise=exercise, **{"title": exercise.title, **options})
    db.session.add(assignment)
    db.session.commit()
    return assignment


def page(client, course: Course, username: str = "alice"):
    return client.get(f"/instructor/courses/{course.id}/students/{username}")


def test_every_attempt_with_its_feedback_seed_and_worked_solution(client, world, grading_backend):
    numeric = place(world, NUMERIC, attempt_limit=5, points=10, solution_policy="never")
    code = place(world, CODE, position=-1)  # first in the course's order
    alice = user("alice")
    wrong = service.submit(alice, numeric, answers={"0": "0.5"})
    unreadable = service.submit(alice, numeric, answers={"0": "zebra"})
    right = service.submit(alice, numeric, answers=RIGHT)
    broken = service.submit(alice, code, code=BROKEN)
    service.submit(user("bob"), numeric, answers=RIGHT)  # someone else's: not on alice's page
    login(client, "ada")
    response = page(client, world)
    assert response.status_code == 200
    html = response.text
    assert "Alice" in html and "alice" in html
    # every submission of hers, graded or not, and none of bob's
    ids = [s.id for s in db.session.scalars(select(Submission).where(Submission.user_id == alice.id))]
    assert all(f'id="submission-{i}"' in html for i in ids) and len(ids) == 4
    assert html.count('class="attempt ') == 4
    # newest first within an exercise; all but the latest collapsed
    assert html.index(f"submission-{right.id}") < html.index(f"submission-{unreadable.id}") \
        < html.index(f"submission-{wrong.id}")
    older = html.index('class="older-attempts"')
    assert html.index(f"submission-{right.id}") < older < html.index(f"submission-{unreadable.id}")
    # the feedback she saw: graded ones with their badges, the unreadable one with its format error
    assert "Not correct" in html and "Correct" in html and "could not read" in html
    assert "format error, no attempt used" in html
    assert "Correct answer:" not in html  # solution_policy never: she never saw the expected answer
    # the code submission: its code, its format error; the course's order puts the code set first
    assert "def relu_backward(dout, z:" in html and html.index(f"set-{code.id}") < html.index(f"set-{numeric.id}")
    assert f"submission-{broken.id}" in html
    # attempts used of the limit, points, the seed and the worked solution as she sees it
    assert "2 / 5" in html and "10 / 10" in html
    seed = db.session.scalar(select(Variant.seed).where(Variant.user_id == alice.id,
                                                        Variant.exercise_id == numeric.exercise.id))
    assert f'<strong class="seed">{seed}</strong>' in html
    link = f"/instructor/exercises/{NUMERIC}/preview?student=alice"
    assert link in html
    preview = client.get(link)
    assert preview.status_code == 200 and f'id="preview-seed">{seed}<' in preview.text


def test_due_date_with_the_override_and_archived_sets(client, world):
    due = (utcnow() + timedelta(days=2)).replace(microsecond=0, second=0)
    extended = due + timedelta(days=3)
    numeric = place(world, NUMERIC, due_at=due, attempt_limit=2)
    retired = place(world, "gate-add", archived=True, title="Old set")
    service.set_override(numeric, ["alice"], due_at=extended, extra_attempts=2)
    login(client, "tom")  # a TA reads it too
    html = page(client, world).text
    assert f"due <time datetime=\"{extended.isoformat()}Z\">" in html
    assert f"(extended from <time datetime=\"{due.isoformat()}Z\">" in html
    assert "2 extra attempts" in html and "0 / 4" in html  # the limit with her extra attempts
    assert "Old set" in html and "archived" in html
    assert f"set-{retired.id}" in html
    bob = page(client, world, "bob").text  # no override: the set's own date
    assert "extended from" not in bob and "0 / 2" in bob


@pytest.mark.parametrize("who, status", [("ada", 200), ("tom", 200), ("root", 200), ("olga", 404),
                                         ("alice", 404), ("eve", 404)])
def test_only_the_course_staff_see_it(client, world, who, status):
    place(world, NUMERIC)
    login(client, who)
    assert page(client, world, "bob").status_code == status


def test_someone_not_in_the_course_is_404(client, world):
    login(client, "ada")
    assert page(client, world, "eve").status_code == 404  # a student of another course
    assert page(client, world, "nobody").status_code == 404
    assert client.get("/instructor/courses/999999/students/alice").status_code == 404


def test_the_roster_links_each_name_to_their_work(client, world):
    login(client, "ada")
    html = client.get(f"/instructor/courses/{world.id}").text
    assert f'href="/instructor/courses/{world.id}/students/alice">Alice</a>' in html


def _queries(client, url: str) -> int:
    engine = db.engine
    seen = []

    def count(*_args):
        seen.append(1)

    event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen)


def test_query_count_does_not_grow_with_submissions(client, world):
    first, second = place(world, NUMERIC, title="first"), place(world, "gate-add", title="second")
    alice, bob = user("alice"), user("bob")
    service.submit(alice, first, answers={"0": "1"})  # one submission at each set
    service.submit(alice, second, answers={"0": "1", "1": "[1, 2, 3]"})
    for n in range(10):  # ten at each, graded and unreadable
        service.submit(bob, first, answers={"0": "zebra" if n % 2 else str(n)})
        service.submit(bob, second, answers={"0": str(n), "1": "[1, 2, 3]"})
    login(client, "ada")
    url = f"/instructor/courses/{world.id}/students/"
    _queries(client, url + "alice")  # warm: parsed definitions and variants are cached per process
    _queries(client, url + "bob")
    one, ten = _queries(client, url + "alice"), _queries(client, url + "bob")
    assert page(client, world, "bob").text.count('class="attempt ') == 20
    assert one == ten, (one, ten)
    assert one < 25  # a fixed few per page and exercise (12 when written), never one per submission
