"""Auth for the API: `Authorization: Bearer <token>`, or the signed-in session of the web pages.

A token carries its scopes; a session (Flask-Login) acts with the person's full rights, and its writes must
carry the CSRF token (X-CSRFToken header) as a form would, since a browser sends cookies cross-site.

Each view declares the scope it needs (and, for instructor-only areas, the global roles allowed):

    @require("exercises:read", roles=INSTRUCTORS)

401 when the token is missing, unknown, expired or revoked; 403 when it lacks the scope or the user the role.
Course-level roles (a student of the course, its instructor) are checked by the views, which answer 404 to
someone outside the course so that no id leaks.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar

import flask_login
from flask import current_app, g
from flask import request as flask_request
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from grader.models import SCOPES, ApiToken, User, db, hash_token, utcnow
from grader.service import ServiceError

INSTRUCTORS = ("instructor", "admin")
LAST_USED_EVERY = timedelta(seconds=60)  # last_used_at is refreshed at most once a minute (no write per call)

F = TypeVar("F", bound=Callable[..., Any])


def authenticate() -> tuple[User, ApiToken | None]:
    header = flask_request.headers.get("Authorization", "")
    if not header and flask_login.current_user.is_authenticated:
        return _session_user(), None
    scheme, _, secret = header.strip().partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret:
        raise ServiceError(401, "unauthorized", "send a token: Authorization: Bearer <token>")
    token = db.session.scalar(select(ApiToken).options(joinedload(ApiToken.user))
                              .where(ApiToken.token_hash == hash_token(secret)))
    now = utcnow()
    if token is None or not token.usable(now):
        raise ServiceError(401, "invalid_token", "the token is unknown, expired or revoked")
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_EVERY:
        token.last_used_at = now
        db.session.commit()
    return token.user, token


def _session_user() -> User:
    from grader.extensions import csrf

    if current_app.config.get("WTF_CSRF_ENABLED", True):
        csrf.protect()  # CSRFError (400) for a write without the session's CSRF token
    return flask_login.current_user._get_current_object()


def require(scope: str | None, *, roles: tuple[str, ...] | None = None) -> Callable[[F], F]:
    """Authenticate before anything else (arguments are parsed after), then check scope and role."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user, token = authenticate()
            if scope is not None and token is not None and scope not in token.scopes:
                raise ServiceError(403, "missing_scope", f"this token lacks the scope {scope}")
            if roles is not None and user.role not in roles:
                raise ServiceError(403, "forbidden", f"only {' or '.join(roles)} accounts may do this")
            g.api_user, g.api_token = user, token
            return view(*args, **kwargs)

        wrapper.required_scope = scope  # type: ignore[attr-defined]  # read by the docs and tests
        wrapper.required_roles = roles  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorator


def current_user() -> User:
    return g.api_user


def current_token() -> ApiToken | None:
    """The request's token (None for a signed-in session)."""
    return g.api_token


def current_scopes() -> set[str]:
    token = current_token()
    return set(SCOPES) if token is None else set(token.scopes)
