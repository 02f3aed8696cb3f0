"""Courses and memberships through grader.roster and the pages: create (the creator its instructor), rename,
add by username, change a role, remove (submissions stay), and a course never loses its last instructor."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from grader import authoring, roster, service
from grader.errors import ServiceError
from grader.models import Assignment, Exercise, Membership, Submission, User, db
from tests.web.conftest import login


def user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def test_a_new_course_has_its_creator_as_instructor_and_a_unique_code(app, roster_world):
    course = roster.create_course(user("olga"), " ml301 ", "Machine Learning")
    assert course.code == "ml301" and service.course_role(user("olga"), course) == "instructor"
    with pytest.raises(ServiceError) as taken:
        roster.create_course(user("ada"), "ml301", "Again")
    assert taken.value.status == 409 and "already exists" in taken.value.message
    for code, title, problem in (("", "T", "code"), ("has space", "T", "code"), ("ok1", " ", "title"),
                                 ("ok2", "x" * 201, "title")):
        with pytest.raises(ServiceError) as bad:
            roster.create_course(user("ada"), code, title)
        assert bad.value.status == 422 and problem in bad.value.errors


def test_adding_changing_and_removing_members(app, roster_world):
    course = roster_world.course
    assert roster.add_member(course, "loner", "ta").role == "ta"
    with pytest.raises(ServiceError) as twice:
        roster.add_member(course, "loner")
    assert twice.value.status == 409
    with pytest.raises(ServiceError) as nobody:
        roster.add_member(course, "nobody")
    assert nobody.value.status == 422 and "no account 'nobody'" in nobody.value.message
    with pytest.raises(ServiceError) as bad_role:
        roster.add_member(course, "eve", "owner")
    assert bad_role.value.status == 422
    assert roster.change_role(course, "loner", "instructor").role == "instructor"
    roster.remove_member(course, "loner")
    assert service.course_role(user("loner"), course) is None
    with pytest.raises(ServiceError) as gone:
        roster.remove_member(course, "loner")
    assert gone.value.status == 404


def test_the_last_instructor_can_be_neither_removed_nor_demoted(app, roster_world):
    course = roster_world.course
    for attempt in (lambda: roster.remove_member(course, "ada"), lambda: roster.change_role(course, "ada", "ta")):
        with pytest.raises(ServiceError) as last:
            attempt()
        assert last.value.status == 409 and "only instructor" in last.value.message
    roster.change_role(course, "tom", "instructor")
    roster.remove_member(course, "ada")  # now someone else teaches it
    assert service.course_role(user("ada"), course) is None


def test_a_removed_student_keeps_their_submissions(app, roster_world):
    authoring.import_catalogue(app.config["EXERCISES_DIR"])
    exercise = db.session.scalar(select(Exercise).where(Exercise.slug == "gate-add"))
    assignment = Assignment(course=roster_world.course, exercise=exercise, title="Add")
    db.session.add(assignment)
    db.session.commit()
    stored = service.submit(user("alice"), assignment, answers={"0": "1 2 3", "1": "1 2 3"})
    assert stored.status == "graded"
    roster.remove_member(roster_world.course, "alice")
    assert db.session.scalar(select(func.count()).select_from(Submission)
                             .where(Submission.user_id == user("alice").id)) == 1
    roster.add_member(roster_world.course, "alice")
    assert service.graded_attempts(user("alice"), assignment) == 1


def test_the_roster_page_shows_members_and_the_forms_to_instructors_only(client, roster_world):
    login(client, "ada")
    page = client.get(f"/instructor/courses/{roster_world.course.id}").text
    assert all(name in page for name in ("alice", "bob", "tom", "Upload a class list", "Reset the password of alice"))
    assert "Reset the password of tom" not in page  # a TA's password: an administrator's job
    client.post("/logout")
    login(client, "tom")
    page = client.get(f"/instructor/courses/{roster_world.course.id}").text
    assert "alice" in page and "Upload a class list" not in page and "you see the roster" in page


def test_page_refusals_are_clear_4xx_and_change_nothing(client, roster_world):
    login(client, "ada")
    base = f"/instructor/courses/{roster_world.course.id}"
    cases = [(f"{base}/members", {"username": "nobody"}, 422, "There is no account"),
             (f"{base}/members", {"username": "alice"}, 409, "already a member"),
             (f"{base}/members/alice/role", {"role": "boss"}, 422, "Role must be one of"),
             (f"{base}/members/nobody/remove", {}, 404, "not a member"),
             (f"{base}/members/ada/remove", {}, 409, "only instructor"),
             (f"{base}/title", {"title": ""}, 422, "title must be"),
             ("/instructor/courses", {"code": "bp101", "title": "Again"}, 409, "already exists")]
    for url, form, status, message in cases:
        response = client.post(url, data=form)
        assert response.status_code == status, url
        assert message in response.text, (url, response.text[-800:])
    assert db.session.scalar(select(func.count()).select_from(Membership)
                             .where(Membership.course_id == roster_world.course.id)) == 4


def test_creating_a_course_from_the_page_makes_you_its_instructor(client, roster_world):
    login(client, "olga")
    response = client.post("/instructor/courses", data={"code": "ml301", "title": "Machine Learning"})
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).text
    assert "ml301: Machine Learning" in page and "Created ml301" in page
    assert "ml301" in client.get("/instructor/courses").text


def test_a_ta_opens_the_workspace_but_cannot_change_exercises(client, roster_world, app):
    authoring.import_catalogue(app.config["EXERCISES_DIR"])
    login(client, "tom")
    assert client.get("/instructor/").status_code == 200
    assert client.get("/instructor/exercises/new").status_code == 403
    assert client.post("/instructor/exercises/gate-add/copy").status_code == 403
    assert client.post("/instructor/exercises/gate-add/delete").status_code in (403, 404)
    assert not db.session.scalar(select(Exercise.deleted).where(Exercise.slug == "gate-add"))
