"""A graded code submission's feedback: a summary first (k of n tests passed, the mistake seen across the
failed tests named once and outlined on the graph), each failed test in full (message, outputs, the code that
rebuilds its inputs), the passing tests collapsed. Graded for real: sandbox and the grader's diagnosis."""

from __future__ import annotations

import re

from grader.models import Submission, db
from tests.service.conftest import assign
from tests.web.conftest import login

RELU_FAILS_ON_TALL = """import numpy as np

def relu_backward(dout, z):
    if z.shape[0] > 2:
        return dout  # forgets relu'(z) on tall inputs
    return dout * (z > 0)
"""


def _submit(client, course, grading_backend) -> tuple[str, Submission]:
    a = assign(course, "code-relu-backward")
    login(client)
    location = client.post(f"/assignments/{a.id}", data={"code": RELU_FAILS_ON_TALL}).location
    grading_backend.wait()  # celery: the page said "grading…" until the worker stored the result
    return location, db.session.query(Submission).one()


def test_summary_first_failed_tests_in_full_passing_ones_collapsed(client, course, grading_backend):
    location, submission = _submit(client, course, grading_backend)
    parts = submission.feedback["parts"]
    passed = sum(p["status"] == "correct" for p in parts)
    assert 0 < passed < len(parts)
    html = client.get(location).text
    summary = html.index(f'<p class="code-summary" id="code-summary">{passed} of {len(parts)} tests passed.</p>')
    failed = html.index('<h3 id="failed-tests">Failed test')
    collapsed = re.search(r'<details class="passed-tests">\s*<summary>(\d+) tests? passed</summary>(.*?)</details>',
                          html, re.S)
    assert summary < failed < collapsed.start()
    assert int(collapsed.group(1)) == passed and collapsed.group(2).count('class="test status-correct"') == passed
    assert 'class="repro"' not in collapsed.group(2)  # a passing test needs no reproducing
    failing = re.search(r'<ol class="tests failed-tests".*?</ol>', html, re.S).group(0)
    assert failing.count('class="test status-incorrect"') == len(parts) - passed
    assert "wrong in" in failing and "Your shape" in failing  # the message and the outputs table, shown
    for p in parts:
        if p["status"] != "correct":  # the inputs as numpy code, labelled
            assert re.search(rf'<p class="muted" id="repro-label-{p["index"]}">To reproduce this test, paste this '
                             rf'code[^<]*</p>\s*<pre class="repro" aria-labelledby="repro-label-{p["index"]}">'
                             r'<code>import numpy as np', failing)


def test_the_named_mistake_is_said_once_at_the_top_and_outlined_on_the_graph(client, course, grading_backend):
    location, submission = _submit(client, course, grading_backend)
    diagnosis = submission.feedback["diagnosis"]  # the grader's, for the mistake seen in most failed tests
    assert diagnosis["mistake"] == "forgot_local_grad" and diagnosis["gates"] == ["h"]
    html = client.get(location).text
    top = html.index('<div class="diagnosis" id="code-diagnosis">')
    assert html.index('id="code-summary"') < top < html.index('id="failed-tests"')
    assert html.count(diagnosis["message"]) == 1  # once: not in a summary line above it, not per test
    failed = sum(p["status"] != "correct" for p in submission.feedback["parts"])
    assert html.count("the one named above.") == failed  # each failed test points to it
    assert re.search(r'<g class="node [^"]*highlight[^"]*" data-node="h"', html)  # outlined on the graph
    assert "Highlighted on the graph: h." in html
