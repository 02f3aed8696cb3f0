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
