"""The API's documentation: the OpenAPI document says how to page every paginated list and how to
authenticate, its request examples work when sent as they are, and the docs page is the vendored Swagger UI
(nothing from elsewhere, no inline script) with the plain table kept for a browser without JavaScript."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from grader.api.openapi_docs import EXAMPLES, PAGING
from grader.models import Assignment, Exercise, Membership, db
from tests.api.conftest import assign, bearer, make_user

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "grader" / "static" / "vendor" / "swagger-ui"
METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture
def spec(client) -> dict:
    return client.get("/api/openapi.json").get_json()


def operations(spec: dict):
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield method, path, op


def resolve(spec: dict, node: dict) -> dict:
    while "$ref" in node:
        node = spec["components"][node["$ref"].split("/")[2]][node["$ref"].split("/")[3]]
    return node


# --- the document ---------------------------------------------------------------------------------------

def test_every_paginated_list_says_how_to_page(spec):
    paginated = [(method, path, op) for method, path, op in operations(spec)
                 if "X-Pagination" in op["responses"].get("200", {}).get("headers", {})]
    assert {path for _, path, _ in paginated} >= {
        "/api/v1/exercises", "/api/v1/courses", "/api/v1/courses/{course_id}/memberships",
        "/api/v1/courses/{course_id}/assignments", "/api/v1/assignments/{assignment_id}/submissions"}
    for method, path, op in paginated:
        assert method == "get" and PAGING in op["description"], path
        params = {p["name"]: p for p in op["parameters"] if p["in"] == "query"}
        assert params["page"]["description"] == "the page to return, from 1 (default 1)", path
        assert params["page_size"]["description"] == "items per page, 1 to 100 (default 10)", path
        header = resolve(spec, op["responses"]["200"]["headers"]["X-Pagination"])
        assert "total_pages" in header["description"] and header["schema"]["type"] == "string"
        assert set(json.loads(header["schema"]["example"])) == {
            "total", "total_pages", "first_page", "last_page", "page", "previous_page", "next_page"}
    unpaginated = [path for method, path, op in operations(spec) if PAGING in op.get("description", "")
                   and (method, path) not in {(m, p) for m, p, _ in paginated}]
    assert unpaginated == []


def test_the_paging_described_is_the_paging_served(client, world):
    """The header's keys and the documented defaults are what a list really answers."""
    response = client.get("/api/v1/exercises?page=2&page_size=5", headers=bearer("teacher"))
    meta = json.loads(response.headers["X-Pagination"])
    assert meta == {"total": 21, "total_pages": 5, "first_page": 1, "last_page": 5, "page": 2,
                    "previous_page": 1, "next_page": 3}
    assert len(client.get("/api/v1/exercises", headers=bearer("teacher")).get_json()) == 10  # default 10


