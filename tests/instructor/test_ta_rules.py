"""A TA "sees everything of the course, grades and gives extensions, cannot change exercises or delete
anything": the problem-set pages open, overrides are given and removed (pages and API), and every change to a
set or to an exercise is a 403 that says why and changes nothing. Outside their course: 404. SQLite and
PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from grader.models import Assignment, Exercise, User, db
from tests.api.conftest import bearer
from tests.instructor.problem_set_world import SET_URL, count, make_set, overrides_of, world_fixture  # noqa: F401
from tests.web.conftest import login

ROOT = Path(__file__).resolve().parents[2]
GATE_ADD = (ROOT / "exercises" / "gate-add.yaml").read_text()
SET_REFUSAL = "Only the course&#39;s instructors change its problem sets"
EDITOR_REFUSAL = "TAs see the exercises but do not write, change, copy, delete or restore them"


@pytest.fixture
def week(world) -> Assignment:
    return make_set(world.course, "Week 1", "gate-add", "seed-chain-w1-22", visible=False)  # hidden: TAs see it


def test_a_ta_sees_the_sets_and_gives_and_removes_overrides(client, world, week):
    login(client, "tom")
    listing = client.get(f"/instructor/courses/{world.course.id}/assignments")
    assert listing.status_code == 200 and "Week 1" in listing.text and "You are a TA here" in listing.text
    assert "/edit" not in listing.text and "Delete" not in listing.text and "New problem set" not in listing.text
    url = SET_URL.format(id=week.id) + "/overrides"
    assert client.get(url).status_code == 200
    assert client.post(url, data={"user": ["alice", "bob"], "extra_attempts": "2"}).status_code == 302
    tom = db.session.scalar(select(User.id).where(User.username == "tom"))
    given = overrides_of(week.id)
    assert sorted(given) == ["alice", "bob"] and {o.created_by for o in given.values()} == {tom}
    assert ">tom<" in client.get(url).text  # who gave it
    assert client.post(url + "/alice/remove").status_code == 302
    assert sorted(overrides_of(week.id)) == ["bob"]


@pytest.mark.parametrize(("method", "path", "form"), [
    ("GET", "/instructor/courses/{course}/assignments/new", None),
    ("POST", "/instructor/courses/{course}/assignments/new", {"rows": "1", "exercise-0": "gate-add", "title": "X"}),
    ("GET", "/instructor/assignments/{set}/edit", None),
    ("POST", "/instructor/assignments/{set}/edit", {"rows": "1", "exercise-0": "gate-add", "title": "Renamed"}),
    ("POST", "/instructor/assignments/{set}/move", {"direction": "up"}),
    ("POST", "/instructor/assignments/{set}/visibility", {"visible": "1"}),
    ("POST", "/instructor/assignments/{set}/archive", {"archived": "1"}),
    ("POST", "/instructor/assignments/{set}/delete", {}),
])
def test_a_ta_may_not_change_a_set(client, world, week, method, path, form):
    login(client, "tom")
    response = client.open(path.format(course=world.course.id, set=week.id), method=method, data=form)
    assert response.status_code == 403 and SET_REFUSAL in response.text
    db.session.expire_all()
    kept = db.session.get(Assignment, week.id)
    assert count(Assignment) == 1 and kept.title == "Week 1" and not kept.visible and not kept.archived
    assert [i.exercise.slug for i in kept.items] == ["gate-add", "seed-chain-w1-22"]


@pytest.mark.parametrize(("path", "form"), [
    ("/instructor/exercises/new", {"definition": GATE_ADD.replace("id: gate-add", "id: tom-add")}),
    ("/instructor/exercises/gate-add/edit", {"definition": GATE_ADD.replace("title:", "title: Edited", 1)}),
    ("/instructor/exercises/gate-add/copy", {"new_id": "tom-add"}),
    ("/instructor/exercises/gate-add/delete", {}),
    ("/instructor/exercises/gate-add/versions/1/restore", {}),
])
def test_a_ta_saving_deleting_or_restoring_an_exercise_is_a_clear_403(client, world, path, form):
    login(client, "tom")
    response = client.post(path, data=form)
    assert response.status_code == 403 and EDITOR_REFUSAL in response.text
    db.session.expire_all()
    gate = db.session.scalar(select(Exercise).where(Exercise.slug == "gate-add"))
    assert gate.current_version == 1 and not gate.deleted
    assert count(Exercise) == len(list(ROOT.glob("exercises/*.yaml")))  # no new one, no copy


def test_the_api_lets_a_ta_read_the_course_and_give_overrides_but_not_change_sets(client, world, week):
    ta = bearer("tom")
    api = "/api/v1"
    members = client.get(f"{api}/courses/{world.course.id}/memberships", headers=ta)
    assert members.status_code == 200 and {m["username"] for m in members.get_json()} >= {"ada", "tom", "alice"}
    listed = client.get(f"{api}/courses/{world.course.id}/assignments", headers=ta)
    assert listed.status_code == 200 and [a["title"] for a in listed.get_json()] == ["Week 1"]  # hidden, listed
    assert client.get(f"{api}/assignments/{week.id}", headers=ta).status_code == 200
    given = client.post(f"{api}/assignments/{week.id}/overrides", json={"user": "alice", "extra_attempts": 2},
                        headers=ta)
    assert given.status_code == 201 and given.get_json()["extra_attempts"] == 2
    assert client.delete(f"{api}/assignments/{week.id}/overrides?user=alice", headers=ta).status_code == 204
    assert overrides_of(week.id) == {}
    refusals = [
        client.post(f"{api}/courses/{world.course.id}/assignments", json={"exercise": "gate-add"}, headers=ta),
        client.patch(f"{api}/assignments/{week.id}", json={"visible": True}, headers=ta),
        client.patch(f"{api}/assignments/{week.id}", json={"position": 5}, headers=ta),
        client.patch(f"{api}/assignments/{week.id}", json={"archived": True}, headers=ta),
        client.delete(f"{api}/assignments/{week.id}", headers=ta),
        client.put(f"{api}/exercises/gate-add", json={"definition": {"id": "gate-add"}}, headers=ta),
        client.delete(f"{api}/exercises/gate-add", headers=ta),
    ]
    assert [r.status_code for r in refusals] == [403] * len(refusals)
    db.session.expire_all()
    kept = db.session.get(Assignment, week.id)
    assert count(Assignment) == 1 and not kept.visible and not kept.archived and kept.position == 0


def test_a_student_still_sees_only_visible_sets_and_no_members(client, world, week):
    alice = bearer("alice")
    assert client.get(f"/api/v1/courses/{world.course.id}/assignments", headers=alice).get_json() == []
    assert client.get(f"/api/v1/courses/{world.course.id}/memberships", headers=alice).status_code == 403


def test_outside_their_course_a_ta_and_an_instructor_get_404(client, world, week):
    for who in ("tom", "olga"):
        login(client, who)
        course = world.course if who == "olga" else world.other
        assert client.get(f"/instructor/courses/{course.id}/assignments").status_code == 404
        if who == "olga":
            for path in ("/overrides", "/edit"):
                assert client.get(SET_URL.format(id=week.id) + path).status_code == 404
            assert client.post(SET_URL.format(id=week.id) + "/overrides",
                               data={"user": "alice", "days": "1"}).status_code == 404
        headers = bearer(who)
        assert client.get(f"/api/v1/courses/{course.id}/memberships", headers=headers).status_code == 404
        assert client.get(f"/api/v1/courses/{course.id}/assignments", headers=headers).status_code == 404
        client.post("/logout")
    assert overrides_of(week.id) == {}
