"""The gradebook pages: the table (sort, filter, marks, links), the CSV download, the cell page (set and remove
a manual score with a reason, errors re-rendered with what was typed), the grade log; TAs use all of it,
students and outsiders get 404."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from grader import authoring, service
from grader.models import Course, GradeChange, Membership, db, utcnow
from tests.service.conftest import assign, make_user, user
from tests.web.conftest import login

RIGHT = {"0": "-0.0026227"}


@pytest.fixture
def book(app):
    """bp101 (alice, bob; teacher the instructor; tom a TA; olga teaches another course) with two sets: alice
    earned 10 at the first, bob was late at the second and has an override of the first."""
    authoring.import_catalogue(app.config["EXERCISES_DIR"])
    course = Course(code="bp101", title="Backprop 101")
    alice, bob, teacher = make_user("alice"), make_user("bob"), make_user("teacher", "instructor")
    tom, olga = make_user("tom"), make_user("olga", "instructor")
    alice.name, bob.name = "Zed Alice", "Bob Brown"
    db.session.add_all([Membership(user=alice, course=course), Membership(user=bob, course=course),
                        Membership(user=teacher, course=course, role="instructor"),
                        Membership(user=tom, course=course, role="ta"),
                        Membership(user=olga, course=Course(code="dl201", title="Other"), role="instructor")])
    db.session.commit()
    first = assign(course, "seed-two-layer-w1-22", points=10, attempt_limit=None)
    second = assign(course, "seed-chain-w1-22", points=5, attempt_limit=None, position=1, late_policy="accept",
                    due_at=utcnow() - timedelta(days=1))
    first.title, second.title = "Week 1", "Week 2"
    db.session.commit()
    service.submit(user("alice"), first, answers=RIGHT)
    service.submit(user("bob"), second, answers={str(i): "1" for i in range(5)})
    service.set_override(first, ["bob"], due_at=datetime(2030, 5, 6, 7, 8), extra_attempts=2)
    return course, first, second


def rows_of(html: str) -> list[str]:
    """The usernames in the table's order."""
    return re.findall(r"</a></th><td>([a-z]+)</td>", html)


def test_the_table_shows_points_marks_totals_and_links(client, book):
    course, first, second = book
    login(client, "teacher")
    page = client.get(f"/instructor/courses/{course.id}/gradebook")
    assert page.status_code == 200
    html = page.text
    assert rows_of(html) == ["bob", "alice"]  # by name: Bob Brown, Zed Alice
    assert f'href="/instructor/courses/{course.id}/students/alice">Zed Alice</a>' in html
    assert f'href="/instructor/courses/{course.id}/gradebook/{first.id}/alice">10/10</a>' in html
    assert "<small>/15</small>" in html  # the possible total
    assert 'class="mark late">late</span>' in html
    assert 'title="override: due 2030-05-06 07:08 UTC, 2 extra attempts">override</span>' in html
    assert f'href="/instructor/courses/{course.id}/gradebook/csv"' in html
    roster = client.get(f"/instructor/courses/{course.id}").text
    assert f'href="/instructor/courses/{course.id}/gradebook"' in roster


def test_the_table_sorts_by_any_column_both_ways(client, book):
    course, first, _ = book
    login(client, "teacher")
    url = f"/instructor/courses/{course.id}/gradebook"
    assert rows_of(client.get(url, query_string={"sort": "username"}).text) == ["alice", "bob"]
    assert rows_of(client.get(url, query_string={"sort": "name", "dir": "desc"}).text) == ["alice", "bob"]
    assert rows_of(client.get(url, query_string={"sort": f"a{first.id}", "dir": "desc"}).text) == ["alice", "bob"]
    assert rows_of(client.get(url, query_string={"sort": "total"}).text) == ["bob", "alice"]
    html = client.get(url, query_string={"sort": "username"}).text
    # the sorted header links to the other direction
    assert f'aria-sort="ascending"><a href="/instructor/courses/{course.id}/gradebook?sort=username&amp;dir=desc"' \
        in html


