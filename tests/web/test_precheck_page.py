"""The exercise page's "Check on the example" without the script (a second submit button posting the form to
the check's own address) and the result alone that the script asks for. Real sandbox; nothing is stored."""

from __future__ import annotations

import re

from markupsafe import escape

from grader.models import Submission, db
from tests.service.conftest import assign
from tests.web.conftest import login

RELU_OFF_BY_ONE = "import numpy as np\n\ndef relu_backward(dout, z):\n    return dout * (z > 0) + 1.0\n"
RELU_RIGHT = "import numpy as np\n\ndef relu_backward(dout, z):\n    return dout * (z > 0)\n"


def _attempts_left(html: str) -> str:
    return re.search(r'id="attempts-left">([^<]+)<', html).group(1)


def test_the_button_posts_to_the_check_and_the_page_shows_expected_and_given(client, course):
    a = assign(course, "code-relu-backward", attempt_limit=3)
    login(client)
    page = client.get(f"/assignments/{a.id}").text
    button = re.search(r'<button type="submit" class="secondary" id="precheck-button" formaction="([^"]+)">', page)
    assert button and button.group(1) == f"/assignments/{a.id}/precheck"
    response = client.post(button.group(1), data={"code": RELU_OFF_BY_ONE})
    assert response.status_code == 200  # nothing stored: no redirect to a submission
    html = response.text
    assert "Check on the example: not right yet" in html
    assert 'aria-label="expected grad(z), 1×2"' in html and 'aria-label="your grad(z), 1×2"' in html
    assert 'aria-label="dout, 1×2"' in html and 'aria-label="z, 1×2"' in html  # the example's inputs
    assert str(escape(RELU_OFF_BY_ONE)) in html  # the code as typed stays in the editor
    assert _attempts_left(html) == "3" and db.session.query(Submission).count() == 0


def test_a_right_function_passes_and_code_that_does_not_run_is_shown_under_the_editor(client, course):
    a = assign(course, "code-relu-backward")
    login(client)
    assert "Check on the example: right<" in client.post(
        f"/assignments/{a.id}/precheck", data={"code": RELU_RIGHT}).text
    broken = client.post(f"/assignments/{a.id}/precheck", data={"code": "def relu_backward(dout, z:\n"}).text
    assert "your code does not run" in broken
    assert re.search(r'<p class="format-error" id="code-error"><strong>Your code does not run:</strong> line 1', broken)
    assert re.search(r'<textarea id="code"[^>]*aria-invalid="true"', broken)
    assert db.session.query(Submission).count() == 0


def test_the_script_gets_the_result_alone(client, course):
    a = assign(course, "code-relu-backward")
    login(client)
    response = client.post(f"/assignments/{a.id}/precheck", data={"code": RELU_OFF_BY_ONE},
                           headers={"X-Requested-With": "fetch"})
    assert response.status_code == 200 and response.headers["X-Precheck"] == "1"
    assert "<html" not in response.text and "<textarea" not in response.text  # the result only
    assert 'id="precheck-result"' in response.text and 'aria-label="your grad(z), 1×2"' in response.text


def test_a_numeric_exercise_has_no_check_button_and_refuses_a_check(client, course):
    a = assign(course, "seed-two-layer-w1-22")
    login(client)
    assert "precheck-button" not in client.get(f"/assignments/{a.id}").text
    refused = client.post(f"/assignments/{a.id}/precheck", data={"code": RELU_RIGHT})
    assert refused.status_code == 303
    assert "Not checked: only code exercises have a check" in client.get(refused.location).text
