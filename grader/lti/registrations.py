"""Registrations of LTI platforms and their deployments: the one place that changes them (the CLI
`flask lti ...`, the administrator page and dynamic registration call these)."""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from grader.errors import ServiceError
from grader.lti.frames import forget_origins
from grader.lti.models import LtiDeployment, LtiRegistration
from grader.models import db

MAX_FIELD = 255
MAX_URL = 1000


def _invalid(field_name: str, message: str) -> ServiceError:
    return ServiceError(422, "validation_error", message, {field_name: [message]})


def _text(field_name: str, value: str | None, *, most: int = MAX_FIELD) -> str:
    text = (value or "").strip()
    if not text:
        raise _invalid(field_name, f"give the {field_name.replace('_', ' ')}: the platform shows it on its "
                       "registration of Gradgate")
    if len(text) > most or "\x00" in text or any(c in text for c in "\r\n"):
        raise _invalid(field_name, f"the {field_name.replace('_', ' ')} must be one line of at most {most} "
                       "characters")
    return text


def _url(field_name: str, value: str | None) -> str:
    url = _text(field_name, value, most=MAX_URL)
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise _invalid(field_name, f"the {field_name.replace('_', ' ')} must be an https:// (or http://) URL "
                       f"(not {url[:80]!r})")
    return url


def registrations() -> list[LtiRegistration]:
    return list(db.session.scalars(select(LtiRegistration).options(selectinload(LtiRegistration.deployments))
                                   .order_by(LtiRegistration.issuer, LtiRegistration.client_id)))


def find_registration(issuer: str | None, client_id: str | None = None) -> LtiRegistration | None:
    """The registration of this issuer and client id; with no client id, the issuer's only one (None when it has
    none, or several)."""
    if not issuer:
        return None
    query = select(LtiRegistration).where(LtiRegistration.issuer == issuer)
    if client_id:
        return db.session.scalar(query.where(LtiRegistration.client_id == client_id))
    found = list(db.session.scalars(query.limit(2)))
    return found[0] if len(found) == 1 else None


def find_deployment(registration: LtiRegistration, deployment_id: str | None) -> LtiDeployment | None:
    if not deployment_id:
        return None
    return next((d for d in registration.deployments if d.deployment_id == deployment_id), None)


def register_platform(*, issuer: str, client_id: str, auth_login_url: str, auth_token_url: str,
                      keyset_url: str, deployment_ids: list[str], auth_audience: str | None = None
                      ) -> tuple[LtiRegistration, bool]:
    """Register a platform's client with its deployments, or update the one registered under this issuer and
    client id (its URLs replaced, new deployments added, none removed). Returns it and whether it is new.
    422 naming the field for a blank value or a URL that is not http(s)."""
    issuer, client_id = _text("issuer", issuer), _text("client_id", client_id)
    urls = {name: _url(name, value) for name, value in (("auth_login_url", auth_login_url),
                                                         ("auth_token_url", auth_token_url),
                                                         ("keyset_url", keyset_url))}
    wanted = list(dict.fromkeys(_text("deployment_id", d) for d in deployment_ids))
    if not wanted:
        raise _invalid("deployment_id", "give at least one deployment id (the platform shows it when the tool "
                       "is deployed)")
    registration = find_registration(issuer, client_id)
    created = registration is None
    if created:
        registration = LtiRegistration(issuer=issuer, client_id=client_id, **urls)
        db.session.add(registration)
    else:
        for name, value in urls.items():
            setattr(registration, name, value)
    registration.auth_audience = (auth_audience or "").strip() or None
    known = {d.deployment_id for d in registration.deployments}
    for deployment_id in wanted:
        if deployment_id not in known:
            registration.deployments.append(LtiDeployment(deployment_id=deployment_id))
    db.session.commit()
    forget_origins()  # the new platform may frame the pages at once (this process; others within a minute)
    return registration, created


def remove_registration(issuer: str, client_id: str, deployment_id: str | None = None) -> str:
    """Remove one deployment of a registration, or (no deployment named) the whole registration with what its
    launches created (links, contexts; the courses and accounts stay). What was removed, as a sentence. 404
    when there is no such registration or deployment."""
    registration = find_registration(issuer, client_id)
    if registration is None:
        raise ServiceError(404, "not_found", f"no registration of issuer {issuer!r} with client id {client_id!r}")
    if deployment_id is not None:
        deployment = find_deployment(registration, deployment_id)
        if deployment is None:
            raise ServiceError(404, "not_found", f"the registration has no deployment {deployment_id!r}")
        registration.deployments.remove(deployment)
        db.session.commit()
        return f"removed deployment {deployment_id} of {issuer} (client {client_id})"
    db.session.delete(registration)
    db.session.commit()
    forget_origins()
    return f"removed the registration of {issuer} (client {client_id}) and its deployments"


def remove_registration_by_id(registration_id: int) -> str:
    registration = db.session.get(LtiRegistration, registration_id)
    if registration is None:
        raise ServiceError(404, "not_found", "no such registration")
    return remove_registration(registration.issuer, registration.client_id)
