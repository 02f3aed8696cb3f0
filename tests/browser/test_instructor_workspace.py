"""The instructor workspace in real Chromium: an instructor writes an exercise from a blank page (a YAML error and
a schema error each at its line), saves it, previews seeds 0 and 7 with the worked solution, fills in the correct
answers, tries a classic mistake, runs the question tests, and is warned before an edit changes the numbers of a
student who opened it. A student gets 404 for every workspace page. Screenshots go to artifacts/screenshots."""

from __future__ import annotations

import re

import pytest
import yaml
from sqlalchemy import select

from grader import authoring
from grader.models import Assignment, Course, Exercise, Membership, User, db
from tests.browser.conftest import PASSWORD, screenshot, staff_member

# The notes' single neuron, written out: z = w·x, out = σ(z), a loss on out; the ask is dL/dw.
EXERCISE = """id: browser-neuron
title: "A sigmoid neuron"
kind: numeric
version: 1
prompt: |
  A neuron computes $z = w \\cdot x$ and $out = \\sigma(z)$ with $L = \\tfrac12 (out - y)^2$.
  Give $\\partial L/\\partial w$.
inputs: {x: {shape: [], value: 1.5}, y: {shape: [], value: 1.0}}
params: {w: {shape: [], random: {uniform: [-1.0, 1.0], decimals: 2, nonzero: true}}}
graph:
  - z = mul(w, x)
  - out = sigmoid(z)
  - L = half_sse(out, y)
ask:
  - {grad: w, label: "dL/dw"}
"""


def sign_in(page, url: str, username: str) -> None:
    page.goto(url + "/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def set_editor_text(page, text: str) -> None:
    """Replace the editor's whole text as a paste would (the small fixes below are typed key by key)."""
    page.locator(".cm-content").click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(text)


def errors_shown(page) -> list[str]:
    page.wait_for_function("() => document.getElementById('definition').dataset.validation !== 'pending'")
    return page.locator("#definition-errors li").all_inner_texts()


def test_an_instructor_writes_previews_and_tests_an_exercise(page, live_server):
    url = live_server.url
    staff_member(live_server.app, "ines-browser")
    sign_in(page, url, "ines-browser")
    page.get_by_role("link", name="Instructor").click()
    page.get_by_role("link", name="Write a new exercise").click()
    page.wait_for_selector("#definition[data-editor-ready=true]", state="attached")

    # A YAML syntax error: an unclosed bracket in the graph list.
    broken = EXERCISE.replace("  - z = mul(w, x)", "  - [z = mul(w, x)")
    set_editor_text(page, broken)
    page.wait_for_function("() => document.querySelectorAll('#definition-errors li').length > 0")
    listed = errors_shown(page)
    assert listed and listed[0].startswith("line 11") and "never closed" in listed[0], listed
    assert page.locator(".cm-lint-marker-error").count() >= 1
    # A schema error: an unknown op, named at its line with a suggestion.
    set_editor_text(page, EXERCISE.replace("sigmoid(z)", "sigmod(z)"))
    page.wait_for_function("() => [...document.querySelectorAll('#definition-errors li')]"
                           ".some(li => li.textContent.includes('sigmod'))")
    listed = errors_shown(page)
    assert any(text.startswith("line 12") and "did you mean 'sigmoid'" in text for text in listed), listed
    screenshot(page, "instructor-editor-error")
    # Fixed by typing the missing letter.
    page.evaluate("""() => {
        const view = document.getElementById("definition").editor.view;
        const line = view.state.doc.line(12);
        view.dispatch({selection: {anchor: line.from + line.text.indexOf("sigmod") + 5}});
        view.focus();
    }""")
    page.keyboard.type("i")
    page.wait_for_function("() => document.getElementById('definition').dataset.validation === 'ok'")
    assert page.locator("#definition-status").inner_text() == "No errors"
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(r"/instructor/exercises/browser-neuron/edit$"))
    assert "Saved version 1 (question tests passed)" in page.locator(".flashes").inner_text()

    # Preview seed 0 and seed 7 with the worked solution.
    page.get_by_role("link", name="Preview").click()
    assert page.locator("#preview-seed").inner_text() == "0"
    assert page.locator(".worked").get_by_text("never shown to students").is_visible()
    assert page.locator(".worked-backward > li").count() == 3  # three gates, back to front
    seed0 = page.locator(".worked-answers").inner_text()
    screenshot(page, "instructor-preview")
    page.get_by_label("Seed").fill("7")
    page.get_by_role("button", name="Show").click()
    assert page.locator("#preview-seed").inner_text() == "7"
    assert page.locator(".worked-answers").inner_text() != seed0  # other numbers, other answer

    # Fill in the correct answers: 100%; then a classic mistake with its diagnosis and gate.
    page.get_by_role("button", name="Fill in the correct answers").click()
    assert "Score 100%" in page.locator("#feedback").inner_text()
    page.get_by_label("Try a classic mistake").select_option(label="sign_error at L (answer 1)")
    page.get_by_role("button", name="Try it").click()
    feedback = page.locator(".answer-form").inner_text()
    assert "wrong sign" in feedback
    assert page.locator(".highlight-note").is_visible()  # the loss gate outlined on the graph
    screenshot(page, "instructor-preview-mistake")

    # Question tests on 100 seeds: the table.
    page.get_by_role("link", name="Question tests").click()
    page.get_by_label("Seeds", exact=True).select_option("100")
    page.get_by_role("button", name="Run the question tests").click()
    assert "passed" in page.locator("#report-title").inner_text()
    assert page.locator("table.mistakes tbody tr").count() >= 3
    screenshot(page, "instructor-question-tests")


