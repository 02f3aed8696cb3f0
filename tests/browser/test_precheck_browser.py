"""Check on the example, in a real browser: with the script the result appears in place; without it the
button posts the form to the check. Either way expected and given are side by side and no attempt is used."""

from __future__ import annotations

import os
import re

import pytest

from tests.browser.conftest import PASSWORD, screenshot
from tests.browser.test_student_flow import _sandbox_problem, attempts_left, open_assignment, sign_in

RELU_OFF_BY_ONE = "import numpy as np\n\ndef relu_backward(dout, z):\n    return dout * (z > 0) + 1.0\n"


@pytest.fixture(autouse=True)
def _needs_the_sandbox():
    problem = _sandbox_problem()
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must grade code: {problem}")
        pytest.skip(problem)


def _side_by_side(page) -> None:
    expected = page.locator('table[aria-label^="expected grad(z)"]')
    given = page.locator('table[aria-label^="your grad(z)"]')
    assert expected.is_visible() and given.is_visible()
    e, g = expected.bounding_box(), given.bounding_box()
    assert e["x"] + e["width"] <= g["x"] and abs(e["y"] - g["y"]) < 5  # beside each other, not one under the other


def test_the_button_shows_expected_and_given_in_place_and_uses_no_attempt(page, live_server):
    sign_in(page, live_server, live_server.student("student-precheck"))
    open_assignment(page, live_server, "code-relu-backward")
    before, url = attempts_left(page), page.url
    page.locator("textarea#code").fill(RELU_OFF_BY_ONE)
    page.get_by_role("button", name="Check on the example").click()
    result = page.locator("#precheck-result")
    result.wait_for(timeout=60_000)
    assert "not right yet" in result.locator("h3").inner_text()
    assert page.evaluate("document.activeElement.id") == "precheck-result"  # focus moves to the result
    _side_by_side(page)
    assert page.url == url and attempts_left(page) == before  # in place: no attempt, nothing submitted
    assert page.locator("textarea#code").input_value() == RELU_OFF_BY_ONE
    screenshot(page, "precheck")
    page.reload()
    assert attempts_left(page) == before


def test_without_the_script_the_button_posts_to_the_check(browser, live_server):
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        username = live_server.student("student-precheck-nojs")
        page.goto(live_server.url + "/login")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.goto(f"{live_server.url}/assignments/{live_server.assignments['code-relu-backward']}")
        before = attempts_left(page)
        page.locator("textarea#code").fill(RELU_OFF_BY_ONE)
        page.get_by_role("button", name="Check on the example").click()
        page.wait_for_url(re.compile(r"/precheck$"), timeout=60_000)
        assert "not right yet" in page.locator("#precheck-result h3").inner_text()
        _side_by_side(page)
        assert attempts_left(page) == before
        screenshot(page, "precheck-no-script")
    finally:
        context.close()