def test_bearer_auth_is_described(spec):
    scheme = spec["components"]["securitySchemes"]["bearerAuth"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    assert "Authorization: Bearer <token>" in scheme["description"]
    assert "tokens create" in scheme["description"] and "POST /api/v1/tokens" in scheme["description"]
    assert spec["security"] == [{"bearerAuth": []}]
    assert "**Authentication.**" in spec["info"]["description"] and "**Paging.**" in spec["info"]["description"]


def body_examples(spec: dict, method: str, path: str) -> dict[str, dict]:
    op = spec["paths"][path][method]
    return {name: example["value"] for name, example in
            op["requestBody"]["content"]["application/json"].get("examples", {}).items()}


@pytest.mark.parametrize("method, path", [
    ("post", "/api/v1/exercises"), ("put", "/api/v1/exercises/{slug}"), ("post", "/api/v1/solve"),
    ("post", "/api/v1/courses/{course_id}/memberships"), ("post", "/api/v1/courses/{course_id}/assignments"),
    ("patch", "/api/v1/assignments/{assignment_id}"), ("post", "/api/v1/assignments/{assignment_id}/submissions"),
    ("post", "/api/v1/assignments/{assignment_id}/precheck"), ("post", "/api/v1/tokens"),
])
def test_the_main_operations_have_request_examples(spec, method, path):
    examples = body_examples(spec, method, path)
    assert examples, (method, path)
    assert examples == {name: _values(example) for name, example in EXAMPLES[(method.upper(), path)].items()
                        if set(example) <= set(resolve(spec, _body_schema(spec, method, path))["properties"])}


def _values(example: dict) -> dict:
    return {key: value() if callable(value) else value for key, value in example.items()}


def _body_schema(spec: dict, method: str, path: str) -> dict:
    return spec["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]


def test_an_example_with_a_field_the_body_does_not_have_is_left_out(spec):
    """`exercises` (a problem set) shows only once the assignment body has that field."""
    fields = set(resolve(spec, _body_schema(spec, "post", "/api/v1/courses/{course_id}/assignments"))["properties"])
    shown = body_examples(spec, "post", "/api/v1/courses/{course_id}/assignments")
    assert ("problem set" in shown) == ("exercises" in fields)
    assert "one exercise" in shown


def test_the_examples_work_as_they_are(app, client, spec, world, grading_backend):
    """Each example sent unchanged is accepted (2xx): what an integrator copies from the page works (the code
    example graded in the web process, or by a worker within SUBMIT_WAIT_S: 201 with the result either way)."""
    teacher, alice = bearer("teacher"), bearer("alice")
    for username in ("ada", "tom"):
        make_user(username)
    db.session.commit()
    code = assign(world.course, "code-relu-backward", attempt_limit=3)

    def send(method: str, path: str, url: str, headers: dict, expect: int) -> list[dict]:
        answers = []
        for name, body in body_examples(spec, method, path).items():
            response = getattr(client, method)(url, json=body, headers=headers)
            assert response.status_code == expect, (method, path, name, response.get_json())
            answers.append(response.get_json())
        return answers

    created = send("post", "/api/v1/exercises", "/api/v1/exercises", teacher, 201)
    assert created[0]["slug"] == "my-add-gate"
    send("put", "/api/v1/exercises/{slug}", "/api/v1/exercises/my-add-gate", teacher, 200)
    assert send("post", "/api/v1/solve", "/api/v1/solve", teacher, 200)[0]["seed"] == 7
    send("post", "/api/v1/courses/{course_id}/memberships", f"/api/v1/courses/{world.course.id}/memberships",
         teacher, 201)
    assert {m.user.username for m in db.session.scalars(select(Membership))} >= {"ada", "tom"}
    before = db.session.scalar(select(db.func.count()).select_from(Assignment))
    send("post", "/api/v1/courses/{course_id}/assignments", f"/api/v1/courses/{world.course.id}/assignments",
         teacher, 201)
    assert db.session.scalar(select(db.func.count()).select_from(Assignment)) > before
    send("patch", "/api/v1/assignments/{assignment_id}", f"/api/v1/assignments/{world.assignment.id}",
         teacher, 200)
    client.patch(f"/api/v1/assignments/{world.assignment.id}", json={"visible": True}, headers=teacher)
    numeric = {k: v for k, v in body_examples(spec, "post", "/api/v1/assignments/{assignment_id}/submissions").items()
               if "code" not in v}
    for name, body in numeric.items():
        answer = client.post(f"/api/v1/assignments/{world.assignment.id}/submissions", json=body, headers=alice)
        assert answer.status_code == 201 and answer.get_json()["score"] == 1.0, (name, answer.get_json())
    code_example = body_examples(spec, "post", "/api/v1/assignments/{assignment_id}/submissions")["code"]
    graded = client.post(f"/api/v1/assignments/{code.id}/submissions", json=code_example, headers=alice)
    assert graded.status_code == 201 and graded.get_json()["score"] == 1.0, graded.get_json()
    send("post", "/api/v1/assignments/{assignment_id}/precheck", f"/api/v1/assignments/{code.id}/precheck",
         alice, 200)
    token = send("post", "/api/v1/tokens", "/api/v1/tokens", alice, 201)[0]
    assert token["scopes"] == ["courses:read"]
    assert db.session.scalar(select(Exercise).where(Exercise.slug == "my-add-gate")) is not None


# --- the page --------------------------------------------------------------------------------------------

def test_the_docs_page_loads_only_vendored_files_and_no_inline_script(client, spec):
    page = client.get("/api/docs")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "script-src 'self';" in page.headers["Content-Security-Policy"]
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert [attrs for attrs, body in scripts if body.strip() or "src=" not in attrs] == []
    assert re.findall(r"(?:src|href)='(https?:)?//", html) == []  # nothing from elsewhere
    for asset in re.findall(r"(?:src|href)='(/static/[^']+)'", html):
        served = client.get(asset)
        assert served.status_code == 200 and served.data, asset
    assert {"/static/vendor/swagger-ui/swagger-ui-bundle.js", "/static/api-docs.js",
            "/static/vendor/swagger-ui/swagger-ui.css"} <= set(re.findall(r"(?:src|href)='(/static/[^']+)'", html))
    assert "data-spec-url='/api/openapi.json'" in html


def test_the_plain_table_stays_without_javascript(client, spec):
    plain = client.get("/api/docs/plain").get_data(as_text=True)
    noscript = re.search(r"<noscript>(.*?)</noscript>", client.get("/api/docs").get_data(as_text=True), re.S)
    for html in (plain, noscript.group(1)):
        assert "<script" not in html
        for method, path, _ in operations(spec):
            assert f"<td><code>{method.upper()}</code></td><td><code>{path}</code></td>" in html, (method, path)


def test_the_vendored_ui_is_the_pinned_npm_version():
    pinned = json.loads((ROOT / "package.json").read_text())["dependencies"]["swagger-ui-dist"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", pinned)  # an exact version, no range
    lock = json.loads((ROOT / "package-lock.json").read_text())["packages"]["node_modules/swagger-ui-dist"]
    assert lock["version"] == pinned
    bundle = (VENDOR / "swagger-ui-bundle.js").read_text()
    assert f'"{pinned}"' in bundle or f"'{pinned}'" in bundle or f"version:\"{pinned}\"" in bundle
    assert "sourceMappingURL" not in (VENDOR / "swagger-ui.css").read_text()
    assert (VENDOR / "LICENSE").exists() and "//cdn" not in (ROOT / "grader" / "static" / "api-docs.js").read_text()
