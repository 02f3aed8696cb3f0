"""Inside the LMS's iframe: the session cookie of a browser signed in by an LTI launch is sent with
`SameSite=None; Secure` over HTTPS (the LMS's page is another site: a Lax cookie would not come back from
inside its frame), and the registered platforms' origins are allowed to frame the pages (CSP
frame-ancestors, after those of FRAME_ANCESTORS).

Behind a TLS-terminating proxy, set PROXY_FIX=1 (werkzeug's ProxyFix, one proxy: X-Forwarded-Proto and -Host
trusted) so that Gradgate knows the request was HTTPS."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, request, session
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from grader.headers import CONTENT_SECURITY_POLICY
from grader.lti.models import LtiRegistration
from grader.models import db

ORIGINS_TTL_S = 60.0
CACHE = "lti_frame_origins"  # in app.extensions: (when read, origins)


class LtiSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session; an LTI session over HTTPS gets SameSite=None and Secure."""

    def _framed(self) -> bool:
        return bool(session.get("lti_launch")) and request.is_secure

    def get_cookie_samesite(self, app: Flask) -> str | None:
        return "None" if self._framed() else super().get_cookie_samesite(app)

    def get_cookie_secure(self, app: Flask) -> bool:
        return True if self._framed() else super().get_cookie_secure(app)


def platform_origins() -> tuple[str, ...]:
    """The origins of the registered platforms (issuer and authorization URL), read at most once a minute."""
    cached = current_app.extensions.get(CACHE)
    if cached is not None and time.monotonic() - cached[0] < ORIGINS_TTL_S:
        return cached[1]
    origins: list[str] = []
    try:
        rows = db.session.execute(select(LtiRegistration.issuer, LtiRegistration.auth_login_url)).all()
    except SQLAlchemyError:  # no database (or not migrated yet): the page is served all the same
        db.session.rollback()
        return ()
    for issuer, login in rows:
        for url in (issuer, login):
            parts = urlsplit(url)
            if parts.scheme in ("https", "http") and parts.netloc and " " not in parts.netloc:
                origins.append(f"{parts.scheme}://{parts.netloc}")
    found = tuple(dict.fromkeys(origins))
    current_app.extensions[CACHE] = (time.monotonic(), found)
    return found


def forget_origins() -> None:
    current_app.extensions.pop(CACHE, None)


def frame_ancestors(response: Response) -> Response:
    """CSP with the platforms' origins among the frame ancestors (grader.headers sets it where this did not)."""
    if "Content-Security-Policy" not in response.headers and response.mimetype == "text/html":
        ancestors = " ".join((current_app.config["FRAME_ANCESTORS"], *platform_origins()))
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.format(frame_ancestors=ancestors)
    return response


def init_frames(app: Flask) -> None:
    app.session_interface = LtiSessionInterface()
    app.after_request(frame_ancestors)  # runs before grader.headers' (registered earlier)
    if app.config.get("PROXY_FIX"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)
