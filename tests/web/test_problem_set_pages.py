"""A problem set of several exercises reads as one page (its exercises, their status and points, what is left),
each exercise has a page of its own within the set, and a submission there counts for that exercise."""

from __future__ import annotations

import re

from grader import service
from grader.service import ItemSpec
from tests.service.conftest import user
from tests.web.conftest import login


def week(course):
    return service.create_assignment(course, [ItemSpec("seed-two-layer-w1-22", 2, 3), ItemSpec("gate-add", 1, 1)],
                                     title="Week 1")


def test_the_course_page_links_to_the_set_and_the_set_page_lists_its_exercises(client, course):
    problem_set = week(course)
    login(client)
    page = client.get(f"/courses/{course.id}").text
    assert f'href="/assignments/{problem_set.id}"' in page and "(2 exercises)" in page
    assert "2 of 2 exercises left" in page
    page = client.get(f"/assignments/{problem_set.id}").text
    assert "Left to do: 2 of 2 exercises." in page
    for position in (1, 2):
        assert f'href="/assignments/{problem_set.id}/exercises/{position}"' in page
    assert re.search(r'id="set-points">0 / 3<', page)


def test_an_exercise_of_the_set_submits_to_itself_and_counts_for_it(client, course):
    problem_set = week(course)
    login(client)
    page = client.get(f"/assignments/{problem_set.id}/exercises/1").text
    assert f'action="/assignments/{problem_set.id}/exercises/1"' in page and "Week 1</a>" in page
    response = client.post(f"/assignments/{problem_set.id}/exercises/1", data={"answer-0": "-0.00262270"})
    assert response.status_code == 303
    first = problem_set.items[0]
    assert service.item_scores(user("alice"), problem_set) == {first.id: 2.0}
    assert service.attempts_left(user("alice"), first) == 2
    page = client.get(f"/assignments/{problem_set.id}").text
    assert "Left to do: 1 of 2 exercises." in page and re.search(r'id="set-points">2 / 3<', page)
    assert client.get(f"/assignments/{problem_set.id}/exercises/3").status_code == 404


def test_a_student_with_an_extension_sees_their_due_date_and_can_submit_after_the_sets(client, course):
    from datetime import timedelta

    from grader.models import utcnow

    closed = service.create_assignment(course, [ItemSpec("seed-two-layer-w1-22", 2, 1)], title="Closed",
                                       due_at=utcnow() - timedelta(hours=1), late_policy="reject")
    service.set_override(closed, ["alice"], due_at=utcnow() + timedelta(days=2), extra_attempts=1)
    login(client, "alice")
    page = client.get(f"/assignments/{closed.id}").text
    assert "Your due date:" in page and "1 extra attempt for you" in page and "has passed" not in page
    assert "Your due date:" in client.get(f"/courses/{course.id}").text
    assert client.post(f"/assignments/{closed.id}", data={"answer-0": "1"}).status_code == 303
    assert service.attempts_left(user("alice"), closed) == 1
    client.post("/logout")
    login(client, "bob")
    page = client.get(f"/assignments/{closed.id}").text
    assert "Your due date:" not in page and "The due date has passed" in page
