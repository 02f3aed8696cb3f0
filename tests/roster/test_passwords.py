"""Passwords: a person changes their own (current password required, CSRF-protected, linked from the header);
an instructor resets a student's in their course, which kills the old password and every earlier link and
gives a new one-time link; staff accounts only an administrator resets."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from grader import roster
from grader.errors import ServiceError
from grader.models import User, db
from tests.conftest import app_on
from tests.service.conftest import make_user
from tests.web.conftest import login


def user(username: str) -> User:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.username == username))


def test_changing_your_password_needs_the_current_one(client, roster_world):
    login(client, "alice")
    assert 'href="/account/password"' in client.get("/", follow_redirects=True).text
    wrong = client.post("/account/password", data={"current": "guess", "new": "brand-new-pw", "again": "brand-new-pw"})
    assert wrong.status_code == 422 and "current password is wrong" in wrong.text
    short = client.post("/account/password", data={"current": "alice-password", "new": "short", "again": "short"})
    assert short.status_code == 422 and "between 8 and 200 characters" in short.text
    differ = client.post("/account/password", data={"current": "alice-password", "new": "brand-new-pw",
                                                    "again": "brand-new-px"})
    assert differ.status_code == 422 and "differ" in differ.text
    assert user("alice").check_password("alice-password")
    ok = client.post("/account/password", data={"current": "alice-password", "new": "brand-new-pw",
                                                "again": "brand-new-pw"})
    assert ok.status_code == 302
    assert user("alice").check_password("brand-new-pw") and not user("alice").check_password("alice-password")


def test_the_password_form_refuses_a_post_without_the_csrf_token(app, roster_world):
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    page = client.get("/login").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    client.post("/login", data={"username": "alice", "password": "alice-password", "csrf_token": token})
    forged = client.post("/account/password", data={"current": "alice-password", "new": "brand-new-pw",
                                                     "again": "brand-new-pw"})
    assert forged.status_code == 400
    assert user("alice").check_password("alice-password")


def test_signed_out_visitors_are_sent_to_sign_in(client, roster_world):
    response = client.get("/account/password")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_an_instructor_resets_a_students_password_with_a_one_time_link(client, roster_world):
    login(client, "ada")
    response = client.post(f"/instructor/courses/{roster_world.course.id}/members/alice/reset")
    assert response.status_code == 200
    link = re.search(r'<code class="sign-in-link">http://localhost(/sign-in/[^<]+)</code>', response.text).group(1)
    assert not user("alice").check_password("alice-password")  # the old password is dead at once
    client.post("/logout")
    assert "Sign in and choose a password" in client.get(link).text
    assert user("alice").check_password("") is False
    signed_in = client.post(link)
    assert signed_in.status_code == 302 and signed_in.headers["Location"].endswith("/account/password")
    form = client.get("/account/password").text
    assert "Choose your password" in form and "Current password" not in form
    chosen = client.post("/account/password", data={"new": "alices-own-pw", "again": "alices-own-pw"})
    assert chosen.status_code == 302 and user("alice").check_password("alices-own-pw")
    client.post("/logout")
    reused = client.post(link)
    assert reused.status_code == 400 and "already used" in reused.text


def test_a_tampered_or_foreign_link_signs_nobody_in(client, roster_world, app):
    token = roster.sign_in_token(user("bob"))
    for bad in (token[:-2] + "xx", "not-a-token", token.replace(".", "", 1)):
        response = client.post(f"/sign-in/{bad}")
        assert response.status_code == 400 and "expired or was already used" in response.text
    roster.set_password(user("bob"), "bobs-new-password")  # a changed password kills the link
    assert client.post(f"/sign-in/{token}").status_code == 400


def test_staff_accounts_and_other_courses_students_are_not_reset_by_an_instructor(app, roster_world):
    ada, root = user("ada"), user("root")
    with pytest.raises(ServiceError) as ta:
        roster.reset_password(ada, roster_world.course, "tom")
    assert ta.value.status == 403
    with pytest.raises(ServiceError) as outside:
        roster.reset_password(ada, roster_world.course, "eve")
    assert outside.value.status == 404
    assert roster.use_sign_in_token(roster.reset_password(root, roster_world.course, "tom")).username == "tom"


def test_guessing_the_current_password_or_links_is_rate_limited(backend, database_urls):
    with app_on(database_urls[backend], RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute") as app:
        make_user("alice")
        db.session.commit()
        client = app.test_client()
        login(client, "alice")
        guesses = [client.post("/account/password", data={"current": f"guess-{i}", "new": "brand-new-pw",
                                                          "again": "brand-new-pw"}).status_code for i in range(5)]
        assert guesses == [422, 422, 422, 429, 429]
        assert [client.post(f"/sign-in/guess-{i}").status_code for i in range(4)] == [400, 400, 400, 429]


def test_passwords_are_stored_as_salted_scrypt_hashes(app, roster_world):
    # The fixtures' accounts use a cheap hash (tests/service/conftest.py); what the service stores is scrypt.
    made = roster.create_user("newbie", password="a-long-password")
    roster.set_password(user("bob"), "bobs-new-password")
    for stored in (made, user("bob")):
        assert stored.password_hash.startswith("scrypt:")
    assert made.password_hash != roster.create_user("twin", password="a-long-password").password_hash
    assert made.check_password("a-long-password") and not made.check_password("a-long-passwore")
