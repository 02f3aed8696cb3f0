"""Roster sync (Names and Role Provisioning Services): the platform's members of a course, also those who never
launched Gradgate, become accounts and members with their LMS roles, so they appear in the course and its
gradebook. Run by the instructors' "sync roster" button and the periodic `gradgate.lti_sync_rosters` task."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select

from grader.lti import ags
from grader.lti.launches import _account, _membership, course_role
from grader.lti.models import LtiContext, LtiUser
from grader.models import Membership, db

SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
MEMBERSHIPS_TYPE = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
MAX_PAGES = 200
log = logging.getLogger(__name__)


def _next_page(response: Any) -> str | None:
    return response.links.get("next", {}).get("url")


def sync_roster(context: LtiContext) -> dict[str, int]:
    """Fetch every page of the context's members and store them (one commit); counts of accounts created and
    members added, updated or left as they were. PlatformError when the platform offers no roster service or
    refuses."""
    if not context.memberships_url:
        raise ags.PlatformError("the platform offered no roster service (names and roles) in its launches",
                                retry=False)
    registration = context.registration
    counts = {"created": 0, "added": 0, "updated": 0, "unchanged": 0}
    url: str | None = context.memberships_url
    for _ in range(MAX_PAGES):
        if url is None:
            break
        response = ags._authorized(registration, "GET", url, (SCOPE,), headers={"Accept": MEMBERSHIPS_TYPE})
        if response.status_code != 200:
            raise ags.PlatformError(f"the roster: {response.status_code} {response.text[:300]}", retry=False)
        for member in response.json().get("members", []):
            if not isinstance(member, dict) or not member.get("user_id"):
                continue
            if member.get("status", "Active") != "Active":
                continue
            _store_member(context, member, counts)
        url = _next_page(response)
    db.session.commit()
    return counts


def _store_member(context: LtiContext, member: dict[str, Any], counts: dict[str, int]) -> None:
    issuer, sub = context.registration.issuer, str(member["user_id"])
    known = db.session.scalar(select(LtiUser).where(LtiUser.issuer == issuer, LtiUser.sub == sub))
    user = _account(issuer, {"sub": sub, "name": member.get("name"), "given_name": member.get("given_name"),
                             "family_name": member.get("family_name"), "email": member.get("email")})
    db.session.flush()
    role = course_role([str(r) for r in member.get("roles", [])])
    before = db.session.scalar(select(Membership.role).where(Membership.user_id == user.id,
                                                             Membership.course_id == context.course_id))
    _membership(user, context.course, role)
    counts["created" if known is None else "unchanged" if before == role else
           "added" if before is None else "updated"] += 1


def sync_all(limit: int = 100) -> dict[str, int]:
    """The periodic task: every context with a roster service (failures are logged and left for the next run)."""
    done = failed = 0
    contexts = list(db.session.scalars(select(LtiContext).where(LtiContext.memberships_url.is_not(None))
                                       .order_by(LtiContext.id).limit(limit)))
    for context in contexts:
        try:
            sync_roster(context)
            done += 1
        except ags.PlatformError as exc:
            db.session.rollback()
            log.warning("roster of context %s not synced: %s", context.id, exc)
            failed += 1
    return {"synced": done, "failed": failed}
