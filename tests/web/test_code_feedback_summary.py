"""A graded code submission's feedback: a summary first (k of n tests passed, the mistake named across tests,
outlined on the graph), each failed test in full (message, its diagnosis, outputs, the code that rebuilds its
inputs), the passing tests collapsed."""

from __future__ import annotations

import re

from sqlalchemy.orm.attributes import flag_modified

from grader.models import Submission, db
from tests.service.conftest import assign
from tests.web.conftest import login

RELU_FAILS_ON_TALL = """import numpy as np

def relu_backward(dout, z):
    if z.shape[0] > 2:
        return dout
    return dout * (z > 0)
"""


def _submit(client, course) -> tuple[str, Submission]:
    a = assign(course, "code-relu-backward")
    login(client)
    location = client.post(f"/assignments/{a.id}", data={"code": RELU_FAILS_ON_TALL}).location
    return location, db.session.query(Submission).one()


def test_summary_first_failed_tests_in_full_passing_ones_collapsed(client, course):
    location, submission = _submit(client, course)
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
    failing = re.search(r'<ol class="tests failed-tests".*?</ol>', html, re.S).group(0)
    assert failing.count('class="test status-incorrect"') == len(parts) - passed
    assert "wrong in" in failing and "Your shape" in failing  # the message and the outputs table, shown
    assert 'class="repro"' not in html  # only where the grader gives the code that rebuilds a case


def test_the_named_mistake_comes_first_and_is_outlined_on_the_graph(client, course):
    location, submission = _submit(client, course)
    # As the grader stores a code diagnosis (GradeResult.diagnosis, and per test part.diagnosis and repro):
    feedback = dict(submission.feedback)
    failed = [p for p in feedback["parts"] if p["status"] != "correct"]
    feedback["diagnosis"] = {"mistake": "forgot_local_gradient", "gates": ["h"], "tests": [p["index"] for p in failed],
                             "message": "grad(z) ignores relu'(z) in most tests: multiply by the local gradient"}
    for p in failed:
        p["diagnosis"] = {"mistake": "forgot_local_gradient", "gates": ["h"], "message": "dz passes dout on as is"}
        p["details"]["repro"] = f"import numpy as np\nz = np.zeros((3, 2))  # test {p['index'] + 1}"
    submission.feedback = feedback
    flag_modified(submission, "feedback")
    db.session.commit()
    html = client.get(location).text
    top = html.index('<div class="diagnosis" id="code-diagnosis">')
    assert html.index('id="code-summary"') < top < html.index('id="failed-tests"')
    assert "multiply by the local gradient" in html
    assert re.search(r'<g class="node [^"]*highlight[^"]*" data-node="h"', html)  # outlined on the graph
    assert html.count("dz passes dout on as is") == len(failed)  # each failed test's own diagnosis, once
    first = failed[0]["index"]
    assert re.search(rf'<p class="muted" id="repro-label-{first}">To reproduce this test, paste this code[^<]*</p>\s*'
                     rf'<pre class="repro" aria-labelledby="repro-label-{first}"><code>import numpy as np', html)
