"""Deep linking: from the LMS's "add external tool content", an instructor picks a problem set and Gradgate
answers with an ltiResourceLink carrying a line item (label, scoreMaximum = the set's points, resourceId, tag),
so the LMS creates the gradebook column; the link's custom parameter names the set, so its first launch is
tied to it."""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt

from grader.errors import ServiceError
from grader.lti import keys
from grader.lti.ags import resource_id
from grader.lti.models import LtiContext
from grader.models import Assignment, User, db

SETTINGS = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"


def pending_request(body: dict[str, Any], context: LtiContext, registration_id: int) -> dict[str, Any]:
    """What the session keeps of a deep-linking request until the instructor has chosen (JSON)."""
    settings = body.get(SETTINGS) if isinstance(body.get(SETTINGS), dict) else {}
    if not settings.get("deep_link_return_url"):
        raise ServiceError(400, "missing_claim", "the deep-linking request has no deep_link_return_url",
                           {"deep_linking_settings": ["missing"]})
    return {"return_url": str(settings["deep_link_return_url"]), "data": settings.get("data"),
            "deployment_id": body.get(CLAIM + "deployment_id"), "context": context.id,
            "registration": registration_id}


def response_jwt(actor: User, pending: dict[str, Any], assignment_id: int, launch_url: str) -> str:
    """The signed LtiDeepLinkingResponse for this problem set of the context's course (instructors only)."""
    context = db.session.get(LtiContext, pending["context"])
    if context is None or actor.course_role(context.course_id) != "instructor":
        raise ServiceError(403, "forbidden", "only the course's instructors add Gradgate's problem sets")
    assignment = db.session.get(Assignment, assignment_id)
    if assignment is None or assignment.course_id != context.course_id:
        raise ServiceError(422, "validation_error", "choose a problem set of this course",
                           {"assignment": ["not a problem set of this course"]})
    title = assignment.title or f"Problem set {assignment.id}"
    item = {"type": "ltiResourceLink", "title": title, "url": launch_url,
            "custom": {"gradgate_problem_set": str(assignment.id)},
            "lineItem": {"label": title, "scoreMaximum": assignment.points, "resourceId": resource_id(assignment.id),
                         "tag": "gradgate"}}
    now = int(time.time())
    message = {"iss": context.registration.client_id, "aud": [context.registration.issuer], "iat": now,
               "exp": now + 600, "nonce": uuid.uuid4().hex,
               CLAIM + "deployment_id": pending["deployment_id"],
               CLAIM + "message_type": "LtiDeepLinkingResponse", CLAIM + "version": "1.3.0",
               DL + "content_items": [item]}
    if pending.get("data") is not None:
        message[DL + "data"] = pending["data"]
    signer = keys.signing_key()
    return jwt.encode(message, signer.private_pem, algorithm="RS256", headers={"kid": signer.kid})
