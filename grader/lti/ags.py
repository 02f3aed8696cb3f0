"""The platform's Assignment and Grade Services, as the outbox uses them: an access token per registration and
scope set (client-credentials grant with a JWT signed by the tool's key; cached until shortly before it
expires, fetched again on a 401), line items found by resourceId before one is created, and scores posted as
application/vnd.ims.lis.v1.score+json."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import jwt
import requests
from flask import current_app

from grader.lti import keys
from grader.lti.models import LtiResourceLink

SCORE_TYPE = "application/vnd.ims.lis.v1.score+json"
LINEITEM_TYPE = "application/vnd.ims.lis.v2.lineitem+json"
LINEITEM_CONTAINER_TYPE = "application/vnd.ims.lis.v2.lineitemcontainer+json"
SCOPE_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCOPE_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCOPES = (SCOPE_LINEITEM, SCOPE_SCORE)
TOKEN_MARGIN_S = 60  # a token this close to its end is fetched again

_tokens: dict[tuple[str, str, frozenset[str]], tuple[str, float]] = {}
_tokens_lock = threading.Lock()
_http = threading.local()


class TokenClient(Protocol):
    """What a token request needs of a registration (an LtiRegistration, or the outbox's plain copy of one)."""

    client_id: str
    auth_token_url: str
    auth_audience: str | None


class PlatformError(Exception):
    """The platform refused or failed. `retry`: worth trying again later (5xx, a time-out, no connection);
    the message is the platform's reason, for the instructors' view."""

    def __init__(self, message: str, *, retry: bool) -> None:
        super().__init__(message)
        self.retry = retry


def _session() -> requests.Session:
    if getattr(_http, "session", None) is None:
        _http.session = requests.Session()  # a connection pool per worker thread
    return _http.session


def _timeout() -> float:
    return float(current_app.config.get("LTI_HTTP_TIMEOUT_S", 10.0))


def _call(method: str, url: str, **kwargs: Any) -> requests.Response:
    try:
        response = _session().request(method, url, timeout=_timeout(), **kwargs)
    except requests.Timeout:
        raise PlatformError(f"{method} {url}: no answer within {_timeout():g} s", retry=True) from None
    except requests.RequestException as exc:
        raise PlatformError(f"{method} {url}: {type(exc).__name__}: {exc}", retry=True) from None
    if response.status_code >= 500 or response.status_code == 429:
        raise PlatformError(f"{method} {url}: {response.status_code} {response.text[:300]}", retry=True)
    return response


def forget_tokens() -> None:
    with _tokens_lock:
        _tokens.clear()


def access_token(registration: TokenClient, scopes: tuple[str, ...], *, fresh: bool = False) -> str:
    """A bearer token for these scopes: the cached one unless `fresh` or about to expire."""
    key = (registration.auth_token_url, registration.client_id, frozenset(scopes))
    with _tokens_lock:
        cached = _tokens.get(key)
    if cached is not None and not fresh and cached[1] > time.time() + TOKEN_MARGIN_S:
        return cached[0]
    signer = keys.signing_key()
    now = int(time.time())
    assertion = jwt.encode({"iss": registration.client_id, "sub": registration.client_id,
                            "aud": registration.auth_audience or registration.auth_token_url, "iat": now,
                            "exp": now + 300, "jti": uuid.uuid4().hex},
                           signer.private_pem, algorithm="RS256", headers={"kid": signer.kid})
    response = _call("POST", registration.auth_token_url, data={
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion, "scope": " ".join(scopes)})
    if response.status_code != 200:
        raise PlatformError(f"the token endpoint refused: {response.status_code} {response.text[:300]}",
                            retry=False)
    answer = response.json()
    token = answer["access_token"]
    with _tokens_lock:
        _tokens[key] = (token, time.time() + float(answer.get("expires_in", 3600)))
    return token


def _authorized(registration: TokenClient, method: str, url: str, scopes: tuple[str, ...],
                **kwargs: Any) -> requests.Response:
    """The request with a bearer token; once more with a new token when the platform answers 401."""
    headers = dict(kwargs.pop("headers", {}))
    for fresh in (False, True):
        headers["Authorization"] = "Bearer " + access_token(registration, scopes, fresh=fresh)
        response = _call(method, url, headers=headers, **kwargs)
        if response.status_code != 401:
            return response
    raise PlatformError(f"{method} {url}: 401 even with a new access token ({response.text[:200]})", retry=True)


def resource_id(assignment_id: int) -> str:
    return f"gradgate-problem-set-{assignment_id}"


def line_item_url(link: LtiResourceLink) -> str:
    """The link's line item: the one the launch named, else the one of the context whose resourceId is this
    problem set's, else a new one (remembered on the link; the caller commits)."""
    if link.lineitem_url:
        return link.lineitem_url
    context, assignment = link.context, link.assignment
    if not context.lineitems_url:
        raise PlatformError("the platform offered no line items service in its launches (AGS not enabled for "
                            "Gradgate)", retry=False)
    registration = context.registration
    wanted = resource_id(assignment.id)
    listed = _authorized(registration, "GET", context.lineitems_url, SCOPES, params={"resource_id": wanted},
                         headers={"Accept": LINEITEM_CONTAINER_TYPE})
    if listed.status_code != 200:
        raise PlatformError(f"listing line items: {listed.status_code} {listed.text[:300]}", retry=False)
    found = next((item for item in listed.json() if item.get("resourceId") == wanted), None)
    if found is None:
        created = _authorized(registration, "POST", context.lineitems_url, SCOPES, json={
            "label": assignment.title or f"Problem set {assignment.id}", "scoreMaximum": assignment.points,
            "resourceId": wanted, "resourceLinkId": link.resource_link_id, "tag": "gradgate"},
            headers={"Content-Type": LINEITEM_TYPE})
        if created.status_code not in (200, 201):
            raise PlatformError(f"creating the line item: {created.status_code} {created.text[:300]}", retry=False)
        found = created.json()
    link.lineitem_url = found["id"]
    return link.lineitem_url


def scores_url(lineitem_url: str) -> str:
    parts = urlsplit(lineitem_url)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/scores"))


@dataclass
class Score:
    user_id: str  # the platform's sub
    given: float
    maximum: float
    timestamp: str

    def body(self) -> dict[str, Any]:
        return {"userId": self.user_id, "scoreGiven": self.given, "scoreMaximum": self.maximum,
                "activityProgress": "Completed", "gradingProgress": "FullyGraded", "timestamp": self.timestamp}


def post_score(registration: TokenClient, lineitem_url: str, score: Score) -> None:
    response = _authorized(registration, "POST", scores_url(lineitem_url), SCOPES, json=score.body(),
                           headers={"Content-Type": SCORE_TYPE})
    if response.status_code not in (200, 201, 202, 204):
        raise PlatformError(f"the platform refused the score: {response.status_code} {response.text[:300]}",
                            retry=False)
