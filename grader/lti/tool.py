"""pylti1p3 over Gradgate's database: the tool configuration (registrations and deployments from the
lti_registrations tables, the tool's own keys from grader.lti.keys), a launch data store in lti_launch_values,
and a message launch that checks what pylti1p3 leaves out (aud, azp, exp and iat required, a nonce used once).

Every refusal is a LaunchRefused with the HTTP status, what is wrong and what to do about it: the views show it
as a page (grader/templates/lti/refused.html), never a 500."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import jwt
from pylti1p3.contrib.flask import FlaskCookieService, FlaskMessageLaunch, FlaskOIDCLogin, FlaskRequest
from pylti1p3.deployment import Deployment
from pylti1p3.exception import LtiException, OIDCException
from pylti1p3.launch_data_storage.base import LaunchDataStorage
from pylti1p3.registration import Registration
from pylti1p3.tool_config.abstract import ToolConfAbstract
from sqlalchemy import delete, select

from grader.lti import keys
from grader.lti.models import LtiLaunchValue, LtiRegistration
from grader.lti.registrations import find_deployment, find_registration
from grader.models import db, utcnow

CLOCK_SKEW_S = 60  # a platform's clock a minute ahead is still believed
REGISTER_HINT = ("an administrator must register it: flask --app wsgi lti register --issuer ISS --client-id ID "
                 "--auth-login-url URL --auth-token-url URL --keyset-url URL --deployment-id D "
                 "(or on the page LTI platforms)")


class LaunchRefused(Exception):
    """A login or launch Gradgate will not go on with: `status` (4xx), `problem` (what is wrong) and `remedy`
    (who must do what)."""

    def __init__(self, status: int, problem: str, remedy: str) -> None:
        super().__init__(problem)
        self.status, self.problem, self.remedy = status, problem, remedy


class DatabaseToolConf(ToolConfAbstract):
    """Registrations by (issuer, client id); an issuer may have several clients."""

    def __init__(self) -> None:
        self.issuers_relation_types = {}  # the base class keeps a dict shared by every instance

    def check_iss_has_one_client(self, iss: str) -> bool:
        return False

    def check_iss_has_many_clients(self, iss: str) -> bool:
        return True

    def _row(self, iss: str, client_id: str | None) -> LtiRegistration:
        row = find_registration(iss, client_id)
        if row is None:
            which = f"issuer {iss!r}" + (f" with client id {client_id!r}" if client_id else "")
            several = client_id is None and db.session.scalar(
                select(LtiRegistration.id).where(LtiRegistration.issuer == iss).offset(1).limit(1))
            if several:
                raise LaunchRefused(400, f"the platform {iss!r} has several registrations and the login named "
                                    "no client id", "the platform must send client_id with the login")
            raise LaunchRefused(403, f"the platform {which} is not registered with Gradgate", REGISTER_HINT)
        return row

    def find_registration_by_issuer(self, iss: str, *args: Any, **kwargs: Any) -> Registration:
        return self.find_registration_by_params(iss, None)

    def find_registration_by_params(self, iss: str, client_id: str | None, *args: Any, **kwargs: Any
                                    ) -> Registration:
        row = self._row(iss, client_id)
        key = keys.signing_key()
        registration = (Registration().set_issuer(row.issuer).set_client_id(row.client_id)
                        .set_auth_login_url(row.auth_login_url).set_auth_token_url(row.auth_token_url)
                        .set_key_set_url(row.keyset_url).set_tool_private_key(key.private_pem))
        if row.auth_audience:
            registration.set_auth_audience(row.auth_audience)
        return registration

    def find_deployment(self, iss: str, deployment_id: str) -> Deployment | None:
        return self.find_deployment_by_params(iss, deployment_id, None)

    def find_deployment_by_params(self, iss: str, deployment_id: str, client_id: str | None, *args: Any,
                                  **kwargs: Any) -> Deployment | None:
        row = self._row(iss, client_id)
        if find_deployment(row, deployment_id) is None:
            raise LaunchRefused(403, f"the deployment {deployment_id!r} of {iss} (client {row.client_id}) is not "
                                "registered with Gradgate",
                                "an administrator must add it: flask --app wsgi lti register with the same "
                                f"--issuer and --client-id and --deployment-id {deployment_id}")
        return Deployment().set_deployment_id(deployment_id)

    def get_jwks(self, iss: str | None = None, client_id: str | None = None, **kwargs: Any) -> dict[str, Any]:
        return keys.jwks()


class DatabaseLaunchStorage(LaunchDataStorage):
    """Key-value rows with an expiry (the same for every web process); committed at once, as pylti1p3 expects
    its store to be."""

    def get_session_cookie_name(self) -> None:
        return None  # keys are random (state, nonce, launch id): no per-browser prefix needed

    def can_set_keys_expiration(self) -> bool:
        return True

    def get_value(self, key: str) -> Any:
        row = db.session.get(LtiLaunchValue, self._prepare_key(key))
        return row.value if row is not None and row.expires_at > utcnow() else None

    def set_value(self, key: str, value: Any, exp: int | None = None) -> None:
        key = self._prepare_key(key)
        expires = utcnow() + timedelta(seconds=exp or 86400)
        row = db.session.get(LtiLaunchValue, key)
        if row is None:
            db.session.add(LtiLaunchValue(key=key, value=value, expires_at=expires))
        else:
            row.value, row.expires_at = value, expires
        db.session.execute(delete(LtiLaunchValue).where(LtiLaunchValue.expires_at < utcnow()))
        db.session.commit()

    def check_value(self, key: str) -> bool:
        return self.get_value(key) is not None

    def take_value(self, key: str) -> bool:
        """Delete the key; whether this call did (so that of two launches with one nonce, one wins)."""
        taken = db.session.execute(delete(LtiLaunchValue).where(LtiLaunchValue.key == self._prepare_key(key),
                                                                LtiLaunchValue.expires_at > utcnow())).rowcount
        db.session.commit()
        return bool(taken)


def _refusal(exc: Exception) -> LaunchRefused:
    """pylti1p3's message as a page: what went wrong and what the platform or user can do."""
    text = str(exc)
    if "State not found" in text or "Missing state" in text:
        return LaunchRefused(400, "this launch does not continue a login started here (its state is unknown or "
                             "has expired, or the browser did not send Gradgate's cookie)",
                             "start again from the link in the LMS; if it keeps failing, open Gradgate in a new "
                             "window (the browser may block cookies in the LMS's frame)")
    if "Invalid Nonce" in text or "nonce" in text:
        return LaunchRefused(400, "the launch's nonce is missing, unknown or used already (a replayed id_token)",
                             "start again from the link in the LMS")
    if "id_token" in text and "Can't decode" not in text or "JWT must contain" in text or "JWT format" in text:
        return LaunchRefused(400, f"the launch's id_token is missing or malformed ({text})",
                             "the platform must post id_token and state to /lti/launch")
    if "public key" in text or "KID" in text or "key set" in text.lower():
        return LaunchRefused(400, f"the id_token's signing key was not found in the platform's key set ({text})",
                             "an administrator must check the registration's --keyset-url")
    if "Signature has expired" in text:
        return LaunchRefused(400, "the id_token has expired", "start again from the link in the LMS (and check "
                             "that the platform's clock is right)")
    if "Can't decode" in text or "Signature verification" in text:
        return LaunchRefused(400, f"the id_token's signature does not verify ({text})",
                             "the id_token was changed on its way, or signed with a key not in the platform's "
                             "key set: an administrator must check the registration's --keyset-url")
    return LaunchRefused(400, f"the launch is not valid: {text}", "start again from the link in the LMS; "
                         "if it keeps failing, an administrator must check the platform's registration")


