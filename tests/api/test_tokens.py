"""Token lineage: a token revokes only itself and what it created; revoking one revokes what it created;
a signed-in person revokes any of theirs. So a leaked token can neither lock its owner out nor leave
children behind."""

from __future__ import annotations

from tests.api.conftest import bearer
from tests.api.test_session_auth import sign_in


def child_of(client, headers: dict, scopes: list[str]) -> tuple[int, dict]:
    body = client.post("/api/v1/tokens", json={"name": "child", "scopes": scopes}, headers=headers).get_json()
    return body["id"], {"Authorization": f"Bearer {body['token']}"}


def works(client, headers: dict) -> bool:
    return client.get("/api/v1/tokens", headers=headers).status_code == 200


def test_revoking_a_token_revokes_everything_it_created(client, world):
    parent = bearer("alice")
    parent_id = client.get("/api/v1/tokens", headers=parent).get_json()[0]["id"]
    child_id, child = child_of(client, parent, ["submissions:read", "courses:read"])
    _, grandchild = child_of(client, child, ["courses:read"])
    assert works(client, child) and works(client, grandchild)
    assert client.delete(f"/api/v1/tokens/{parent_id}", headers=parent).status_code == 204
    assert not works(client, parent) and not works(client, child) and not works(client, grandchild)
    revoked = {t["id"]: t["revoked_at"] for t in client.get("/api/v1/tokens", headers=bearer("alice")).get_json()}
    assert revoked[child_id] is not None


def test_a_narrow_token_cannot_revoke_its_owners_other_tokens(client, world):
    wide, narrow = bearer("alice"), bearer("alice", [])
    listing = client.get("/api/v1/tokens", headers=wide).get_json()
    wide_id = next(t["id"] for t in listing if t["scopes"])
    narrow_id = next(t["id"] for t in listing if not t["scopes"])
    refused = client.delete(f"/api/v1/tokens/{wide_id}", headers=narrow)
    assert refused.status_code == 403 and "sign in" in refused.get_json()["message"]
    assert works(client, wide)
    # ... but it can revoke itself, and a token it created.
    child_id, child = child_of(client, narrow, [])
    assert client.delete(f"/api/v1/tokens/{child_id}", headers=narrow).status_code == 204 and not works(client, child)
    assert client.delete(f"/api/v1/tokens/{narrow_id}", headers=narrow).status_code == 204
    assert not works(client, narrow) and works(client, wide)


def test_a_signed_in_person_revokes_any_of_their_tokens(app, client, world):
    wide = bearer("alice")
    wide_id = client.get("/api/v1/tokens", headers=wide).get_json()[0]["id"]
    sign_in(client, "alice")  # CSRF is off in testing; test_session_auth checks it when on
    assert client.delete(f"/api/v1/tokens/{wide_id}").status_code == 204
    assert not works(client, wide)
