"""Inside the LMS's iframe: an LTI session's cookie is SameSite=None; Secure over HTTPS (Lax otherwise, and for
every other session), the registered platforms may frame the pages, and behind a proxy (PROXY_FIX=1) the
forwarded scheme counts."""

from __future__ import annotations

from flask import session

from grader import create_app
from grader.lti.registrations import register_platform, remove_registration
from grader.models import db


def _cookie(app, base_url: str, lti: bool) -> str:
    with app.test_request_context("/", base_url=base_url):
        session["user"] = "x"
        if lti:
            session["lti_launch"] = "lti1p3-launch-1"
        response = app.response_class()
        app.session_interface.save_session(app, session, response)
        return response.headers["Set-Cookie"]


def test_an_lti_session_cookie_is_samesite_none_and_secure_over_https_only(app):
    framed = _cookie(app, "https://gradgate.example.edu", lti=True)
    assert "SameSite=None" in framed and "Secure" in framed
    assert "SameSite=Lax" in _cookie(app, "http://gradgate.example.edu", lti=True)  # never None without Secure
    plain = _cookie(app, "https://gradgate.example.edu", lti=False)
    assert "SameSite=Lax" in plain and "Secure" not in plain  # the testing config's own setting


def test_the_registered_platforms_may_frame_the_pages(app, client):
    assert "frame-ancestors 'self';" in client.get("/login").headers["Content-Security-Policy"] + ";"
    register_platform(issuer="https://canvas.instructure.com", client_id="1",
                      auth_login_url="https://sso.canvaslms.com/api/lti/authorize_redirect",
                      auth_token_url="https://sso.canvaslms.com/login/oauth2/token",
                      keyset_url="https://sso.canvaslms.com/api/lti/security/jwks", deployment_ids=["d"])
    policy = client.get("/login").headers["Content-Security-Policy"]
    assert "frame-ancestors 'self' https://canvas.instructure.com https://sso.canvaslms.com" in policy
    remove_registration("https://canvas.instructure.com", "1")
    assert "canvas" not in client.get("/login").headers["Content-Security-Policy"]


def test_behind_a_proxy_the_forwarded_scheme_makes_the_tool_urls_https():
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": "sqlite://", "PROXY_FIX": True})
    with app.app_context():
        db.create_all()
        config = app.test_client().get("/lti/config.json", headers={"X-Forwarded-Proto": "https",
                                                                    "X-Forwarded-Host": "gradgate.example.edu"})
        assert config.get_json()["oidc_initiation_url"] == "https://gradgate.example.edu/lti/login"
        db.drop_all()


def test_over_https_the_login_checks_cookies_first_and_offers_a_new_window(app, client):
    params = {"iss": "https://lms.example.edu", "login_hint": "u1", "target_link_uri": "https://localhost/lti/launch",
              "client_id": "c1"}
    page = client.get("/lti/login", query_string=params, base_url="https://localhost")
    assert page.status_code == 200 and "Open Gradgate in a new window" in page.text
    assert "lti1p3_new_window=1" in page.text and "cookies_checked=1" in page.text
    assert "lti-cookie-check.js" in page.text
    # either link goes on with the login (here to the page saying the platform is not registered)
    for extra in ({"lti1p3_new_window": "1"}, {"cookies_checked": "1"}):
        onward = client.get("/lti/login", query_string={**params, **extra}, base_url="https://localhost")
        assert onward.status_code == 403 and "not registered" in onward.text
    assert client.get("/lti/login", query_string={"iss": "x"}, base_url="https://localhost").status_code == 400
