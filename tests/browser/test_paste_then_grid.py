"""A matrix pasted and then corrected in the grid is graded as corrected; a paste that does not fit the
answer's shape clears the grid and says why (issue 10: the stale paste was graded, the old preview stayed)."""

from __future__ import annotations

import re

import numpy as np

from tests.browser.conftest import screenshot
from tests.browser.test_student_flow import _three_layer_answers, open_assignment, sign_in


def test_a_paste_corrected_in_the_grid_is_graded_as_corrected(page, live_server):
    sign_in(page, live_server, live_server.student("student-paste-fix"))
    open_assignment(page, live_server, "seed-three-layer-matrix")
    dw1, dw2, dw3 = _three_layer_answers()
    stale = dw2.copy()
    stale[2, 1] += 1.0
    with np.printoptions(precision=10):
        page.locator("#paste-0").fill(str(dw1))
        page.locator("#paste-1").fill(str(stale))  # a slip in the paste...
        page.locator("#paste-2").fill(str(dw3))
    cell = page.locator('input[name="answer-1-2-1"]')
    assert abs(float(cell.input_value()) - stale[2, 1]) < 1e-6  # previewed in the grid
    cell.fill(repr(float(dw2[2, 1])))  # ...corrected in the grid
    status = page.locator("#paste-status-1")
    assert "the boxes are what will be submitted" in status.inner_text()
    assert "unused" in page.locator("#paste-1").get_attribute("class")
    screenshot(page, "paste-corrected-in-grid")
    page.get_by_role("button", name="Submit").click()
    page.wait_for_url(re.compile(r"/submissions/\d+$"))
    assert page.locator("#ask-1 td.right").count() == 6 and page.locator("#ask-1 td.wrong").count() == 0
    assert "score 100%" in page.locator("#feedback-title").inner_text()


def test_a_paste_of_the_wrong_shape_clears_the_preview_and_says_why(page, live_server):
    sign_in(page, live_server, live_server.student("student-paste-shape"))
    open_assignment(page, live_server, "seed-three-layer-matrix")
    dw2 = _three_layer_answers()[1]
    page.locator("#paste-1").fill(str(dw2.tolist()))
    assert page.locator('input[name="answer-1-0-0"]').input_value() != ""
    page.locator("#paste-1").fill("[[1, 2, 3], [4, 5, 6]]")  # 2×3 where a 3×2 matrix is asked
    cells = page.locator("#ask-1 input.cell")
    assert cells.evaluate_all("els => els.every(e => e.value === '')")  # no stale preview left
    message = page.locator("#paste-status-1")
    assert message.is_visible()
    assert "2 rows of 3 numbers; the answer is a 3×2 matrix" in message.inner_text()
    screenshot(page, "paste-wrong-shape")
