"""A set's statistics and mistake tallies in real Chromium: an instructor opens the statistics from the course's
problem sets, sees the three kinds of plot drawn (histogram, score by attempt, quintiles) with their data
tables, switches to the mistake tallies, and opens a tally row for its students and their submissions.
Screenshots go to artifacts/screenshots (the README's copies are docs/screenshots)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from grader import service
from grader.models import Course, Exercise, Membership, User, Variant, db, utcnow
from tests.browser.conftest import PASSWORD, screenshot
from tests.browser.test_instructor_workspace import sign_in

MATRIX, WEIGHT = "seed-three-layer-matrix", "seed-two-layer-w1-22"


def class_of_twelve(app) -> int:
    """A course of its own (the other browser tests count bp101's sets): twelve students at a set of two
    exercises; 3 with the sign error at the matrix exercise, 2 with dL/dW1 transposed, one with 3 × dL/dW3, the
    first four with the sign error at the single weight; the first five correct the matrix at attempt 2.
    Returns the set's id."""
    with app.app_context():
        course = Course(code="st101", title="Statistics in the browser")
        teacher = User(username="stella-browser", name="Stella Stats", role="instructor")
        teacher.set_password(PASSWORD)
        db.session.add_all([course, teacher, Membership(user=teacher, course=course, role="instructor")])
        students = []
        for i in range(12):
            # no password: nobody signs in as them (hashing twelve costs more than grading the class)
            students.append(User(username=f"st-{i:02d}", name=f"Student {i:02d}", role="student", password_hash="!"))
        db.session.add_all(students + [Membership(user=s, course=course) for s in students])
        db.session.commit()
        week = service.create_assignment(course, [service.ItemSpec(MATRIX, 3, 3), service.ItemSpec(WEIGHT, 1, 2)],
                                         title="Week 3: matrices")
        start = utcnow() - timedelta(hours=3)
        for i, student in enumerate(students):
            answers = {}
            for slug in (MATRIX, WEIGHT):
                exercise = db.session.scalar(select(Exercise).where(Exercise.slug == slug))
                _, variant = service.variant_for(student, exercise)
                answers[slug] = [variant.expected(ask) for ask in variant.exercise.asks]
                # opened 15 + 2i minutes before the class's first submission
                db.session.execute(Variant.__table__.update().where(
                    Variant.user_id == student.id, Variant.exercise_id == exercise.id).values(
                    created_at=start - timedelta(minutes=15 + 2 * i)))
            right = answers[MATRIX]
            first = ([-g for g in right] if i < 3 else [right[0].T, right[1], right[2]] if i < 5
                     else [right[0], right[1], 3 * right[2]] if i == 11 else right)  # st-11: a slip none names
            service.submit(student, week, exercise=MATRIX, answers={str(k): g.tolist() for k, g in enumerate(first)},
                           now=start + timedelta(minutes=5 * i))
            if i < 5:
                service.submit(student, week, exercise=MATRIX,
                               answers={str(k): g.tolist() for k, g in enumerate(right)},
                               now=start + timedelta(minutes=5 * i + 20))
            weight = answers[WEIGHT][0] * (-1 if i < 4 else 1)
            service.submit(student, week, exercise=WEIGHT, answers={"0": weight.tolist()},
                           now=start + timedelta(minutes=5 * i + 30))
        return week.id


def test_statistics_page_plots_and_a_tally_drill_down(page, live_server):
    week = class_of_twelve(live_server.app)
    sign_in(page, live_server.url, "stella-browser")
    with live_server.app.app_context():
        course = db.session.scalar(select(Course.id).where(Course.code == "st101"))
    page.goto(f"{live_server.url}/instructor/courses/{course}/assignments")
    page.get_by_role("link", name="Statistics of Week 3: matrices").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text() == "Week 3: matrices: statistics"
    charts = page.locator("svg.gradgate-chart[role=img]")
    assert charts.count() == 1 + 2 * 3  # the set's histogram; per exercise a histogram, by attempt, quintiles
    for i in range(charts.count()):
        box = charts.nth(i).bounding_box()
        assert box is not None and box["width"] > 100 and box["height"] > 80  # drawn, not collapsed
    assert page.locator(f"svg#attempt-{_item(live_server, week, MATRIX)} rect.bar").count() == 2
    by_attempt = page.locator(f"#item-{_item(live_server, week, MATRIX)} table.by-attempt tbody tr")
    assert by_attempt.nth(1).inner_text().split("\t") == ["2", "5", "100.0%"]
    assert "dubious" not in page.locator(f"#item-{_item(live_server, week, MATRIX)} td.discrimination").inner_text()
    screenshot(page, "statistics-page")

    page.get_by_role("link", name="Mistake tallies", exact=True).click()
    page.wait_for_load_state()
    matrix = _item(live_server, week, MATRIX)
    row = page.locator(f'#tally-item-{matrix} tr[data-quantity="0"][data-mistake="sign_error"]')
    assert "3 of 12 (25.0%)" in row.inner_text()
    assert page.locator(f"svg#tally-{matrix} rect.bar").count() == 4  # sign error at 3 asks, transposed at one
    assert "st-11 #1" in page.locator(f"#tally-item-{matrix} table.unexplained").inner_text()
    screenshot(page, "mistake-tallies")

    row.get_by_role("link", name="sign_error").click()
    page.wait_for_load_state()
    students = page.locator("table.mistake-students tbody tr")
    assert students.count() == 3
    assert [students.nth(i).locator("th small").inner_text() for i in range(3)] == ["(st-00)", "(st-01)", "(st-02)"]
    screenshot(page, "mistake-drill-down")
    students.nth(0).get_by_role("link", name="attempt 1").click()
    page.wait_for_load_state()
    assert "/submissions/" in page.url and page.locator("body").inner_text().count("sign") >= 1


def _item(live_server, week: int, slug: str) -> int:
    with live_server.app.app_context():
        return next(i.id for i in service.staff_assignment(
            db.session.scalar(select(User).where(User.username == "stella-browser")), week).items
            if i.exercise.slug == slug)
