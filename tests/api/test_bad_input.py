"""Bad input: a clear 4xx naming the field, in the JSON error format, and nothing stored."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from grader.models import Assignment, Membership, Submission, User, Variant, db
from tests.api.conftest import RIGHT, bearer, count
from tests.web.conftest import login


def submit_raw(client, world, data: bytes | str, content_type: str = "application/json", **kw):
    return client.post(f"/api/v1/assignments/{world.assignment.id}/submissions", data=data,
                       content_type=content_type, headers=bearer("alice"), **kw)


def stored(world) -> tuple[int, int]:
    return count(Submission), count(Variant)


@pytest.mark.parametrize("body", ['{"answers": {"0": "1"}', "{answers: 1}", "", "\xff\xfe", '{"answers": }'])
def test_malformed_json_is_400(client, world, body):
    response = submit_raw(client, world, body.encode("latin-1"))
    payload = response.get_json()
    assert response.status_code in (400, 422), payload  # an empty body has no fields: 422
    assert set(payload) == {"code", "message", "errors"} and payload["errors"]
    assert stored(world) == (0, 0)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_nan_and_infinity_are_refused_naming_the_field(client, world, literal):
    response = submit_raw(client, world, '{"answers": {"0": ' + literal + '}}')
    payload = response.get_json()
    assert response.status_code == 400 and payload["code"] == "malformed_json"
    assert list(payload["errors"]) == ["answers.0"]
    nested = submit_raw(client, world, '{"answers": {"0": [[1, ' + literal + ']]}}')
    assert list(nested.get_json()["errors"]) == ["answers.0.0.1"]
    assert stored(world) == (0, 0)


def test_nan_is_refused_on_every_route(client, world):
    response = client.patch(f"/api/v1/assignments/{world.assignment.id}", data='{"points": NaN}',
                            content_type="application/json", headers=bearer("teacher"))
    assert response.status_code == 400 and "points" in response.get_json()["errors"]


@pytest.mark.parametrize("body, field", [
    ({"answers": {"0": "1"}, "extra": 1}, "extra"),
    ({"answers": {"0": True}}, "answers.0.value"),
    ({"answers": {"0": None}}, "answers.0.value"),
    ({"answers": {"0": {"a": 1}}}, "answers.0.value"),
    ({"answers": {"0": [[[[[1]]]]]}}, "answers.0.value"),
    ({"answers": ["1"]}, "answers"),
    ({"answers": "1"}, "answers"),
    ({"code": 5}, "code"),
    ({}, "body"),
    ({"answers": RIGHT, "code": "x"}, "body"),
])
def test_wrong_types_and_unknown_fields_are_422_naming_the_field(client, world, body, field):
    response = submit_raw(client, world, json.dumps(body))
    payload = response.get_json()
    assert response.status_code == 422 and payload["code"] == "validation_error", payload
    assert field in payload["errors"], payload
    assert stored(world) == (0, 0)


def test_a_json_array_or_number_as_the_body_is_422(client, world):
    for raw in ("[1, 2]", "3", '"text"', "null"):
        response = submit_raw(client, world, raw)
        assert response.status_code == 422, raw
    assert stored(world) == (0, 0)


def test_huge_body_is_413(client, world):
    big = json.dumps({"answers": {"0": "1" * (2 * 1024 * 1024)}})
    response = submit_raw(client, world, big)
    assert response.status_code == 413 and response.get_json()["code"] == "too_large"
    assert response.get_json()["errors"] == {"body": [f"at most {1024 * 1024} bytes"]}
    assert stored(world) == (0, 0)


def test_long_answer_text_under_the_limit_is_still_refused(client, world):
    response = submit_raw(client, world, json.dumps({"answers": {"0": "1" * 30_000}}))
    assert response.status_code == 422 and "answers.0.value" in response.get_json()["errors"]


@pytest.mark.parametrize("body, field", [
    ({"exercise": "gate-add", "points": "ten"}, "points"),
    ({"exercise": "gate-add", "attempt_limit": 0}, "attempt_limit"),
    ({"exercise": "gate-add", "attempt_limit": 1.5}, "attempt_limit"),
    ({"exercise": "gate-add", "late_policy": "maybe"}, "late_policy"),
    ({"exercise": "gate-add", "due_at": "tomorrow"}, "due_at"),
    ({"exercise": "gate-add", "late_penalty": 2}, "late_penalty"),
    ({"exercise": "gate-add", "colour": "red"}, "colour"),
    ({"points": 1}, "exercise"),
])
def test_assignment_input(client, world, body, field):
    response = client.post(f"/api/v1/courses/{world.course.id}/assignments", json=body, headers=bearer("teacher"))
    assert response.status_code == 422 and field in response.get_json()["errors"], response.get_json()
    assert count(Assignment) == 1


@pytest.mark.parametrize("body, field", [
    ({"scopes": ["root"]}, "scopes.0"),
    ({"scopes": "exercises:read"}, "scopes"),
    ({"scopes": [], "expires_in_days": 0}, "expires_in_days"),
    ({"name": "x"}, "scopes"),
])
def test_token_input(client, world, body, field):
    response = client.post("/api/v1/tokens", json=body, headers=bearer("alice"))
    assert response.status_code == 422 and field in response.get_json()["errors"], response.get_json()


def test_membership_input(client, world):
    response = client.post(f"/api/v1/courses/{world.course.id}/memberships", json={"username": "loner",
                           "role": "admin"}, headers=bearer("teacher"))
    assert response.status_code == 422 and "role" in response.get_json()["errors"]
    assert count(Membership) == 5


def test_query_arguments(client, world):
    url = f"/api/v1/assignments/{world.assignment.id}/submissions"
    for query, field in (("?page=0", "page"), ("?page_size=1000", "page_size"), ("?page=x", "page"),
                         ("?colour=red", "colour"), ("?page=1&user=bob&x=1", "x")):
        response = client.get(url + query, headers=bearer("teacher"))
        assert response.status_code == 422 and field in response.get_json()["errors"], query


def test_a_page_far_past_the_end_is_empty(client, world):
    response = client.get(f"/api/v1/courses?page={2**61}&page_size=5", headers=bearer("alice"))
    assert response.status_code == 200 and response.get_json() == []


def test_unknown_route_and_method_are_json(client, world):
    missing = client.get("/api/v1/nothing-here", headers=bearer("alice"))
    assert missing.status_code == 404 and missing.get_json()["code"] == "not_found"
    wrong = client.delete("/api/v1/courses", headers=bearer("alice"))
    assert wrong.status_code == 405 and wrong.get_json()["code"] == "method_not_allowed"
    assert "GET" in wrong.headers["Allow"]
    assert client.get("/api/v1/courses/abc", headers=bearer("alice")).status_code == 404


def test_solve_with_a_bad_seed_or_definition(client, world):
    headers = bearer("teacher")
    assert "seed" in client.post("/api/v1/solve", json={"definition": {}, "seed": -1},
                                 headers=headers).get_json()["errors"]
    response = client.post("/api/v1/solve", json={"definition": {"id": "x"}}, headers=headers)
    assert response.status_code == 422 and "definition.title" in response.get_json()["errors"]


def nested(depth: int, kind: str) -> str:
    """`depth` arrays (or objects) inside each other."""
    return "[" * depth + "]" * depth if kind == "array" else '{"a": ' * depth + "1" + "}" * depth


# (who, method, URL built from the world, the body with the nesting at {}): every JSON endpoint goes through
# the one check before its view, so a spread of them (a student's, an instructor's, an author's) covers it.
DEEP_ENDPOINTS = [
    ("alice", "post", lambda w: f"/api/v1/assignments/{w.assignment.id}/submissions", '{"answers": {"0": %s}}'),
    ("alice", "post", lambda w: f"/api/v1/assignments/{w.assignment.id}/precheck", '{"answers": %s}'),
    ("teacher", "patch", lambda w: f"/api/v1/assignments/{w.assignment.id}", "%s"),
    ("teacher", "post", lambda w: f"/api/v1/courses/{w.course.id}/assignments", '{"exercise": %s}'),
    ("teacher", "post", lambda w: f"/api/v1/courses/{w.course.id}/memberships", '{"username": %s}'),
    ("alice", "post", lambda w: "/api/v1/tokens", '{"scopes": %s}'),
    ("teacher", "post", lambda w: "/api/v1/solve", '{"definition": %s}'),
    ("teacher", "post", lambda w: "/api/v1/exercises", "%s"),
]


@pytest.mark.parametrize("depth", [3000, 100_000])
@pytest.mark.parametrize("kind", ["array", "object"])
@pytest.mark.parametrize("who, method, url, template", DEEP_ENDPOINTS, ids=lambda v: v if isinstance(v, str) else "")
def test_deeply_nested_json_is_400_not_500(client, world, depth, kind, who, method, url, template):
    body = template % nested(depth, kind)
    response = getattr(client, method)(url(world), data=body, content_type="application/json", headers=bearer(who))
    payload = response.get_json()
    assert response.status_code == 400, (response.status_code, str(payload)[:300])
    assert payload["code"] == "malformed_json" and "nest more than 64 deep" in payload["message"]
    assert payload["errors"] == {"body": ["arrays and objects nest more than 64 deep: send a flatter body"]}
    assert stored(world) == (0, 0) and count(Assignment) == 1 and count(Membership) == 5


@pytest.mark.parametrize("kind", ["array", "object"])
def test_nesting_up_to_the_limit_reaches_the_view_and_one_more_is_refused(client, world, kind):
    """65 levels (the body's object and 64 inside) is the first refused; below ~900 Python's parser accepts it,
    so the walk over the parsed value decides, without recursion."""
    for depth, status in ((63, 422), (64, 400), (500, 400)):  # the body's own object adds one level
        response = submit_raw(client, world, '{"answers": ' + nested(depth, kind) + "}")
        assert response.status_code == status, (depth, response.get_json())
    assert stored(world) == (0, 0)


def test_deeply_nested_json_is_400_on_the_pages_json_endpoint_too(client, world):
    """The editor's live check (/instructor/exercises/validate) reads JSON as well: 400 in JSON, not a 500."""
    db.session.scalar(select(User).where(User.username == "teacher")).set_password("teacher-password")
    db.session.commit()
    login(client, "teacher")
    response = client.post("/instructor/exercises/validate", data='{"source": ' + nested(3000, "array") + "}",
                           content_type="application/json")
    assert response.status_code == 400 and response.get_json()["code"] == "malformed_json"
    fine = client.post("/instructor/exercises/validate", json={"source": "id: x\n"})
    assert fine.status_code == 200 and fine.get_json()["ok"] is False
