"""The workspace's problem-set pages: a set of several exercises made through the form lands in the database
as typed; bad input re-renders the form with the field named and what was typed, storing nothing; reordering,
hiding, archiving and deleting (refused while the set has submissions, unless archived). SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from grader import service
from grader.models import Assignment, Exercise, Submission, db
from tests.instructor.problem_set_world import SET_URL, answer, count, make_set, world_fixture  # noqa: F401
from tests.web.conftest import login

FORM = {"title": "Week 1", "due_at": "2026-12-20T23:59", "late_policy": "penalty", "late_penalty": "0.25",
        "scoring": "last", "solution_policy": "never", "rows": "8",
        "exercise-0": "gate-add", "points-0": "2", "attempts-0": "3", "order-0": "2",
        "exercise-1": "seed-chain-w1-22", "points-1": "5", "attempts-1": "", "order-1": "1",
        "exercise-3": "two-layer-random", "points-3": "1.5", "attempts-3": "", "order-3": "4"}


def new_url(world) -> str:
    return f"/instructor/courses/{world.course.id}/assignments/new"


def test_a_set_of_three_exercises_made_through_the_form_is_stored_as_typed(client, world):
    login(client, "ada")
    page = client.get(new_url(world))
    assert page.status_code == 200 and 'value="gate-add"' in page.text and 'type="datetime-local"' in page.text
    response = client.post(new_url(world), data=FORM)  # no "visible": the box is unticked
    assert response.status_code == 302, response.text
    assert response.location.endswith(f"/instructor/courses/{world.course.id}/assignments")
    week = db.session.scalar(select(Assignment))
    assert (week.title, week.due_at, week.late_policy, week.late_penalty, week.scoring, week.solution_policy,
            week.visible) == ("Week 1", datetime(2026, 12, 20, 23, 59), "penalty", 0.25, "last", "never", False)
    # ordered by the order column (blank row 2 ignored), each with its points and attempts
    assert [(i.exercise.slug, i.position, i.points, i.attempt_limit) for i in week.items] == [
        ("seed-chain-w1-22", 1, 5.0, None), ("gate-add", 2, 2.0, 3), ("two-layer-random", 3, 1.5, None)]
    listing = client.get(response.location).text
    assert "Created &#39;Week 1&#39;: 3 exercises, 8.5 points." in listing
    assert "2026-12-20 23:59" in listing and "penalty 25%" in listing and "hidden" in listing


@pytest.mark.parametrize(("changes", "field", "says", "kept"), [
    ({"due_at": "next friday"}, "due_at", "Due date: expected a date and time", 'value="next friday"'),
    ({"exercise-3": "no-such"}, "exercise-3", "Row 4: No such exercise &#39;no-such&#39;",
     "no-such (not in your library)"),
    ({"points-3": "-1"}, "points-3", "Row 4: The points of &#39;two-layer-random&#39; must be from 0", 'value="-1"'),
    ({"points-1": "lots"}, "points-1", "Row 2, points: expected a number", 'value="lots"'),
    ({"late_penalty": "1.5"}, "late_penalty", "from 0 to 1", 'value="1.5"'),
    ({"exercise-0": "", "exercise-1": "", "exercise-3": ""}, "exercises", "choose at least one exercise", "Week 1"),
])
def test_bad_input_re_renders_the_form_with_the_field_named_and_stores_nothing(client, world, changes, field, says,
                                                                               kept):
    login(client, "ada")
    response = client.post(new_url(world), data={**FORM, **changes})
    assert response.status_code == 422, response.text[:500]
    page = response.text
    assert "Nothing was saved" in page and says in page and f'id="{field}-error"' in page
    assert kept in page and 'value="Week 1"' in page  # what was typed is still there
    if field != "exercises":
        assert f'id="{field}" name="{field}"' in page and 'aria-invalid="true"' in page
    assert count(Assignment) == 0


def test_a_draft_is_refused_on_its_row(client, world):
    login(client, "ada")
    exercise = db.session.scalar(select(Exercise).where(Exercise.slug == "gate-add"))
    exercise.current.checks = {"passed": False, "failures": ["its worked answer is wrong"]}
    db.session.commit()
    response = client.post(new_url(world), data=FORM)
    assert response.status_code == 409 and 'id="exercise-0-error"' in response.text
    assert "cannot be assigned" in response.text and count(Assignment) == 0


def test_move_up_and_down_reorders_the_courses_sets(client, world):
    first, second, third = (make_set(world.course, title) for title in ("One", "Two", "Three"))
    login(client, "ada")
    assert client.post(SET_URL.format(id=third.id) + "/move", data={"direction": "up"}).status_code == 302
    db.session.expire_all()
    assert [a.title for a in service.in_order(world.course.assignments)] == ["One", "Three", "Two"]
    client.post(SET_URL.format(id=first.id) + "/move", data={"direction": "down"})
    db.session.expire_all()
    assert [a.title for a in service.in_order(world.course.assignments)] == ["Three", "One", "Two"]
    response = client.post(SET_URL.format(id=third.id) + "/move", data={"direction": "up"}, follow_redirects=True)
    assert "&#39;Three&#39; is already first." in response.text
    page = client.get(f"/instructor/courses/{world.course.id}/assignments").text
    assert page.index("Three") < page.index("One") < page.index("Two")
    assert client.post(SET_URL.format(id=second.id) + "/move", data={"direction": "sideways"}).status_code == 422


def test_hide_and_show(client, world):
    week = make_set(world.course, "Week 1")
    login(client, "ada")
    assert client.post(SET_URL.format(id=week.id) + "/visibility", data={"visible": "0"}).status_code == 302
    db.session.expire_all()
    assert not db.session.get(Assignment, week.id).visible
    client.post("/logout")
    login(client, "alice")
    assert client.get(f"/assignments/{week.id}").status_code == 404  # hidden from students
    client.post("/logout")
    login(client, "ada")
    client.post(SET_URL.format(id=week.id) + "/visibility", data={"visible": "1"})
    db.session.expire_all()
    assert db.session.get(Assignment, week.id).visible


def test_delete_is_refused_with_submissions_until_archived(client, world):
    week, spare = make_set(world.course, "Week 1"), make_set(world.course, "Spare")
    answer("alice", week)
    login(client, "ada")
    refused = client.post(SET_URL.format(id=week.id) + "/delete")
    assert refused.status_code == 409
    assert "is not deleted: it has submissions. Archive it first" in refused.text
    assert db.session.get(Assignment, week.id) is not None and count(Submission) == 1
    assert client.post(SET_URL.format(id=week.id) + "/archive", data={"archived": "1"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Assignment, week.id).archived
    assert "archived" in client.get(f"/instructor/courses/{world.course.id}/assignments").text
    assert client.post(SET_URL.format(id=week.id) + "/delete").status_code == 302
    assert db.session.get(Assignment, week.id) is None and count(Submission) == 0
    # a set nobody answered is deleted straight away
    assert client.post(SET_URL.format(id=spare.id) + "/delete").status_code == 302 and count(Assignment) == 0


def test_editing_changes_settings_points_and_order_and_keeps_answered_exercises(client, world):
    week = make_set(world.course, "Week 1", "gate-add", "seed-chain-w1-22")
    answer("alice", week)
    login(client, "ada")
    url = SET_URL.format(id=week.id) + "/edit"
    page = client.get(url).text
    assert 'value="Week 1"' in page and 'name="exercise-2"' in page  # its two rows and blank ones
    form = {"title": "Week one", "due_at": "", "late_policy": "accept", "late_penalty": "0", "scoring": "best",
            "solution_policy": "after_due", "visible": "1", "rows": "3",
            "exercise-0": "gate-add", "points-0": "4", "order-0": "2",
            "exercise-1": "seed-chain-w1-22", "points-1": "1", "attempts-1": "2", "order-1": "1"}
    assert client.post(url, data=form).status_code == 302
    db.session.expire_all()
    week = db.session.get(Assignment, week.id)
    assert week.title == "Week one" and week.late_policy == "accept"
    assert [(i.exercise.slug, i.points, i.attempt_limit) for i in week.items] == [
        ("seed-chain-w1-22", 1.0, 2), ("gate-add", 4.0, None)]
    # dropping the answered exercise is refused, and nothing else changes either
    refused = client.post(url, data={**form, "exercise-0": "", "title": "Renamed"})
    assert refused.status_code == 409 and "Exercise gate-add has submissions" in refused.text
    db.session.expire_all()
    week = db.session.get(Assignment, week.id)
    assert week.title == "Week one" and len(week.items) == 2


def test_the_course_page_links_to_its_problem_sets(client, world):
    login(client, "ada")
    page = client.get(f"/instructor/courses/{world.course.id}").text
    assert f'href="/instructor/courses/{world.course.id}/assignments"' in page
