"""The test harness: a test's requests share its app context (and so `g`, where Flask-Login keeps the user it
loaded), but every request loads the user of its own client's session, as in production; two clients in one
test are two people."""

from __future__ import annotations

import re

from tests.web.conftest import login


def who(page: str) -> str:
    return re.search(r'class="who">([^<]*)<', page).group(1)


def test_two_clients_in_one_test_are_two_users(app, course):
    alice, bob, nobody = app.test_client(), app.test_client(), app.test_client()
    login(alice, "alice")
    assert who(alice.get("/account/password").text) == "Alice"
    login(bob, "bob")  # not answered "already signed in" as alice
    assert who(bob.get("/account/password").text) == "Bob" and who(alice.get("/account/password").text) == "Alice"
    assert nobody.get("/account/password").status_code == 302  # signed out: to the sign-in page