def test_the_table_filters_by_text_and_marks(client, book):
    course, first, _ = book
    service.set_manual_score(user("teacher"), first, "alice", 3, "by hand")
    login(client, "teacher")
    url = f"/instructor/courses/{course.id}/gradebook"
    assert rows_of(client.get(url, query_string={"q": "ZED"}).text) == ["alice"]
    assert rows_of(client.get(url, query_string={"q": "bo"}).text) == ["bob"]
    assert rows_of(client.get(url, query_string={"late": "1"}).text) == ["bob"]
    assert rows_of(client.get(url, query_string={"overrides": "1"}).text) == ["bob"]
    manual = client.get(url, query_string={"manual": "1"}).text
    assert rows_of(manual) == ["alice"] and "1 of 2 students" in manual
    assert 'class="mark manual">manual</span> <small>(earned 10)</small>' in manual and ">3/10</a>" in manual
    assert "No student matches" in client.get(url, query_string={"q": "nobody"}).text


def test_the_csv_download_is_the_services(client, book):
    course, first, second = book
    login(client, "tom")
    response = client.get(f"/instructor/courses/{course.id}/gradebook/csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="gradebook-bp101.csv"'
    assert response.text == service.gradebook_csv(course)
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0][3:] == [f"Week 1 (id {first.id})", f"Week 2 (id {second.id})", "total"]


def test_a_ta_sets_and_removes_a_manual_score_with_a_reason_and_the_log_shows_it(client, book):
    course, first, _ = book
    login(client, "tom")
    url = f"/instructor/courses/{course.id}/gradebook/{first.id}/alice"
    page = client.get(url)
    assert page.status_code == 200 and "Counts: <strong>10</strong> of 10" in page.text
    done = client.post(url, data={"action": "set", "points": "4,5", "reason": "late upload accepted by hand"})
    assert done.status_code == 302 and done.location.endswith(url)
    page = client.get(url).text
    assert "alice now has 4.5 of 10 for Week 1." in page and "the submissions earn 10" in page
    assert "late upload accepted by hand" in page and "Remove the manual score" in page
    done = client.post(url, data={"action": "remove", "reason": "regraded"})
    assert done.status_code == 302
    assert service.gradebook_cell(first, user("alice")).points == 10
    log = client.get(f"/instructor/courses/{course.id}/gradebook/log").text
    assert log.index("regraded") < log.index("late upload accepted by hand")  # newest first
    assert "removed: the submissions" in log and ">tom</td>" in log


@pytest.mark.parametrize(("form", "field", "says"), [
    ({"action": "set", "points": "11", "reason": "too generous"}, "points", "from 0 to 10"),
    ({"action": "set", "points": "lots", "reason": "typed a word"}, "points", "as a number"),
    ({"action": "set", "points": "nan", "reason": "not a number"}, "points", "as a number"),
    ({"action": "set", "points": "4", "reason": "   "}, "reason", "give a reason"),
])
def test_bad_input_re_renders_with_what_was_typed_and_the_field_named(client, book, form, field, says):
    course, first, _ = book
    login(client, "teacher")
    response = client.post(f"/instructor/courses/{course.id}/gradebook/{first.id}/alice", data=form)
    assert response.status_code == 422
    html = response.text
    assert f'<p class="field-error" id="{field}-error">' in html and says in html
    assert f'aria-describedby="{field}-error"' in html
    assert f'value="{form["points"]}"' in html and (form["reason"] + "</textarea>") in html
    assert db.session.scalar(select(func.count()).select_from(GradeChange)) == 0


def test_removing_needs_a_reason_too(client, book):
    course, first, _ = book
    service.set_manual_score(user("teacher"), first, "alice", 3, "by hand")
    login(client, "teacher")
    response = client.post(f"/instructor/courses/{course.id}/gradebook/{first.id}/alice",
                           data={"action": "remove", "reason": ""})
    assert response.status_code == 422 and 'id="reason-error"' in response.text
    assert service.manual_score(first, user("alice")).points == 3


@pytest.mark.parametrize("who", ["alice", "olga"])
def test_students_and_other_instructors_get_404_everywhere(client, book, who):
    course, first, _ = book
    login(client, who)
    base = f"/instructor/courses/{course.id}/gradebook"
    for url in (base, base + "/csv", base + "/log", f"{base}/{first.id}/bob"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"{base}/{first.id}/bob", data={"action": "set", "points": "1", "reason": "x"}
                       ).status_code == 404
    assert service.manual_score(first, user("bob")) is None


def test_a_cell_of_someone_not_a_student_or_another_courses_set_is_404(client, book):
    course, first, _ = book
    other = assign(db.session.scalar(select(Course).where(Course.code == "dl201")), "gate-add")
    login(client, "teacher")
    base = f"/instructor/courses/{course.id}/gradebook"
    assert client.get(f"{base}/{first.id}/tom").status_code == 404  # the TA is no student
    assert client.get(f"{base}/{other.id}/alice").status_code == 404
