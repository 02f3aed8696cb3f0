"""The LTI 1.3 endpoints a platform calls (blueprint `lti`, prefix /lti; public, every request validated):

    GET|POST /lti/login        OIDC third-party login initiation: redirect to the platform's authorization
    POST     /lti/launch       the id_token: validated, the account, course, membership and link stored, then
                               the learner lands on the problem set, an instructor on its instructor page
    GET      /lti/jwks         the tool's public keys
    GET      /lti/config.json  the JSON configuration Canvas takes ("Paste JSON" or "Enter URL")

A bad login or launch is a page (status 4xx) naming what is wrong and what to do, never a 500."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, session, url_for
from flask_login import login_user
from werkzeug.wrappers import Response

from grader.errors import ServiceError
from grader.extensions import csrf
from grader.lti import keys
from grader.lti.launches import record_launch
from grader.lti.registrations import find_deployment, find_registration
from grader.lti.tool import LaunchRefused, login_redirect, validated_launch

bp = Blueprint("lti", __name__, url_prefix="/lti")
SCOPES = ("https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
          "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
          "https://purl.imsglobal.org/spec/lti-ags/scope/score",
          "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly")


@bp.errorhandler(LaunchRefused)
def refused(error: LaunchRefused) -> tuple[str, int]:
    return render_template("lti/refused.html", problem=error.problem, remedy=error.remedy), error.status


@bp.errorhandler(ServiceError)
def service_refused(error: ServiceError) -> tuple[str, int]:
    return render_template("lti/refused.html", problem=error.message,
                           remedy="the platform must send a complete LTI 1.3 launch"), error.status


@bp.route("/login", methods=["GET", "POST"])
@csrf.exempt  # the platform posts it: validated by the registration and, at launch, the state and nonce
def login() -> Any:
    return login_redirect(url_for("lti.launch", _external=True))


@bp.get("/launch")
def launch_by_get() -> tuple[str, int]:
    raise LaunchRefused(405, "a launch must be a POST of the id_token (form_post), not a GET",
                        "start from the link in the LMS; a platform must post its launches to /lti/launch")


@bp.post("/launch")
@csrf.exempt
def launch() -> Any:
    message = validated_launch()
    body = message.get_launch_data()
    registration = find_registration(body.get("iss"), message.get_client_id())
    deployment_id = body.get("https://purl.imsglobal.org/spec/lti/claim/deployment_id")
    if registration is None or find_deployment(registration, deployment_id) is None:  # removed meanwhile
        raise LaunchRefused(403, "the platform or deployment is no longer registered", "an administrator must "
                            "register it again: flask --app wsgi lti register ...")
    result = record_launch(registration, deployment_id, body)
    login_user(result.user)
    session["lti_launch"] = message.get_launch_id()
    link = result.link
    if link is None:  # deep linking: not offered yet
        raise LaunchRefused(400, "Gradgate cannot answer deep-linking requests yet",
                            "add Gradgate's links as plain external tool links and choose the problem set "
                            "on the first launch")
    if link.assignment_id is None:
        if result.role == "instructor":
            return redirect(url_for("instructor.lti_link", link_id=link.id), 303)
        return render_template("lti/not_ready.html", title=link.title or result.context.title), 200
    if result.role in ("instructor", "ta"):
        return redirect(url_for("instructor.overrides", assignment_id=link.assignment_id), 303)
    return redirect(url_for("student.exercise", assignment_id=link.assignment_id), 303)


@bp.get("/jwks")
def jwks() -> Response:
    response = jsonify(keys.jwks())
    response.headers["Cache-Control"] = "public, max-age=300"  # a new key is seen within minutes
    return response


@bp.get("/config.json")
def canvas_config() -> Response:
    """Canvas's developer key JSON: the tool's URLs, its key set, the scopes and placements."""
    launch_url = url_for("lti.launch", _external=True)
    host = request.host.split(":")[0]
    return jsonify({
        "title": current_app.config.get("LTI_TOOL_TITLE", "Gradgate"),
        "description": "Auto-graded exercises on backpropagation",
        "oidc_initiation_url": url_for("lti.login", _external=True),
        "target_link_uri": launch_url,
        "public_jwk_url": url_for("lti.jwks", _external=True),
        "scopes": list(SCOPES),
        "extensions": [{
            "domain": host, "tool_id": "gradgate", "platform": "canvas.instructure.com", "privacy_level": "public",
            "settings": {"text": "Gradgate", "placements": [
                {"placement": "link_selection", "message_type": "LtiDeepLinkingRequest", "target_link_uri": launch_url},
                {"placement": "assignment_selection", "message_type": "LtiDeepLinkingRequest",
                 "target_link_uri": launch_url},
                {"placement": "course_navigation", "message_type": "LtiResourceLinkRequest",
                 "target_link_uri": launch_url},
            ]},
        }],
        "custom_fields": {},
    })
