"""POST /api/v1/assignments/{id}/precheck: a code exercise's function run on one small visible example, with
expected and given side by side; nothing stored, no attempt used."""

from __future__ import annotations

from datetime import timedelta

import numpy as np

from grader.models import Submission, utcnow
from tests.api.conftest import assign, bearer, count

RELU_RIGHT = "import numpy as np\n\ndef relu_backward(dout, z):\n    return dout * (z > 0)\n"
RELU_OFF_BY_ONE = "import numpy as np\n\ndef relu_backward(dout, z):\n    return dout * (z > 0) + 1.0\n"


def _precheck(client, assignment_id: int, code: str, user: str = "alice"):
    return client.post(f"/api/v1/assignments/{assignment_id}/precheck", json={"code": code}, headers=bearer(user))


def test_a_right_function_passes_on_the_example_and_nothing_is_stored(client, world):
    code = assign(world.course, "code-relu-backward", attempt_limit=2)
    response = _precheck(client, code.id, RELU_RIGHT)
    body = response.get_json()
    assert response.status_code == 200, body
    assert body["status"] == "passed" and "no attempt" in body["message"]
    assert body["dims"] == {"N": 1, "D": 2}  # every dimension at its smallest
    dout, z = np.array(body["inputs"]["dout"]), np.array(body["inputs"]["z"])
    (output,) = body["outputs"]
    assert output["name"] == "grad(z)" and output["expected_shape"] == [1, 2] and output["given_shape"] == [1, 2]
    np.testing.assert_allclose(output["expected"], dout * (z > 0))  # checked here, not trusted
    assert output["given"] == output["expected"] and output["problem"] is None
    assert count(Submission) == 0
    variant = client.get(f"/api/v1/assignments/{code.id}/variant", headers=bearer("alice")).get_json()
    assert variant["attempts_left"] == 2


def test_a_wrong_function_shows_expected_and_given_side_by_side(client, world):
    code = assign(world.course, "code-relu-backward")
    body = _precheck(client, code.id, RELU_OFF_BY_ONE).get_json()
    assert body["status"] == "failed" and "wrong in 2 of 2 entries" in body["message"]
    (output,) = body["outputs"]
    np.testing.assert_allclose(np.array(output["given"]) - np.array(output["expected"]), 1.0)
    assert "wrong in 2 of 2 entries" in output["problem"]
    assert body["part"]["status"] == "incorrect"
    assert count(Submission) == 0


def test_code_that_does_not_run_is_a_format_error_as_on_submit(client, world):
    code = assign(world.course, "code-relu-backward")
    body = _precheck(client, code.id, "def relu_backward(dout, z:\n    pass\n").get_json()
    assert body["status"] == "invalid" and "cannot be run" in body["message"]
    assert body["part"]["format_error"]["message"].startswith("line 1")
    assert body["outputs"] == []
    assert count(Submission) == 0


def test_a_numeric_exercise_has_no_check_on_the_example(client, world):
    response = _precheck(client, world.assignment.id, RELU_RIGHT)
    assert response.status_code == 422 and "code" in response.get_json()["errors"]


def test_checking_needs_no_attempt_left_and_works_past_the_due_date(client, world, grading_backend):
    code = assign(world.course, "code-relu-backward", attempt_limit=1, due_at=utcnow() - timedelta(days=1),
                  late_policy="reject")
    assert _precheck(client, code.id, RELU_RIGHT).get_json()["status"] == "passed"
    submit = client.post(f"/api/v1/assignments/{code.id}/submissions", json={"code": RELU_RIGHT},
                         headers=bearer("alice"))
    assert submit.status_code == 409  # submitting is closed; checking is not


def test_outsiders_cannot_check(client, world):
    code = assign(world.course, "code-relu-backward")
    assert _precheck(client, code.id, RELU_RIGHT, user="eve").status_code == 404
    assert client.post(f"/api/v1/assignments/{code.id}/precheck", json={"code": RELU_RIGHT}).status_code == 401
    assert client.post(f"/api/v1/assignments/{code.id}/precheck", json={"code": ""},
                       headers=bearer("alice")).status_code == 422


def test_the_check_is_in_the_openapi_document(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    operation = paths["/api/v1/assignments/{assignment_id}/precheck"]["post"]
    text = operation.get("summary", "") + " " + operation.get("description", "")
    assert "200" in operation["responses"] and "no attempt" in text
