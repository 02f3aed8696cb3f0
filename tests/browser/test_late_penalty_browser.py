"""A late penalty is shown with the score: the feedback, the history and the course page (issue 10: the header
said "100%" and nothing explained 4 / 5)."""

from __future__ import annotations

import re

from tests.browser.conftest import screenshot
from tests.browser.test_student_flow import RIGHT_W1_22, sign_in


def test_the_late_penalty_is_shown_with_the_score(page, live_server):
    sign_in(page, live_server, live_server.student("student-late"))
    page.goto(f"{live_server.url}/assignments/{live_server.assignments['late']}")
    page.wait_for_selector(".prompt .katex")
    page.locator("#answer-0").fill(RIGHT_W1_22)
    page.get_by_role("button", name="Submit").click()
    page.wait_for_url(re.compile(r"/submissions/\d+$"))
    title = " ".join(page.locator("#feedback-title").inner_text().split())
    assert "score 100%" in title and "late penalty 20%" in title and "4 / 5 points" in title
    assert "takes the score of 100% to 4 of the 5 points" in page.locator("#feedback").inner_text()
    screenshot(page, "feedback-late-penalty")
    page.get_by_role("link", name="Your attempts").click()
    assert "late penalty 20% · 4 / 5 points" in page.locator("li.attempt h2").inner_text()
    screenshot(page, "history-late-penalty")
    page.get_by_role("link", name="Backprop 101").click()
    row = page.locator("table.assignments tbody tr", has_text="Late: one weight")
    assert "4 / 5 (score 100%, late penalty 20%)" in " ".join(row.inner_text().split())
    assert "done" in row.locator(".status").inner_text()  # every answer right: nothing more to earn
    screenshot(page, "course-late-penalty")
