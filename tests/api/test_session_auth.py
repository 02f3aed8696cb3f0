"""The web pages' signed-in session works on the API too: reads as is, writes only with the CSRF token."""

from __future__ import annotations

from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select

from grader.models import Submission, User, db
from tests.api.conftest import RIGHT, count


def sign_in(client, username: str) -> str:
    """Log in through the session cookie; return the CSRF token a page would embed."""
    user = db.session.scalar(select(User).where(User.username == username))
    with client.session_transaction() as session:
        session["_user_id"] = str(user.id)
        session["_fresh"] = True
        session["csrf_token"] = "0123456789abcdef" * 2
    return URLSafeTimedSerializer(client.application.config["SECRET_KEY"], salt="wtf-csrf-token").dumps(
        "0123456789abcdef" * 2)


def test_session_reads_and_csrf_checked_writes(app, client, world):
    app.config["WTF_CSRF_ENABLED"] = True
    csrf = sign_in(client, "alice")
    assert client.get("/api/v1/courses").status_code == 200
    assert client.get("/api/v1/exercises").status_code == 403  # a student, whatever the channel
    url = f"/api/v1/assignments/{world.assignment.id}/submissions"
    forged = client.post(url, json={"answers": RIGHT})
    assert forged.status_code == 400 and forged.get_json()["code"] == "bad_request"
    assert count(Submission) == 0
    ok = client.post(url, json={"answers": RIGHT}, headers={"X-CSRFToken": csrf})
    assert ok.status_code == 201 and ok.get_json()["score"] == 1.0


def test_a_bad_token_is_not_rescued_by_the_session(app, client, world):
    sign_in(client, "alice")
    response = client.get("/api/v1/courses", headers={"Authorization": "Bearer gg_wrong"})
    assert response.status_code == 401