class GradgateMessageLaunch(FlaskMessageLaunch):
    """pylti1p3's launch plus the checks it leaves out: the id_token's aud names the registered client, azp
    too where there are several audiences, exp and iat are present and believable, and its nonce is used once."""

    def validate_jwt_signature(self) -> GradgateMessageLaunch:
        super().validate_jwt_signature()
        body, client_id = self._get_jwt_body(), self._registration.get_client_id()
        for claim in ("exp", "iat", "aud", "sub"):
            if claim not in body:
                raise LaunchRefused(400, f"the id_token has no {claim!r} claim",
                                    "the platform must send a complete LTI 1.3 launch")
        public_key, alg = self.get_public_key()
        try:
            jwt.decode(self._get_id_token(), public_key, algorithms=[alg], audience=client_id,
                       leeway=CLOCK_SKEW_S, options={"require": ["exp", "iat", "aud"]})
        except jwt.InvalidAudienceError:
            raise LaunchRefused(400, f"the id_token is for another tool: its aud is {body.get('aud')!r}, not "
                                f"Gradgate's client id {client_id!r}",
                                "an administrator must check the registration's --client-id") from None
        except jwt.InvalidTokenError as exc:
            raise _refusal(exc) from None
        audiences = body["aud"] if isinstance(body["aud"], list) else [body["aud"]]
        if (len(audiences) > 1 or "azp" in body) and body.get("azp") != client_id:
            raise LaunchRefused(400, f"the id_token's azp is {body.get('azp')!r}, not Gradgate's client id "
                                f"{client_id!r}", "the platform must name Gradgate as the authorized party")
        if body["iat"] > time.time() + CLOCK_SKEW_S:
            raise LaunchRefused(400, "the id_token was issued in the future (iat)",
                                "the platform's clock must be set right")
        return self

    def save_launch_data(self) -> GradgateMessageLaunch:
        nonce = self._get_jwt_body().get("nonce", "")
        storage = self._session_service.data_storage
        if not storage.take_value(self._session_service._get_key("nonce", nonce)):
            raise LaunchRefused(400, "the launch's nonce was used already (a replayed id_token)",
                                "start again from the link in the LMS")
        return super().save_launch_data()


def lti_request() -> FlaskRequest:
    return FlaskRequest()


def login_redirect(launch_url: str) -> Any:
    """OIDC login initiation: the redirect to the platform's authorization endpoint (state cookie set)."""
    request = lti_request()
    try:
        login = FlaskOIDCLogin(request, DatabaseToolConf(), cookie_service=FlaskCookieService(request),
                               launch_data_storage=DatabaseLaunchStorage())
        return login.redirect(request.get_param("target_link_uri") or launch_url)
    except LaunchRefused:
        raise
    except (OIDCException, LtiException, AssertionError) as exc:  # pylti1p3 asserts some of its checks
        raise LaunchRefused(400, f"the login request is not valid: {exc}",
                            "the platform must send iss, login_hint and target_link_uri") from None


def validated_launch() -> GradgateMessageLaunch:
    """The launch of this request, validated (LaunchRefused otherwise)."""
    request = lti_request()
    try:
        launch = GradgateMessageLaunch(request, DatabaseToolConf(), launch_data_storage=DatabaseLaunchStorage())
        launch.validate()
        return launch
    except LaunchRefused:
        raise
    except (LtiException, KeyError, ValueError, TypeError, AssertionError) as exc:  # pylti1p3 asserts some checks
        raise _refusal(exc) from None
