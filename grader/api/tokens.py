"""API tokens of the caller: list, create (the secret is shown once), revoke.

No scope is needed to manage your own tokens, but a token can only create tokens with a subset of its own
scopes (no escalation through a narrower token), never outliving it, and can revoke only itself and the
tokens it created; revoking a token revokes everything it created. A signed-in person manages all of theirs.
So a leaked token can neither lock its owner out nor leave children behind."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask.views import MethodView
from sqlalchemy import select

from grader.api.auth import current_scopes, current_token, current_user, require
from grader.api.common import blueprint, not_found
from grader.api.schemas import TokenCreated, TokenIn, TokenOut
from grader.models import ApiToken, db, utcnow
from grader.service import ServiceError

blp = blueprint("tokens", "Your API tokens")


def _out(token: ApiToken) -> dict[str, Any]:
    return {c: getattr(token, c) for c in ("id", "name", "prefix", "scopes", "expires_at", "revoked_at",
                                           "last_used_at", "created_at")}


@blp.route("/tokens")
class Tokens(MethodView):
    @require(None)
    @blp.response(200, TokenOut(many=True))
    def get(self):
        """Your tokens (never their secrets), newest first."""
        return [_out(t) for t in db.session.scalars(select(ApiToken).where(
            ApiToken.user_id == current_user().id).order_by(ApiToken.id.desc()))]

    @require(None)
    @blp.arguments(TokenIn)
    @blp.response(201, TokenCreated)
    def post(self, body):
        """A new token for yourself; its secret is in the response and nowhere else, ever."""
        scopes = list(dict.fromkeys(body["scopes"]))
        beyond = sorted(set(scopes) - current_scopes())
        if beyond:
            raise ServiceError(403, "missing_scope", "a token cannot grant scopes it does not have",
                               {"scopes": [f"not held by this token: {', '.join(beyond)}"]})
        expires_at = utcnow() + timedelta(days=body["expires_in_days"])
        parent = current_token()
        if parent is not None and parent.expires_at is not None:
            expires_at = min(expires_at, parent.expires_at)  # a token cannot outlive the token that made it
        token, secret = ApiToken.issue(current_user(), scopes, body["name"], expires_at, parent=parent)
        db.session.add(token)
        db.session.commit()
        return {**_out(token), "token": secret}


@blp.route("/tokens/<int(max=2147483647):token_id>")
class TokenItem(MethodView):
    @require(None)
    @blp.response(204)
    def delete(self, token_id: int):
        """Revoke one of your tokens and every token it created (at once; revoking twice is harmless). With a
        token: only that token or one it created (403 otherwise)."""
        token = db.session.get(ApiToken, token_id)
        if token is None or token.user_id != current_user().id:
            raise not_found("token")
        caller = current_token()
        if caller is not None and caller.id not in token.lineage():
            raise ServiceError(403, "forbidden", "a token can revoke only itself and the tokens it created; sign "
                               "in to revoke others")
        token.revoke()
        db.session.commit()
