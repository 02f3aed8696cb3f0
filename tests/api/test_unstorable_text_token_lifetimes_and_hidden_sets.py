"""Text no database keeps is refused, a token never outlives its parent, a hidden set's submissions stay hidden."""

from datetime import timedelta

from grader.models import ApiToken, Submission, User, db, utcnow
from tests.api.conftest import RIGHT, bearer, count


def test_nul_and_lone_surrogates_are_refused_naming_the_field(client, world):
    headers = bearer("alice")
    url = f"/api/v1/assignments/{world.assignment.id}/submissions"
    for body in ('{"answers": {"0": "1\\u0000"}}', '{"answers": {"0": "\\ud800"}}', '{"code": "x = 1\\u0000"}'):
        response = client.post(url, data=body, headers={**headers, "Content-Type": "application/json"})
        assert response.status_code == 400, response.text
        assert response.get_json()["code"] == "malformed_json"
    assert client.get("/api/v1/exercises/a%00b", headers=bearer("teacher")).status_code == 400
    assert count(Submission) == 0


def test_a_token_cannot_outlive_the_token_that_made_it(client, world):
    alice = db.session.scalar(db.select(User).where(User.username == "alice"))
    parent, secret = ApiToken.issue(alice, ["submissions:read"], "short", utcnow() + timedelta(hours=1))
    db.session.add(parent)
    db.session.commit()
    response = client.post("/api/v1/tokens", json={"name": "long", "scopes": ["submissions:read"],
                                                   "expires_in_days": 3650},
                           headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 201
    child = db.session.get(ApiToken, response.get_json()["id"])
    assert child.expires_at <= parent.expires_at


def test_a_hidden_assignments_submissions_are_hidden_from_their_owner(client, world):
    headers = bearer("alice")
    created = client.post(f"/api/v1/assignments/{world.assignment.id}/submissions", json={"answers": RIGHT},
                          headers=headers)
    assert created.status_code == 201
    world.assignment.visible = False
    db.session.commit()
    assert client.get(f"/api/v1/submissions/{created.get_json()['id']}", headers=headers).status_code == 404
