"""The authoring workspace through the API: the preview is `flask exercises solve --json` for every catalogue
exercise, question tests run on demand and make a draft that cannot be assigned, versions and diffs."""

from __future__ import annotations

import copy
import json

import pytest
from sqlalchemy import select

from grader.exercises import load_catalogue
from grader.models import Exercise, db
from tests.api.conftest import bearer

SEEDS = range(5)


def test_the_preview_is_the_cli_solve_for_every_catalogue_exercise(app, client, world):
    from grader.cli import exercises_cli

    runner = app.test_cli_runner()
    for slug in sorted(load_catalogue(app.config["EXERCISES_DIR"])):
        for seed in SEEDS:
            api = client.get(f"/api/v1/exercises/{slug}/preview?seed={seed}", headers=bearer("teacher"))
            assert api.status_code == 200, (slug, seed, api.get_json())
            cli = runner.invoke(exercises_cli, ["solve", slug, "--seed", str(seed), "--json"])
            assert cli.exit_code == 0, cli.output
            expected = json.loads(cli.output)
            preview = api.get_json()
            for key in ("values", "grads", "local_grads", "trace", "answers", "dims", "graph", "seed", "version"):
                assert preview[key] == expected[key], (slug, seed, key)


def test_a_bad_seed_is_a_clear_error(client, world):
    response = client.get("/api/v1/exercises/gate-add/preview?seed=-1", headers=bearer("teacher"))
    assert response.status_code == 422 and "seed" in response.get_json()["errors"]


def test_check_runs_the_question_tests_and_keeps_the_report(client, world):
    response = client.post("/api/v1/exercises/gate-multiply/check", json={"seeds": 10}, headers=bearer("teacher"))
    report = response.get_json()
    assert response.status_code == 200 and report["passed"] is True and report["seeds"] == 10
    assert {row["mistake"] for row in report["mistakes"]} >= {"no_swap", "negated"}
    assert report["stored"] is False  # the catalogue is not the teacher's, and 10 seeds are fewer than a save's
    gate = db.session.scalar(select(Exercise).where(Exercise.slug == "gate-multiply"))
    assert gate.current.checks is None
    kept = client.post("/api/v1/exercises/gate-multiply/check", json={"seeds": 20}, headers=bearer("root"))
    assert kept.get_json()["stored"] is True
    db.session.refresh(gate.current)
    assert gate.current.checks["seeds"] == 20
    assert client.get("/api/v1/exercises/gate-multiply", headers=bearer("teacher")).get_json()["checks"]["passed"]


def test_a_definition_whose_tests_fail_is_saved_as_a_draft_and_cannot_be_assigned(app, client, world):
    document = copy.deepcopy(next(e.document for e in load_catalogue(app.config["EXERCISES_DIR"]).values()
                                  if e.id == "code-relu-backward"))
    document["id"] = "relu-draft"
    document["function"]["solution"] = "def relu_backward(dout, z):\n    return dout * (z >= 0)\n"  # wrong at 0
    created = client.post("/api/v1/exercises", json={"definition": document}, headers=bearer("teacher"))
    assert created.status_code == 201
    checks = created.get_json()["checks"]
    assert checks["passed"] is False and any("solution" in f for f in checks["failures"])
    refused = client.post(f"/api/v1/courses/{world.course.id}/assignments", json={"exercise": "relu-draft"},
                          headers=bearer("teacher"))
    assert refused.status_code == 409 and refused.get_json()["code"] == "exercise_draft"
    assert "solution" in refused.get_json()["message"]


def test_yaml_saves_keep_their_source_and_versions_diff(client, world):
    """(The catalogue is an administrator's to edit: root is one.)"""
    source = client.get("/api/v1/exercises/gate-add/versions/1", headers=bearer("root")).get_json()["source"]
    lines = source.splitlines()
    prompt = next(i for i, line in enumerate(lines) if line.startswith("prompt"))
    lines.insert(prompt + 1, "  An edited first line.")
    edited = "\n".join(lines) + "\n"
    put = client.put("/api/v1/exercises/gate-add", data=edited.encode(), headers={
        **bearer("root"), "Content-Type": "application/yaml"})
    assert put.status_code == 200, put.get_json()
    versions = client.get("/api/v1/exercises/gate-add/versions", headers=bearer("root")).get_json()
    assert [v["version"] for v in versions] == [2, 1] and versions[0]["created_by"] == "root"
    assert client.get("/api/v1/exercises/gate-add/versions/2", headers=bearer("root")).get_json()[
        "source"] == edited
    diff = client.get("/api/v1/exercises/gate-add/diff?from=1&to=2", headers=bearer("root")).get_json()["diff"]
    assert "+  An edited first line." in diff
    assert client.get("/api/v1/exercises/gate-add/diff?from=1&to=9", headers=bearer("root")).status_code == 404
    restored = client.post("/api/v1/exercises/gate-add/versions/1/restore", headers=bearer("root")).get_json()
    assert restored["version"] == 3


@pytest.mark.parametrize("path", ["/exercises/gate-add/preview", "/exercises/gate-add/versions"])
def test_students_cannot_read_the_workspace(client, world, path):
    assert client.get("/api/v1" + path, headers=bearer("alice")).status_code == 403
