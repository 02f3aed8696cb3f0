"""Dates at the ends of the calendar on the problem-set and overrides forms: an offset that takes a date past
year 1 or 9999, or more days added to a due date in 9999, is a field error (422, nothing stored), not a 500."""

from __future__ import annotations

from datetime import datetime

from grader.models import Assignment, AssignmentOverride
from tests.instructor.problem_set_world import SET_URL, count, make_set, world_fixture  # noqa: F401
from tests.instructor.test_problem_set_pages import FORM, new_url
from tests.web.conftest import login


def test_a_due_date_whose_offset_leaves_the_calendar_is_refused_on_its_field(client, world):
    login(client, "ada")
    for typed in ("0001-01-01T00:00+01:00", "9999-12-31T23:59-05:00"):
        response = client.post(new_url(world), data={**FORM, "due_at": typed})
        assert response.status_code == 422, response.text[:300]
        assert 'id="due_at-error"' in response.text and f'value="{typed}"' in response.text
    assert count(Assignment) == 0


def test_an_override_date_or_more_days_past_the_calendar_is_refused_on_its_field(client, world):
    far = make_set(world.course, "Far", due_at=datetime(9999, 12, 30, 0, 0))
    login(client, "ada")
    url = SET_URL.format(id=far.id) + "/overrides"
    response = client.post(url, data={"user": "alice", "days": "2"})
    assert response.status_code == 422, response.text[:300]
    assert 'id="days-error"' in response.text and "past the year 9999" in response.text
    response = client.post(url, data={"user": "alice", "due_at": "0001-01-01T00:00+01:00"})
    assert response.status_code == 422, response.text[:300]
    assert 'id="due_at-error"' in response.text
    assert count(AssignmentOverride) == 0
    assert client.post(url, data={"user": "alice", "days": "1"}).status_code == 302  # the last day still fits