@pytest.mark.http_errors(404, 409)
def test_an_edit_that_changes_a_students_numbers_is_confirmed_first(page, live_server):
    url, app = live_server.url, live_server.app
    staff_member(app, "ivan-browser")
    student = live_server.student("opener-browser")
    with app.app_context():  # ivan's own exercise, assigned in a course of its own (bp101's list stays as it is)
        ivan = db.session.scalar(select(User).where(User.username == "ivan-browser"))
        opener = db.session.scalar(select(User).where(User.username == student))
        source = EXERCISE.replace("browser-neuron", "browser-opened")
        saved, _ = authoring.save_checked(yaml.safe_load(source), ivan, source=source)
        course = Course(code="ws-browser", title="Workspace course")
        db.session.add_all([course, Membership(user=ivan, course=course, role="instructor"),
                            Membership(user=opener, course=course)])
        assignment = Assignment(course=course, exercise=saved, title="Opened")
        db.session.add(assignment)
        db.session.commit()
        assignment_id = assignment.id
    sign_in(page, url, student)
    page.goto(f"{url}/assignments/{assignment_id}")  # the student opens it: their seed is stored
    assert page.goto(f"{url}/instructor/exercises/browser-opened/edit").status == 404  # not for students
    page.context.clear_cookies()

    sign_in(page, url, "ivan-browser")
    page.goto(f"{url}/instructor/exercises/browser-opened/edit")
    page.wait_for_selector("#definition[data-editor-ready=true]", state="attached")
    set_editor_text(page, source.replace("uniform: [-1.0, 1.0]", "uniform: [-3.0, 3.0]"))
    page.wait_for_function("() => document.getElementById('definition').dataset.validation === 'ok'")
    page.get_by_role("button", name="Save").click()
    warning = page.locator("#stability")
    assert "1 of 1 students who opened it would get other numbers" in warning.inner_text()
    with app.app_context():
        assert db.session.scalar(select(Exercise).where(Exercise.slug == "browser-opened")).current_version == 1
    page.get_by_role("button", name="Save anyway").click()
    page.wait_for_url(re.compile(r"/edit$"))
    assert "Saved version 2" in page.locator(".flashes").inner_text()


@pytest.mark.http_errors(404)
def test_a_student_gets_404_for_every_workspace_page(page, live_server):
    url = live_server.url
    sign_in(page, url, live_server.student("nosy-browser"))
    for path in ("/instructor/", "/instructor/exercises/new", "/instructor/exercises/gate-add/edit",
                 "/instructor/exercises/gate-add/preview?seed=0", "/instructor/exercises/gate-add/check",
                 "/instructor/exercises/gate-add/versions"):
        assert page.goto(url + path).status == 404, path
    assert page.get_by_role("link", name="Instructor").count() == 0
