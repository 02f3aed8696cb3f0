"""POST and PUT /api/v1/exercises take the definition's YAML text itself; every definition error carries its
line (null for JSON bodies); bad bodies are clear 4xx answers; the OpenAPI document says so. SQLite and
PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from grader.exercises.source import MAX_SOURCE_CHARS
from grader.models import Exercise, ExerciseVersion
from tests.api.conftest import bearer, count

CATALOGUE = Path(__file__).resolve().parents[2] / "exercises"
YAML = {"Content-Type": "application/yaml"}


def source(name: str = "gate-add", new_id: str = "my-gate-add") -> str:
    """A catalogue file's text under an id of one's own."""
    text = (CATALOGUE / f"{name}.yaml").read_text(encoding="utf-8")
    return text.replace(f"id: {name}\n", f"id: {new_id}\n", 1)


def line_with(text: str, part: str) -> int:
    return next(i for i, line in enumerate(text.split("\n"), start=1) if part in line)


@pytest.mark.parametrize("content_type", ["application/yaml", "text/yaml", "application/x-yaml",
                                          "application/yaml; charset=utf-8"])
def test_create_from_yaml(client, world, content_type):
    text = source()
    response = client.post("/api/v1/exercises", data=text.encode(), headers={**bearer("teacher"),
                                                                             "Content-Type": content_type})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["slug"] == "my-gate-add" and body["owner"] == "teacher" and body["version"] == 1
    assert body["definition"] == yaml.safe_load(text)
    stored = client.get("/api/v1/exercises/my-gate-add", headers=bearer("teacher")).get_json()
    assert stored["definition"] == yaml.safe_load(text)


def test_update_from_yaml_makes_a_new_version_only_when_changed(client, world):
    headers = {**bearer("teacher"), **YAML}
    text = source("two-layer-random", "my-two-layer")
    assert client.post("/api/v1/exercises", data=text, headers=headers).status_code == 201
    edited = text.replace("title: A 2-2-1 sigmoid network with your own numbers", "title: Mine, edited")
    response = client.put("/api/v1/exercises/my-two-layer", data=edited, headers=headers)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["version"] == 2 and response.get_json()["title"] == "Mine, edited"
    again = client.put("/api/v1/exercises/my-two-layer", data=edited, headers=headers).get_json()
    assert again["version"] == 2 and again["versions"] == [1, 2]
    # A JSON edit of the same document is the same document: no new version either.
    as_json = client.put("/api/v1/exercises/my-two-layer", json={"definition": yaml.safe_load(edited)},
                         headers=bearer("teacher")).get_json()
    assert as_json["version"] == 2


def test_yaml_errors_carry_their_lines_and_nothing_is_stored(client, world):
    headers = {**bearer("teacher"), **YAML}
    text = source("two-layer-random", "my-two-layer").replace("h1 = sigmoid(z1)", "h1 = sigmod(z1)")
    text = text.replace("verison", "").replace("version: 1\n", "verison: 1\n")
    versions = count(ExerciseVersion)
    response = client.post("/api/v1/exercises", data=text, headers=headers)
    body = response.get_json()
    assert response.status_code == 422 and body["code"] == "invalid_definition"
    assert body["errors"] == {"definition.verison": ["unknown key 'verison' (did you mean 'version'?)"]}
    assert body["lines"] == [{"path": "definition.verison", "line": line_with(text, "verison"), "column": 1,
                              "message": "unknown key 'verison' (did you mean 'version'?)"}]
    fixed = text.replace("verison", "version")  # the schema passes: now the graph is checked
    body = client.post("/api/v1/exercises", data=fixed, headers=headers).get_json()
    assert body["errors"] == {"definition.graph[1]": ["unknown op 'sigmod' (did you mean 'sigmoid'?)"]}
    assert [(e["path"], e["line"]) for e in body["lines"]] == [("definition.graph[1]", line_with(text, "sigmod"))]
    assert f"line {line_with(text, 'sigmod')}, graph[1]" in body["message"]
    assert count(ExerciseVersion) == versions


def test_yaml_syntax_and_duplicate_key_errors_have_lines(client, world):
    headers = {**bearer("teacher"), **YAML}
    text = source().replace('title: "The add gate: the gradient passes through"', "title: The add gate: broken")
    body = client.post("/api/v1/exercises", data=text, headers=headers).get_json()
    assert list(body["errors"]) == ["definition"] and body["errors"]["definition"][0].startswith("not valid YAML")
    assert body["lines"][0]["line"] == 2 and body["lines"][0]["column"] == len("title: The add gate:")
    doubled = source().replace("version: 1\n", "version: 1\nkind: code\n")
    body = client.post("/api/v1/exercises", data=doubled, headers=headers).get_json()
    assert [(e["path"], e["line"]) for e in body["lines"]] == [("definition.kind", 5)]
    assert "duplicate key 'kind'" in body["errors"]["definition.kind"][0]


def test_errors_found_after_parsing_are_located_too(client, world):
    headers = {**bearer("teacher"), **YAML}
    text = source("gate-add", "my-gate-add")
    assert client.post("/api/v1/exercises", data=text, headers=headers).status_code == 201
    renamed = text.replace("id: my-gate-add", "id: another-id")
    body = client.put("/api/v1/exercises/my-gate-add", data=renamed, headers=headers).get_json()
    assert body["lines"] == [{"path": "definition.id", "line": 1, "column": 5, "message": "must be my-gate-add"}]
    huge = text.replace("shape: [1, 3]", "shape: [100, 300]")
    response = client.put("/api/v1/exercises/my-gate-add", data=huge, headers=headers)
    assert response.status_code == 422 and response.get_json()["code"] == "too_large"
    assert [(e["path"], e["line"]) for e in response.get_json()["lines"]] == [
        ("definition.inputs.a.shape", line_with(text, "a: {shape:"))]
    # Every draw degenerate (the upstream gradient is all zeros): the whole document, line 1.
    zero = text.replace("z: {shape: [1, 3], random: {uniform: [-3.0, 3.0], decimals: 1, nonzero: true}}",
                        "z: {shape: [1, 3], value: [[0, 0, 0]]}")
    body = client.put("/api/v1/exercises/my-gate-add", data=zero, headers=headers).get_json()
    assert [(e["path"], e["line"]) for e in body["lines"]] == [("definition", 1)]
    assert "cannot draw a variant" in body["lines"][0]["message"]


def test_json_bodies_keep_their_errors_and_get_null_lines(app, client, world):
    document = yaml.safe_load(source())
    document["graph"] = ["z = ad(a, b)"]
    body = client.post("/api/v1/exercises", json={"definition": document}, headers=bearer("teacher")).get_json()
    assert body["errors"] == {"definition.graph[0]": ["unknown op 'ad' (did you mean 'add'?)"]}
    assert body["lines"] == [{"path": "definition.graph[0]", "line": None, "column": None,
                              "message": "unknown op 'ad' (did you mean 'add'?)"}]
    envelope = client.post("/api/v1/exercises", json={"definition": "text"}, headers=bearer("teacher")).get_json()
    assert envelope["code"] == "validation_error" and [e["line"] for e in envelope["lines"]] == [None]
    refused = client.post("/api/v1/courses", json={"code": ""}, headers=bearer("root")).get_json()
    assert "lines" not in refused  # only errors about a definition have lines


@pytest.mark.parametrize(("body", "status", "code"), [
    (b"\xff\xfeid: x", 400, "bad_request"),  # not UTF-8
    (b"- a list\n- not a mapping\n", 422, "invalid_definition"),
    (b"just text", 422, "invalid_definition"),
    (b"", 422, "invalid_definition"),
    (b"id: &a [*a]\n", 422, "invalid_definition"),
    (b"a: " + b"x" * MAX_SOURCE_CHARS, 413, "too_large"),
    (b"a: " + b"x" * (2 * 1024 * 1024), 413, "too_large"),  # beyond MAX_CONTENT_LENGTH
])
def test_bad_yaml_bodies_are_clear_4xx_answers(client, world, body, status, code):
    response = client.post("/api/v1/exercises", data=body, headers={**bearer("teacher"), **YAML})
    assert response.status_code == status and response.get_json()["code"] == code, response.get_json()
    if status == 422:
        assert response.get_json()["lines"][0]["line"] == 1


def test_text_no_database_stores_is_refused_at_its_line(client, world):
    text = source().replace('title: "The add gate: the gradient passes through"', 'title: "nul \\0 byte"')
    response = client.post("/api/v1/exercises", data=text, headers={**bearer("teacher"), **YAML})
    assert response.status_code == 422
    assert [(e["path"], e["line"]) for e in response.get_json()["lines"]] == [("definition.title", 2)]
    text = source().replace('{grad: a, label: "dL/da"}', '{grad: a, label: "dL/d\\ud800a"}')
    body = client.post("/api/v1/exercises", data=text, headers={**bearer("teacher"), **YAML}).get_json()
    assert list(body["errors"]) == ["definition.ask[0].label"]
    assert [e["line"] for e in body["lines"]] == [line_with(text, "ud800")]
    assert count(Exercise) == 21


def test_students_are_refused_before_the_text_is_read(client, world):
    for text in (source(), "not: [valid"):
        response = client.post("/api/v1/exercises", data=text, headers={**bearer("alice"), **YAML})
        assert response.status_code == 403 and "lines" not in response.get_json()


def test_the_openapi_document_lists_yaml_bodies_and_error_lines(client, world):
    spec = client.get("/api/openapi.json").get_json()
    for path, method in (("/api/v1/exercises", "post"), ("/api/v1/exercises/{slug}", "put")):
        content = spec["paths"][path][method]["requestBody"]["content"]
        assert set(content) == {"application/json", "application/yaml", "text/yaml", "application/x-yaml"}
        assert content["application/json"]["schema"] == {"$ref": "#/components/schemas/DefinitionIn"}
        assert content["application/yaml"]["schema"]["type"] == "string"
    error = spec["components"]["schemas"]["Error"]["properties"]
    assert error["lines"]["type"] == "array"
    line = spec["components"]["schemas"]["ErrorLine"]["properties"]
    assert set(line) == {"path", "line", "column", "message"} and line["line"]["nullable"] is True
    # The documented example is a definition the service accepts.
    example = spec["paths"]["/api/v1/exercises"]["post"]["requestBody"]["content"]["application/yaml"]["example"]
    created = client.post("/api/v1/exercises", data=example, headers={**bearer("teacher"), **YAML})
    assert created.status_code == 201, created.get_json()
