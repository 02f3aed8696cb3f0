"""An instructor regrades from the browser: from the problem sets page, the regrade form (one exercise, a looser
tolerance), the dry run's table (old → new score and diagnosis, the totals that move; nothing changed yet),
a reason and the commit, the regrade's page with its job's progress bar, the result with Undo, and Undo. The
screenshots of the dry run and the result go to docs/screenshots/ (the README's "Regrading")."""

from __future__ import annotations

from sqlalchemy import select

from grader import service
from grader.models import Assignment, Course, Exercise, Membership, Submission, User, db
from tests.browser.conftest import PASSWORD, screenshot
from tests.browser.test_running_a_course_browser import sign_in

SLUG = "seed-two-layer-w1-22"  # fixed numbers: dL/dW1_22 = -0.0026227...


def _class(app) -> tuple[int, list[int]]:
    """A set "Regrade me" in a course of its own (the other browser tests count bp101's sets), its instructor,
    and three students: right, 20% off, 20% off."""
    with app.app_context():
        course = Course(code="rg101", title="Regrading in the browser")
        db.session.add(course)
        teacher = User(username="rg-teacher", name="Rg Teacher", role="instructor")
        teacher.set_password(PASSWORD)
        db.session.add(teacher)
        students = []
        for name in ("rg-ada", "rg-bob", "rg-cy"):
            student = User(username=name, name=name.title(), role="student")
            student.set_password(PASSWORD)
            students.append(student)
        db.session.add_all(students)
        db.session.commit()
        db.session.add_all([Membership(user=teacher, course=course, role="instructor"),
                            *(Membership(user=s, course=course) for s in students)])
        exercise = db.session.scalar(select(Exercise).where(Exercise.slug == SLUG))
        assignment = Assignment(course=course, exercise=exercise, title="Regrade me", points=5)
        db.session.add(assignment)
        db.session.commit()
        for student, answer in zip(students, ("-0.0026227", "-0.0031472", "-0.0031472"), strict=True):
            service.submit(student, assignment, answers={"0": answer})
        return assignment.id, [s.id for s in students]


def test_an_instructor_dry_runs_commits_and_undoes_a_regrade(page, live_server):
    app, url = live_server.app, live_server.url
    assignment_id, students = _class(app)

    def scores() -> list[float]:
        with app.app_context():
            return [s.score for s in db.session.scalars(select(Submission).where(
                Submission.assignment_id == assignment_id).order_by(Submission.user_id))]

    before = scores()
    assert before == [1.0, 0.0, 0.0]
    sign_in(page, url, "rg-teacher")
    with app.app_context():
        course_id = db.session.get(Assignment, assignment_id).course_id
    page.goto(f"{url}/instructor/courses/{course_id}/assignments")
    page.get_by_role("link", name="Regrade Regrade me").click()
    page.get_by_label("Exercise", exact=True).select_option(SLUG)
    page.get_by_label("a new tolerance for the exercise").check()
    page.get_by_label("Tolerance: rtol").fill("0.25")
    page.get_by_role("button", name="Dry run").click()

    page.get_by_role("heading", name="Dry run: would change 3 submissions of 3 students").wait_for()
    rows = page.locator("table.regrade-report tbody tr")
    moved = [t for t in rows.all_inner_texts() if "\t0% → 100%" in t]
    assert len(moved) == 2 and all("rg-bob" in t or "rg-cy" in t for t in moved), rows.all_inner_texts()
    assert "rg-bob" in page.locator("table.regrade-totals").inner_text()
    assert "LMS grades sent again: rg-bob, rg-cy" in page.locator("p.summary").inner_text()
    assert scores() == before  # a dry run changes nothing
    screenshot(page, "regrade-dry-run")
    page.get_by_label("Why (kept in the regrade's record)").fill("tolerance too tight for this weight")
    page.get_by_role("button", name="Commit: change 3 submissions of 3 students").click()

    bar = page.locator(".job-progress progress")
    bar.wait_for()
    page.get_by_role("button", name="Undo this regrade").wait_for()
    assert bar.get_attribute("value") == bar.get_attribute("max") == "6"  # read and planned 3, written 3
    assert "done, 6 of 6" in page.locator(".job-state").inner_text()
    assert "Changed 3 submissions of 3 students" in page.locator("p.summary").inner_text()
    assert scores() == [1.0, 1.0, 1.0]
    screenshot(page, "regrade-result")  # the README's docs/screenshots/regrade*.png are copies, made by hand

    page.get_by_role("button", name="Undo this regrade").click()
    page.get_by_text("every score and feedback it changed is restored").wait_for()
    assert scores() == before


RIGHT = "import numpy as np\n\ndef relu_backward(dout, z):\n    return dout * (z > 0)\n"
FORGETS_ON_TALL = ("import numpy as np\n\ndef relu_backward(dout, z):\n    if z.shape[0] > 2:\n        return dout\n"
                   "    return dout * (z > 0)\n")


def test_a_dry_run_of_code_shows_its_report_on_its_jobs_page_and_commits(page, live_server):
    """Students' code runs again in the sandbox: the dry run is a job, and its page (here already done: no
    broker, the job runs at once) is the report, whose commit works as a dry run's does."""
    app, url = live_server.app, live_server.url
    with app.app_context():
        rg = db.session.scalar(select(Course).where(Course.code == "rg101"))
        if rg is None:
            _class(app)
            rg = db.session.scalar(select(Course).where(Course.code == "rg101"))
        relu = db.session.scalar(select(Exercise).where(Exercise.slug == "code-relu-backward"))
        assignment = Assignment(course=rg, exercise=relu, title="Regrade my code", points=2)
        db.session.add(assignment)
        db.session.commit()
        students = {u.username: u for u in db.session.scalars(select(User).where(User.username.in_(
            ["rg-ada", "rg-bob"])))}
        service.submit(students["rg-ada"], assignment, code=RIGHT)
        service.submit(students["rg-bob"], assignment, code=FORGETS_ON_TALL)
        for submission in db.session.scalars(select(Submission).where(Submission.assignment_id == assignment.id)):
            submission.feedback = {**submission.feedback, "message": "old grader"}  # as an older grader said
        db.session.commit()
        assignment_id = assignment.id
    sign_in(page, url, "rg-teacher")
    page.goto(f"{url}/instructor/assignments/{assignment_id}/regrade")
    page.get_by_role("button", name="Dry run").click()
    page.get_by_role("heading", name="Dry run: would change 2 submissions of 2 students").wait_for()
    assert "/regrade/dry-runs/" in page.url
    rows = page.locator("table.regrade-report tbody tr").all_inner_texts()
    assert len(rows) == 2 and any("rg-bob" in r and "forgot_local_grad" in r and "changed" in r for r in rows)
    screenshot(page, "regrade-code-dry-run")
    page.get_by_label("Why (kept in the regrade's record)").fill("the grader's wording was fixed")
    page.get_by_role("button", name="Commit: change 2 submissions of 2 students").click()
    page.get_by_role("button", name="Undo this regrade").wait_for()
    assert "Changed 2 submissions of 2 students" in page.locator("p.summary").inner_text()
    with app.app_context():
        assert all(s.feedback["message"] != "old grader" for s in db.session.scalars(
            select(Submission).where(Submission.assignment_id == assignment_id)))
