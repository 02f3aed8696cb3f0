"""Who may change an exercise: its owner (who created it through the API) and administrators. Others use it
as it is: an edit reaches every course that assigns it."""

from __future__ import annotations

import copy

from grader.exercises import find
from tests.api.conftest import EXERCISE, bearer


def document(app, slug: str, title: str) -> dict:
    doc = copy.deepcopy(find(EXERCISE, app.config["EXERCISES_DIR"]).document)
    return dict(doc, id=slug, title=title)


def test_only_the_owner_and_administrators_change_an_exercise(app, client, world):
    mine = document(app, "teachers-own", "Mine")
    created = client.post("/api/v1/exercises", json={"definition": mine}, headers=bearer("teacher"))
    assert created.status_code == 201
    assert (created.json["owner"], created.json["editable"]) == ("teacher", True)

    # Another instructor does not see it at all (its definition may hold solutions), unless their course uses it.
    assert client.get("/api/v1/exercises/teachers-own", headers=bearer("otherteacher")).status_code == 404
    edit = {"definition": dict(mine, title="Changed by someone else")}
    refused = client.put("/api/v1/exercises/teachers-own", json=edit, headers=bearer("otherteacher"))
    assert refused.status_code == 404
    assert client.delete("/api/v1/exercises/teachers-own", headers=bearer("otherteacher")).status_code == 404
    unchanged = client.get("/api/v1/exercises/teachers-own", headers=bearer("teacher")).json
    assert unchanged["title"] == "Mine" and unchanged["versions"] == [1]

    assert client.put("/api/v1/exercises/teachers-own", json={"definition": dict(mine, title="v2")},
                      headers=bearer("teacher")).json["versions"] == [1, 2]
    by_admin = client.put("/api/v1/exercises/teachers-own", json={"definition": dict(mine, title="v3")},
                          headers=bearer("root"))
    assert by_admin.status_code == 200 and by_admin.json["owner"] == "teacher"  # an admin's edit keeps the owner


def test_the_catalogue_is_changed_by_administrators_only(app, client, world):
    catalogue = client.get(f"/api/v1/exercises/{EXERCISE}", headers=bearer("teacher")).json
    assert (catalogue["owner"], catalogue["editable"]) == (None, False)
    edit = {"definition": dict(catalogue["definition"], title="Renamed")}
    refused = client.put(f"/api/v1/exercises/{EXERCISE}", json=edit, headers=bearer("teacher"))
    assert refused.status_code == 403 and "only an administrator" in refused.json["message"]
    assert client.put(f"/api/v1/exercises/{EXERCISE}", json=edit, headers=bearer("root")).json["title"] == "Renamed"


def test_a_deleted_exercise_comes_back_only_for_its_owner(app, client, world):
    mine = document(app, "short-lived", "Short-lived")
    client.post("/api/v1/exercises", json={"definition": mine}, headers=bearer("teacher"))
    assert client.delete("/api/v1/exercises/short-lived", headers=bearer("teacher")).status_code == 204
    taken_over = client.post("/api/v1/exercises", json={"definition": mine}, headers=bearer("otherteacher"))
    assert taken_over.status_code == 403
    revived = client.post("/api/v1/exercises", json={"definition": mine}, headers=bearer("teacher"))
    assert revived.status_code == 201 and revived.json["owner"] == "teacher" and not revived.json["deleted"]
