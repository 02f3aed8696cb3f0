"""LTI Dynamic Registration (Moodle, Brightspace, Sakai, Canvas): an administrator makes a one-time registration
URL (`flask --app wsgi lti registration-url`) and pastes it into the LMS; the LMS opens it with its OpenID
configuration and a registration token, Gradgate posts its tool configuration to the LMS's registration
endpoint (pylti1p3's tool side) and stores the platform with the deployment the LMS answers."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlsplit

from flask import url_for
from pylti1p3.dynamic_registration import DynamicRegistration
from sqlalchemy import delete

from grader.errors import ServiceError
from grader.lti.models import LtiLaunchValue, LtiRegistration
from grader.lti.registrations import register_platform
from grader.models import db, utcnow

KEY_PREFIX = "dynamic-registration-"
KEY_LIFETIME_S = 24 * 3600
TOOL_SPEC = "https://purl.imsglobal.org/spec/lti-tool-configuration"
PLATFORM_SPEC = "https://purl.imsglobal.org/spec/lti-platform-configuration"


def registration_url() -> str:
    """A new one-time registration URL (valid a day)."""
    from datetime import timedelta

    key = secrets.token_urlsafe(24)
    db.session.add(LtiLaunchValue(key=KEY_PREFIX + key, value=True,
                                  expires_at=utcnow() + timedelta(seconds=KEY_LIFETIME_S)))
    db.session.commit()
    return url_for("lti.dynamic_registration", key=key, _external=True)


def use_key(key: str) -> None:
    """Spend a one-time key; 403 for one unknown, expired or used."""
    taken = db.session.execute(delete(LtiLaunchValue).where(LtiLaunchValue.key == KEY_PREFIX + (key or "")[:100],
                                                            LtiLaunchValue.expires_at > utcnow())).rowcount
    db.session.commit()
    if not taken:
        raise ServiceError(403, "forbidden", "this registration URL is unknown, expired or used already")


class GradgateDynamicRegistration(DynamicRegistration):
    client_name = "Gradgate"
    description = "Auto-graded exercises on backpropagation"

    def __init__(self, openid_configuration: str, registration_token: str | None) -> None:
        self.openid_configuration, self.registration_token = openid_configuration, registration_token
        self.registration: LtiRegistration | None = None

    def get_openid_configuration_endpoint(self) -> str:
        return self.openid_configuration

    def get_registration_token(self) -> str | None:
        return self.registration_token

    def get_initiate_login_uri(self) -> str:
        return url_for("lti.login", _external=True)

    def get_jwks_uri(self) -> str:
        return url_for("lti.jwks", _external=True)

    def get_redirect_uris(self) -> list[str]:
        return [url_for("lti.launch", _external=True)]

    def get_target_link_uri(self) -> str:
        return url_for("lti.launch", _external=True)

    def get_domain(self) -> str:
        return urlsplit(self.get_target_link_uri()).netloc

    def get_scopes(self) -> list[str]:
        from grader.lti.views import SCOPES

        return list(SCOPES)

    def get_claims(self) -> list[str]:
        return ["iss", "sub", "name", "given_name", "family_name", "email"]

    def get_messages(self) -> list[dict[str, str]]:
        return [{"type": "LtiDeepLinkingRequest", "target_link_uri": self.get_target_link_uri(),
                 "label": "Gradgate problem set"}]

    def get_logo_uri(self) -> str:
        return ""

    def complete_registration(self, openid_configuration: dict[str, Any],
                              openid_registration: dict[str, Any]) -> LtiRegistration:
        issuer = str(openid_configuration.get("issuer", ""))
        if not issuer or not self.openid_configuration.startswith(issuer.rstrip("/")):
            raise ServiceError(400, "bad_configuration", f"the platform's OpenID configuration names the issuer "
                               f"{issuer!r}, which is not where it was fetched from")
        tool = openid_registration.get(TOOL_SPEC) or {}
        deployment = tool.get("deployment_id")
        if not deployment:
            raise ServiceError(400, "bad_configuration", "the platform gave no deployment id: register it with "
                               "flask --app wsgi lti register --deployment-id ...")
        self.registration, _ = register_platform(
            issuer=issuer, client_id=str(openid_registration.get("client_id", "")),
            auth_login_url=str(openid_configuration.get("authorization_endpoint", "")),
            auth_token_url=str(openid_configuration.get("token_endpoint", "")),
            keyset_url=str(openid_configuration.get("jwks_uri", "")), deployment_ids=[str(deployment)])
        return self.registration
