"""An instructor runs a course's roster in a real browser: creates a course, uploads a class list of five
students, sees each one's one-time sign-in link; a student opens theirs, chooses a password and is in the
course. CSRF is on (as in production). Screenshots go to artifacts/screenshots/."""

from __future__ import annotations

import re

from grader.models import User, db
from tests.browser.conftest import PASSWORD, screenshot

CLASS_LIST = ("username,name,email,role\n" + "".join(
    f"rstudent{i},Roster Student {i},rstudent{i}@example.org,student\n" for i in range(1, 6)))


def test_an_instructor_creates_a_course_and_hands_out_links_for_a_class_list(page, browser, live_server, tmp_path):
    with live_server.app.app_context():
        teacher = User(username="roster-teacher", name="Roster Teacher", role="instructor")
        teacher.set_password(PASSWORD)
        db.session.add(teacher)
        db.session.commit()
    page.goto(live_server.url + "/login")
    page.get_by_label("Username").fill("roster-teacher")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Courses & rosters").click()
    page.get_by_label("Code (short, unique, no spaces)").fill("nn202")
    page.get_by_label("Title").fill("Neural Networks 202")
    page.get_by_role("button", name="Create the course").click()
    page.wait_for_url(re.compile(r"/instructor/courses/\d+$"))
    assert page.locator("h1").inner_text() == "nn202: Neural Networks 202"
    assert "roster-teacher" in page.locator("table.roster").inner_text()

    csv_file = tmp_path / "class.csv"
    csv_file.write_text(CLASS_LIST)
    page.get_by_label("CSV file").set_input_files(str(csv_file))
    page.get_by_role("button", name="Upload").click()
    page.wait_for_selector("table.sign-in-links")
    assert "5 accounts created, 0 existing accounts added" in page.locator("p.summary").inner_text()
    links = page.locator("code.sign-in-link").all_inner_texts()
    assert len(links) == 5 and len(set(links)) == 5
    assert all(link.startswith(live_server.url + "/sign-in/") for link in links)
    screenshot(page, "roster-class-list-links")

    page.get_by_role("link", name="Back to the roster of nn202").click()
    assert page.locator("table.roster tbody tr").count() == 6
    screenshot(page, "roster-page")

    student = browser.new_context().new_page()
    try:
        student.goto(links[2])
        student.get_by_role("button", name="Sign in and choose a password").click()
        student.wait_for_url(re.compile(r"/account/password$"))
        student.get_by_label("New password", exact=True).fill("rstudent3-own-password")
        student.get_by_label("New password again").fill("rstudent3-own-password")
        student.get_by_role("button", name="Save the new password").click()
        assert "Your password is changed." in student.locator(".flashes").inner_text()
        assert "Neural Networks 202" in student.content()
        student.goto(links[2])  # once only
        student.get_by_role("button", name="Sign in and choose a password").click()
        assert "already used" in student.locator("main").inner_text()
    finally:
        student.context.close()
