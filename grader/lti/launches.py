"""What a validated launch changes: the platform user becomes (or finds) a Gradgate account, the platform's
course a Gradgate course, the LTI roles a membership, the resource link a problem set. The one place that
stores what launches bring; called by the /lti/launch view with the launch's claims."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from grader.errors import ServiceError
from grader.lti.models import LtiContext, LtiRegistration, LtiResourceLink, LtiUser
from grader.models import Assignment, Course, Membership, User, db
from grader.roster import _unusable

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
AGS = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
MEMBERSHIP = "http://purl.imsglobal.org/vocab/lis/v2/membership"


@dataclass
class LaunchResult:
    user: User
    role: str  # student | ta | instructor: the user's role in the course
    context: LtiContext
    link: LtiResourceLink | None  # None for a deep-linking request


def course_role(roles: list[str]) -> str:
    """The course role of a launch's LTI roles: context roles only (Canvas sends institution roles too);
    TeachingAssistant → ta, Instructor or Administrator → instructor, anything else or nothing → student."""
    context = [r for r in roles if r.startswith(MEMBERSHIP) or "#" not in r and "/" not in r]
    if any(r.endswith("#TeachingAssistant") or r == "TeachingAssistant" for r in context):
        return "ta"
    if any(r.rsplit("#", 1)[-1] in ("Instructor", "Administrator") or r in ("Instructor", "Administrator")
           for r in context):
        return "instructor"
    return "student"


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


def _claim_text(body: dict[str, Any], *names: str, most: int = 200) -> str:
    for name in names:
        value = body.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip().replace("\x00", "")[:most]
    return ""


def _account(issuer: str, body: dict[str, Any]) -> User:
    """The account of (issuer, sub), created on first launch (no password: the LMS signs them in); its name and
    email follow the claims."""
    sub = str(body["sub"])[:255]
    name = _claim_text(body, "name") or " ".join(filter(None, (_claim_text(body, "given_name"),
                                                               _claim_text(body, "family_name"))))
    email = _claim_text(body, "email", most=254) or None
    found = db.session.scalar(select(LtiUser).where(LtiUser.issuer == issuer, LtiUser.sub == sub))
    if found is not None:
        user = found.user
    else:
        username = "lti-" + _digest(issuer, sub)
        user = User(username=username, name=name or username, email=email, role="student",
                    password_hash=_unusable())
        db.session.add(user)
        db.session.add(LtiUser(issuer=issuer, sub=sub, user=user))
    if name:
        user.name = name
    if email:
        user.email = email
    return user


def _context(registration: LtiRegistration, deployment_id: str, body: dict[str, Any]) -> LtiContext:
    claim = body.get(CLAIM + "context")
    if not isinstance(claim, dict) or not claim.get("id"):
        raise ServiceError(400, "missing_claim", "the launch has no context claim (the LMS course): Gradgate "
                           "needs it to place the student in a course", {"context": ["missing"]})
    context_id = str(claim["id"])[:255]
    context = db.session.scalar(select(LtiContext).where(LtiContext.registration_id == registration.id,
                                                         LtiContext.context_id == context_id))
    title = (_claim_text(claim, "title") or _claim_text(claim, "label") or context_id)[:200]
    if context is None:
        course = Course(code="lti-" + _digest(registration.issuer, registration.client_id, context_id), title=title)
        db.session.add(course)
        context = LtiContext(registration=registration, deployment_id=deployment_id, context_id=context_id,
                             course=course, title=title)
        db.session.add(context)
    context.title = title
    ags = body.get(AGS) if isinstance(body.get(AGS), dict) else {}
    if ags.get("lineitems"):
        context.lineitems_url = str(ags["lineitems"])[:1000]
    if isinstance(ags.get("scope"), list):
        context.ags_scopes = [str(s) for s in ags["scope"]]
    nrps = body.get(NRPS) if isinstance(body.get(NRPS), dict) else {}
    if nrps.get("context_memberships_url"):
        context.memberships_url = str(nrps["context_memberships_url"])[:1000]
    return context


def _membership(user: User, course: Course, role: str) -> str:
    """The user's membership in the course with the LMS's role (an administrator keeps theirs)."""
    if user.role == "admin":
        return "instructor"
    found = None if user.id is None else db.session.scalar(
        select(Membership).where(Membership.user_id == user.id, Membership.course_id == course.id))
    if found is None:
        db.session.add(Membership(user=user, course=course, role=role))
    else:
        found.role = role
    return role


def _link(context: LtiContext, body: dict[str, Any]) -> LtiResourceLink:
    claim = body.get(CLAIM + "resource_link")
    if not isinstance(claim, dict) or not claim.get("id"):
        raise ServiceError(400, "missing_claim", "the launch has no resource_link claim (which link was opened)",
                           {"resource_link": ["missing"]})
    link_id = str(claim["id"])[:255]
    link = None if context.id is None else db.session.scalar(
        select(LtiResourceLink).where(LtiResourceLink.context_id == context.id,
                                      LtiResourceLink.resource_link_id == link_id))
    if link is None:
        link = LtiResourceLink(context=context, resource_link_id=link_id)
        db.session.add(link)
    link.title = _claim_text(claim, "title")[:255]
    ags = body.get(AGS) if isinstance(body.get(AGS), dict) else {}
    if ags.get("lineitem"):
        link.lineitem_url = str(ags["lineitem"])[:1000]
    if link.assignment_id is None:  # a link made by deep linking names its problem set in a custom parameter
        custom = body.get(CLAIM + "custom") if isinstance(body.get(CLAIM + "custom"), dict) else {}
        wanted = str(custom.get("gradgate_problem_set", ""))
        if wanted.isdigit():
            assignment = db.session.get(Assignment, int(wanted))
            if assignment is not None and assignment.course_id == context.course_id:
                link.assignment = assignment
    return link


def record_launch(registration: LtiRegistration, deployment_id: str, body: dict[str, Any]) -> LaunchResult:
    """Store what a validated launch brings and commit; a second launch racing the first for the same new
    user or course finds what the first stored."""
    if not body.get("sub"):
        raise ServiceError(400, "missing_claim", "the launch has no sub claim (the platform's user id): "
                           "anonymous launches are not supported", {"sub": ["missing"]})
    roles = body.get(CLAIM + "roles")
    roles = [str(r) for r in roles] if isinstance(roles, list) else []
    deep_linking = body.get(CLAIM + "message_type") == "LtiDeepLinkingRequest"
    for attempt in range(2):
        try:
            user = _account(registration.issuer, body)
            context = _context(registration, deployment_id, body)
            role = _membership(user, context.course, course_role(roles))
            link = None if deep_linking else _link(context, body)
            db.session.commit()
            return LaunchResult(user=user, role=role, context=context, link=link)
        except IntegrityError:
            db.session.rollback()
            if attempt:
                raise
    raise AssertionError("unreachable")


def tie_link(actor: User, link: LtiResourceLink, assignment_id: int) -> LtiResourceLink:
    """Tie a resource link to a problem set of its course (the course's instructors only). 403 for anyone
    else, 422 naming `assignment` for a set of another course."""
    if actor.course_role(link.context.course_id) != "instructor":
        raise ServiceError(403, "forbidden", "only the course's instructors choose the problem set of a link")
    assignment = db.session.get(Assignment, assignment_id)
    if assignment is None or assignment.course_id != link.context.course_id:
        raise ServiceError(422, "validation_error", "choose a problem set of this course",
                           {"assignment": ["not a problem set of this course"]})
    link.assignment = assignment
    db.session.commit()
    return link


def link_context(actor: User, context: LtiContext, course_id: int) -> LtiContext:
    """Tie the LMS course to another Gradgate course the actor teaches (in place of the one its first launch
    made): its LMS members join that course with their roles, and its links whose problem set was of the old
    course wait for a new choice. 403 unless the actor is an instructor of both; 422 naming `course`."""
    if actor.course_role(context.course_id) != "instructor":
        raise ServiceError(403, "forbidden", "only the course's instructors link it to another course")
    target = db.session.get(Course, course_id)
    if target is None or actor.course_role(target.id) != "instructor":
        raise ServiceError(422, "validation_error", "choose a course you teach", {"course": ["not a course you teach"]})
    if target.id == context.course_id:
        return context
    members = db.session.execute(select(Membership.user_id, Membership.role).join(
        LtiUser, LtiUser.user_id == Membership.user_id).where(Membership.course_id == context.course_id,
                                                              LtiUser.issuer == context.registration.issuer)).all()
    present = set(db.session.scalars(select(Membership.user_id).where(Membership.course_id == target.id)))
    for user_id, role in members:
        if user_id not in present:
            db.session.add(Membership(user_id=user_id, course_id=target.id, role=role))
    for link in db.session.scalars(select(LtiResourceLink).where(LtiResourceLink.context_id == context.id)):
        if link.assignment is not None and link.assignment.course_id != target.id:
            link.assignment_id = None
    context.course_id = target.id
    db.session.commit()
    return context
