"""The gradebook's query numbers as typed by hand: a superscript digit ("²".isdigit() is true, int() refuses
it) or a page number of thousands of digits is read as no number (the first page, the default sort), never a
500."""

from __future__ import annotations

import pytest

from tests.instructor.problem_set_world import make_set, world_fixture  # noqa: F401
from tests.web.conftest import login


@pytest.mark.parametrize("query", ["/log?page=%C2%B2", "/log?page=" + "9" * 5000, "?sort=a%C2%B2",
                                   "?sort=a%C2%B9&dir=desc"])
def test_odd_numbers_in_the_query_are_ignored(client, world, query):
    make_set(world.course, "Week 1")
    login(client, "ada")
    response = client.get(f"/instructor/courses/{world.course.id}/gradebook{query}")
    assert response.status_code == 200, response.text[:300]
