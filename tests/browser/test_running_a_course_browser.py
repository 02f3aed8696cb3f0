"""An instructor runs a course from the browser, end to end: creates it, uploads a class list of five, builds a
problem set of three exercises due yesterday, gives one student two more days, then reads the gradebook,
downloads its CSV, overrides a score with a reason and opens a student's attempts and worked solution. The
student with the extension submits after the general due date; another cannot. A TA does the grading steps and
gets 403 on changing an exercise. CSRF is on, as in production; screenshots go to artifacts/screenshots/."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from grader.models import GradeChange, ManualScore, Submission, User, db, utcnow
from tests.browser.conftest import PASSWORD, screenshot

CLASS_LIST = "username,name,email,role\n" + "".join(
    f"flow{i},Flow Student {i},flow{i}@example.org,student\n" for i in range(1, 6))
EXERCISES = ("gate-add", "gate-multiply", "single-neuron")
EXTENDED, ON_TIME = "flow2", "flow4"


def sign_in(page, base_url: str, username: str, password: str = PASSWORD) -> None:
    page.goto(base_url + "/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def make_account(app, username: str, role: str = "student") -> None:
    with app.app_context():
        user = User(username=username, name=username.replace("-", " ").title(), role=role)
        user.set_password(PASSWORD)
        db.session.add(user)
        db.session.commit()


def set_password(app, username: str) -> None:
    """Students of the class list get one-time links (tests/browser/test_course_roster_browser.py walks one);
    here two of them simply have a password already."""
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        user.set_password(PASSWORD)
        db.session.commit()


@pytest.mark.http_errors(403)
def test_an_instructor_runs_a_course_and_a_ta_grades_it(page, browser, live_server, tmp_path):
    app, url = live_server.app, live_server.url
    make_account(app, "flow-teacher", "instructor")
    make_account(app, "flow-ta")
    sign_in(page, url, "flow-teacher")

    # A course, its class list and a TA.
    page.get_by_role("link", name="Courses & rosters").click()
    page.get_by_label("Code (short, unique, no spaces)").fill("flow301")
    page.get_by_label("Title").fill("Running a course")
    page.get_by_role("button", name="Create the course").click()
    page.wait_for_url(re.compile(r"/instructor/courses/\d+$"))
    course_url = page.url
    class_list = tmp_path / "class.csv"
    class_list.write_text(CLASS_LIST)
    page.get_by_label("CSV file").set_input_files(str(class_list))
    page.get_by_role("button", name="Upload").click()
    assert "5 accounts created" in page.locator("p.summary").inner_text()
    page.goto(course_url)
    page.get_by_label("Username", exact=True).fill("flow-ta")
    page.get_by_label("Role", exact=True).select_option("ta")
    page.get_by_role("button", name="Add").click()
    assert page.locator("table.roster tbody tr").count() == 7  # the instructor, the TA, five students

    # A problem set of three exercises, due yesterday (late submissions refused).
    page.get_by_role("link", name="Problem sets").click()
    page.get_by_role("link", name=re.compile("New problem set")).click()
    page.get_by_label("Title (empty: the first exercise's)").fill("Week 1: gates")
    yesterday = (utcnow() - timedelta(days=1)).replace(second=0, microsecond=0)
    page.get_by_label("Due date and time, UTC (empty: no due date)").fill(yesterday.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("reject late submissions").check()
    for row, slug in enumerate(EXERCISES):
        page.locator(f"#exercise-{row}").select_option(slug)
        page.locator(f"#points-{row}").fill("2")
        page.locator(f"#attempts-{row}").fill("3")
    page.get_by_role("button", name="Create the problem set").click()
    assert "Week 1: gates" in page.locator("main").inner_text()
    screenshot(page, "course-problem-sets")

    # Two more days for one student.
    page.get_by_role("link", name=re.compile("Overrides")).first.click()
    page.get_by_label(re.compile(rf"\b{EXTENDED} \(")).check()
    page.get_by_label("Or this many more days after the set's due date").fill("2")
    page.get_by_role("button", name="Give the override").click()
    overrides = page.locator("main").inner_text()
    assert EXTENDED in overrides and (yesterday + timedelta(days=2)).strftime("%Y-%m-%d") in overrides
    set_url = page.url.removesuffix("/overrides")
    assignment_id = int(re.search(r"/assignments/(\d+)", set_url).group(1))

    # The extended student submits after the general due date; another student cannot.
    for username in (EXTENDED, ON_TIME):
        set_password(app, username)
    student = browser.new_context().new_page()
    try:
        sign_in(student, url, EXTENDED)
        student.goto(f"{url}/assignments/{assignment_id}")
        assert "Your due date" in student.locator("main").inner_text()
        student.goto(f"{url}/assignments/{assignment_id}/exercises/1")
        assert student.get_by_role("button", name="Submit").is_enabled()
        for box in student.locator("input[name^='answer-']").all():
            box.fill("1")
        student.get_by_role("button", name="Submit").click()
        student.wait_for_selector("#feedback-title")
        assert student.locator("#feedback-title").inner_text().startswith("Attempt 1")
        screenshot(student, "course-extended-student-submits")
    finally:
        student.context.close()
    with app.app_context():
        submitted = db.session.scalars(select(Submission).where(Submission.assignment_id == assignment_id)).all()
        assert [(s.user_id is not None, s.status, s.attempt, s.late) for s in submitted] == [
            (True, "graded", 1, False)]  # on time by their own due date
    other = browser.new_context().new_page()
    try:
        sign_in(other, url, ON_TIME)
        other.goto(f"{url}/assignments/{assignment_id}/exercises/1")
        assert "The due date has passed" in other.locator("main").inner_text()
        assert other.get_by_role("button", name="Submit").is_disabled()
    finally:
        other.context.close()

    # The gradebook, its CSV, a manual score with a reason.
    page.goto(course_url)
    page.get_by_role("link", name="Gradebook").click()
    table = page.locator("table").first.inner_text()
    assert all(f"flow{i}" in table for i in range(1, 6)) and "Week 1: gates" in table
    screenshot(page, "course-gradebook")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    rows = list(csv.reader(io.StringIO(download.value.path().read_text())))
    assert rows[0][:3] == ["username", "name", "email"] and any("Week 1: gates" in h for h in rows[0])
    assert sorted((r[0], r[2]) for r in rows[1:]) == [(f"flow{i}", f"flow{i}@example.org") for i in range(1, 6)]
    page.locator("tr", has_text=ON_TIME).locator("td a").first.click()
    page.get_by_label(re.compile(r"^Points")).fill("5")
    page.get_by_label("Reason (kept in the grade log)").first.fill("Submitted on paper during the outage")
    page.get_by_role("button", name="Set the manual score").click()
    page.goto(course_url)
    page.get_by_role("link", name="Gradebook").click()
    assert "manual" in page.locator("tr", has_text=ON_TIME).inner_text()
    page.get_by_role("link", name="Grade log").click()
    assert "Submitted on paper during the outage" in page.locator("main").inner_text()

    # A student's attempts and their worked solution as they see it.
    page.goto(course_url)
    page.get_by_role("link", name="Gradebook").click()
    page.get_by_role("link", name="Flow Student 2").click()
    work = page.locator("main").inner_text()
    assert "Attempt 1" in work and "Week 1: gates" in work
    screenshot(page, "course-student-work")
    page.locator("a.worked-link").first.click()
    page.wait_for_selector("#worked-title")
    shown = page.locator("main").inner_text()
    with app.app_context():
        seed = db.session.scalar(select(Submission.seed).where(Submission.assignment_id == assignment_id))
    assert f"seed {seed} · as {EXTENDED} sees it" in shown  # their numbers, not a fresh variant
    assert "Worked solution" in shown and "Backward pass, gate by gate" in shown
    screenshot(page, "course-worked-solution")

    # The TA grades (an extension, a manual score) but cannot change an exercise.
    ta = browser.new_context().new_page()
    try:
        sign_in(ta, url, "flow-ta")
        ta.goto(f"{set_url}/overrides")
        ta.get_by_label(re.compile(r"\bflow5 \(")).check()
        ta.get_by_label("Extra attempts at each exercise (empty: unchanged)").fill("2")
        ta.get_by_role("button", name="Give the override").click()
        assert "flow5" in ta.locator("main").inner_text()
        ta.goto(course_url + "/gradebook")
        ta.locator("tr", has_text="flow3").locator("td a").first.click()
        ta.get_by_label(re.compile(r"^Points")).fill("1")
        ta.get_by_label("Reason (kept in the grade log)").first.fill("Regraded by the TA")
        ta.get_by_role("button", name="Set the manual score").click()
        ta.goto(f"{url}/instructor/exercises/gate-add/edit")
        assert "TAs can read definitions but not change them" in ta.locator("main").inner_text()
        status = ta.evaluate("""async () => {
            const form = document.querySelector("textarea[name=definition]").form;
            const response = await fetch(form.action, {method: "POST", body: new FormData(form)});
            return response.status;
        }""")
        assert status == 403
        edit = ta.goto(f"{set_url}/edit")
        assert edit.status == 403
    finally:
        ta.context.close()
    with app.app_context():
        manual = {s.user.username: (s.points, s.reason) for s in db.session.scalars(select(ManualScore))}
        assert manual == {ON_TIME: (5.0, "Submitted on paper during the outage"), "flow3": (1.0, "Regraded by the TA")}
        assert db.session.scalar(select(GradeChange).where(GradeChange.reason == "Regraded by the TA")).actor.username \
            == "flow-ta"
