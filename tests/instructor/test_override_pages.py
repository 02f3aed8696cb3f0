"""The overrides page: give several students "N more days" and extra attempts at once, a date of their own,
remove one; bad input names its field and gives nobody anything. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from grader.models import AssignmentOverride, User, db
from tests.instructor.problem_set_world import SET_URL, count, make_set, overrides_of, world_fixture  # noqa: F401
from tests.web.conftest import login

DUE = datetime(2026, 12, 20, 23, 59)


def test_two_students_get_two_more_days_and_extra_attempts_and_one_is_removed(client, world):
    week = make_set(world.course, "Week 1", due_at=DUE)
    login(client, "ada")
    url = SET_URL.format(id=week.id) + "/overrides"
    page = client.get(url).text
    assert "No override" in page and 'value="alice"' in page and 'value="tom"' not in page  # students only
    response = client.post(url, data={"user": ["alice", "bob"], "days": "2", "extra_attempts": "3"})
    assert response.status_code == 302, response.text[:500]
    given = overrides_of(week.id)
    assert sorted(given) == ["alice", "bob"]
    ada = db.session.scalar(select(User.id).where(User.username == "ada"))
    assert all((o.due_at, o.extra_attempts, o.created_by) == (DUE + timedelta(days=2), 3, ada) for o in given.values())
    listing = client.get(url).text
    assert "2 overrides" in listing and "2026-12-22 23:59" in listing and ">ada<" in listing
    assert client.post(url + "/alice/remove").status_code == 302
    assert sorted(overrides_of(week.id)) == ["bob"]
    again = client.post(url + "/alice/remove", follow_redirects=True)
    assert "alice had no override." in again.text


def test_a_date_of_their_own_and_attempts_alone(client, world):
    week = make_set(world.course, "Week 1")  # no due date: a date is given, not days
    login(client, "ada")
    url = SET_URL.format(id=week.id) + "/overrides"
    assert client.post(url, data={"user": "carol", "due_at": "2027-01-05T12:00"}).status_code == 302
    assert client.post(url, data={"user": "carol", "extra_attempts": "1"}).status_code == 302
    carol = overrides_of(week.id)["carol"]
    assert (carol.due_at, carol.extra_attempts) == (datetime(2027, 1, 5, 12, 0), 1)  # the date is kept


@pytest.mark.parametrize(("form", "field", "says"), [
    ({"days": "2"}, "user", "Students: tick at least one student"),
    ({"user": "alice", "days": "2"}, "days", "this problem set has no due date to add days to"),
    ({"user": "alice", "days": "two"}, "days", "More days: expected a whole number"),
    ({"user": "alice", "due_at": "soon"}, "due_at", "New due date: expected a date and time"),
    ({"user": "alice", "due_at": "2027-01-05T12:00", "days": "2"}, "days", "not both"),
    ({"user": "alice", "extra_attempts": "-1"}, "extra_attempts", "Extra attempts must be from 0 to 1000"),
    ({"user": "alice"}, "due_at", "Give a new due date, a number of more days or extra attempts"),
    ({"user": ["alice", "tom"], "extra_attempts": "1"}, "user", "Not a student of this course: tom"),
])
def test_bad_input_names_the_field_and_gives_nobody_anything(client, world, form, field, says):
    week = make_set(world.course, "Week 1")
    login(client, "ada")
    response = client.post(SET_URL.format(id=week.id) + "/overrides", data=form)
    assert response.status_code == 422, response.text[:500]
    assert "Nothing was given" in response.text and says in response.text
    assert f'id="{field}-error"' in response.text
    if "user" in form and isinstance(form["user"], str):
        assert f'value="{form["user"]}" checked' in response.text  # the ticks are kept
    assert count(AssignmentOverride) == 0
