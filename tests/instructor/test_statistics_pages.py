"""The statistics and mistake-tally pages, their CSV and their API, on the simulated class of
tests/service/simulated_class.py (built once per backend): what each shows, and the reasons a degenerate set
gives in place of numbers. Who may open them: the authorization matrices."""

from __future__ import annotations

import csv
import io
import re

from sqlalchemy import select

from grader import service
from grader.models import Course, Membership, Submission, User, db
from tests.api.conftest import bearer
from tests.service import simulated_class
from tests.web.conftest import login

klass = simulated_class.klass  # the fixture


def signed_in(app, username: str = "teacher"):
    client = app.test_client()
    login(client, username)
    return client


def test_the_statistics_page_shows_the_numbers_their_plots_and_definitions(klass):
    app, week = klass
    page = signed_in(app).get(f"/instructor/assignments/{week}/statistics").text
    svgs = re.findall(r'<svg [^>]*role="img"[^>]*>\s*<title id="([\w-]+)-title">', page)
    assert svgs == ["hist-set", f"hist-{_item(week)}", f"attempt-{_item(week)}", f"fifths-{_item(week)}"]
    assert page.count("<desc id=") == 4 and 'class="histogram"' in page and 'class="quintiles"' in page
    # 18 of 20 students at 100% (the unknown slip's two are short), two attempts at most
    assert re.search(r"At 0% · at 100%</th><td>\d+ · 18</td>", page)
    assert "the set has no other exercise: there is no rest of the set to compare with" in page
    for definition in ("Facility", "Discrimination index", "Discriminative efficiency", "Quintiles",
                       "Time from opening to first attempt"):
        assert f"<dt>{definition}</dt>" in page


def test_the_course_tab_lists_each_set_with_its_totals(klass):
    app, week = klass
    course = db.session.scalar(select(Course.id))
    client = signed_in(app)
    assert f'href="/instructor/courses/{course}/statistics"' in client.get(f"/instructor/courses/{course}").text
    page = client.get(f"/instructor/courses/{course}/statistics").text
    row = re.search(rf'<tr id="set-{week}">(.*?)</tr>', page, re.S).group(1)
    assert "<td>20</td>" in row and f'href="/instructor/assignments/{week}/statistics"' in row
    assert f'href="/instructor/assignments/{week}/statistics"' in client.get(
        f"/instructor/courses/{course}/assignments").text  # and from the problem sets' list


def test_the_csv_has_a_row_per_number_and_says_why_one_is_absent(klass):
    app, week = klass
    response = signed_in(app).get(f"/instructor/assignments/{week}/statistics/csv")
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    rows = {(r["scope"], r["measure"]): r for r in csv.DictReader(io.StringIO(response.text))}
    assert rows[("set", "students")]["value"] == "20"
    assert rows[("seed-three-layer-matrix", "attempt_2_mean")]["value"] == "0.9"
    absent = rows[("seed-three-layer-matrix", "discrimination_index")]
    assert absent["value"] == "" and "no other exercise" in absent["why_absent"]


def test_the_tally_page_charts_and_tables_the_mistakes_and_the_unexplained_answers(klass):
    app, week = klass
    page = signed_in(app).get(f"/instructor/assignments/{week}/mistakes").text
    assert f'<svg xmlns="http://www.w3.org/2000/svg" id="tally-{_item(week)}"' in page
    row = re.search(r'<tr data-quantity="0" data-mistake="sign_error">(.*?)</tr>', page, re.S).group(1)
    assert "5 of 20 (25.0%)" in row and '<td class="any">6</td>' in row
    row = re.search(r'<tr data-quantity="0" data-mistake="transposed">(.*?)</tr>', page, re.S).group(1)
    assert "4 of 20 (20.0%)" in row
    unexplained = page[page.index('class="unexplained"'):]
    assert unexplained.count("/submissions/") == 2 and "u09 #1" in unexplained and "u10 #1" in unexplained


