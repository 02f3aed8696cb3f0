"""Code feedback in a real browser: the summary and the named mistake first, the gate outlined on the graph,
failed tests open with the code that rebuilds their inputs, passing tests collapsed."""

from __future__ import annotations

import os
import re

import pytest

from tests.browser.conftest import screenshot
from tests.browser.test_student_flow import _sandbox_problem, open_assignment, sign_in

RELU_FAILS_ON_TALL = """import numpy as np

def relu_backward(dout, z):
    if z.shape[0] > 2:
        return dout  # forgets relu'(z) on tall inputs
    return dout * (z > 0)
"""


def test_the_named_mistake_comes_first_and_passing_tests_are_collapsed(page, live_server):
    problem = _sandbox_problem()
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must grade code: {problem}")
        pytest.skip(problem)
    sign_in(page, live_server, live_server.student("student-code-mistake"))
    open_assignment(page, live_server, "code-relu-backward")
    page.locator("textarea#code").fill(RELU_FAILS_ON_TALL)
    page.get_by_role("button", name="Submit").click()
    page.wait_for_url(re.compile(r"/submissions/\d+$"), timeout=60_000)
    summary, diagnosis = page.locator("#code-summary"), page.locator("#code-diagnosis")
    assert re.fullmatch(r"\d+ of \d+ tests passed\.", summary.inner_text())
    assert "without multiplying by" in diagnosis.inner_text()  # the grader's named mistake
    assert summary.bounding_box()["y"] < diagnosis.bounding_box()["y"] < page.locator(
        "#failed-tests").bounding_box()["y"]
    assert page.locator('svg.gradgate-graph g.node.highlight[data-node="h"]').count() == 1
    failed = page.locator("ol.failed-tests > li")
    assert failed.first.locator("pre.repro").is_visible()  # open, with the code to reproduce it
    assert not page.locator("details.passed-tests ol.tests > li").first.is_visible()  # collapsed
    screenshot(page, "feedback-code-mistake")