def test_a_tally_row_opens_its_students_and_their_submissions(klass):
    app, week = klass
    item = _item(week)
    page = signed_in(app).get(f"/instructor/assignments/{week}/mistakes/{item}?quantity=0&mistake=sign_error").text
    assert re.findall(r"\((u\d\d)\)</small>", page) == ["u00", "u01", "u02", "u03", "u04", "u11"]
    first = db.session.scalar(select(Submission.id).join(User, User.id == Submission.user_id)
                              .where(User.username == "u00", Submission.attempt == 1))
    assert f'href="/submissions/{first}"' in page
    course = db.session.scalar(select(Course.id))
    assert f'href="/instructor/courses/{course}/students/u00#submission-{first}"' in page
    missing = signed_in(app).get(f"/instructor/assignments/{week}/mistakes/{item + 1000}?quantity=0&mistake=x")
    assert missing.status_code == 404


def test_the_api_gives_the_same_numbers(klass):
    app, week = klass
    client = app.test_client()
    stats = client.get(f"/api/v1/assignments/{week}/statistics", headers=bearer("teacher")).get_json()
    item = stats["items"][0]
    assert stats["totals"]["students"] == 20 and item["by_attempt"][1] == {"number": 2, "students": 10, "mean": 0.9}
    assert item["discrimination"]["value"] is None and "no other exercise" in item["discrimination"]["why"]
    tallies = client.get(f"/api/v1/assignments/{week}/mistakes", headers=bearer("teacher")).get_json()
    rows = {(r["quantity"], r["mistake"]): r for r in tallies["items"][0]["rows"]}
    assert rows[("0", "sign_error")]["first_attempt_share"] == 0.25 and rows[("0", "transposed")][
        "first_attempt_students"] == 4
    assert len(tallies["items"][0]["unexplained"]) == 1
    csv_text = client.get(f"/api/v1/assignments/{week}/statistics?format=csv", headers=bearer("teacher")).text
    assert csv_text.startswith("scope,measure,value,why_absent")


def test_a_degenerate_set_says_why_numbers_are_absent(klass):
    """One student at a new set of the same exercise, right at once (no second student), then a second one
    also at 100% (no spread); and a set nobody has submitted to."""
    app, _ = klass
    course = db.session.scalar(select(Course))
    lone = User(username="lone", name="Lone", role="student", password_hash="!")  # never signs in
    db.session.add_all([lone, Membership(user=lone, course=course)])
    db.session.commit()
    single = service.create_assignment(course, [service.ItemSpec(simulated_class.SLUG, 1, None)], title="Alone")
    exercise = single.items[0].exercise
    _, variant = service.variant_for(lone, exercise)
    right = {str(i): variant.expected(ask).tolist() for i, ask in enumerate(variant.exercise.asks)}
    service.submit(lone, single, answers=right)
    empty = service.create_assignment(course, [service.ItemSpec(simulated_class.SLUG, 1, None)], title="Empty")
    client = signed_in(app)
    page = client.get(f"/instructor/assignments/{single.id}/statistics").text
    assert "— needs at least 2 students" in page and "needs at least 5 students (one per fifth)" in page
    assert re.search(r"At 0% · at 100%</th><td>0 · 1</td>", page)
    twin = User(username="twin", name="Twin", role="student", password_hash="!")  # also at 100%: no spread
    db.session.add_all([twin, Membership(user=twin, course=course)])
    db.session.commit()
    service.variant_for(twin, exercise)
    service.submit(twin, single, answers=right)
    page = client.get(f"/instructor/assignments/{single.id}/statistics").text
    assert '<td class="discrimination"><span class="muted absent">— no spread: everyone scored the same' in page
    assert re.search(r"At 0% · at 100%</th><td>0 · 2</td>", page) and "— needs at least 2 students" not in page
    nothing = client.get(f"/instructor/assignments/{empty.id}/statistics").text
    assert "No graded submissions yet" in nothing and "— no graded submissions yet" in nothing
    assert "No mistake named yet." in client.get(f"/instructor/assignments/{empty.id}/mistakes").text


def _item(week: int) -> int:
    return service.staff_assignment(db.session.scalar(select(User).where(User.username == "teacher")),
                                    week).items[0].id
