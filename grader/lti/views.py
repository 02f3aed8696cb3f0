"""The LTI 1.3 endpoints a platform calls (blueprint `lti`, prefix /lti; public, every request validated):

    GET|POST /lti/login        OIDC third-party login initiation: redirect to the platform's authorization
    POST     /lti/launch       the id_token: validated, the account, course, membership and link stored, then
                               the learner lands on the problem set, an instructor on its instructor page
    GET|POST /lti/deep-link    after a deep-linking request: the instructor picks a problem set, and the signed
                               answer goes back to the LMS (an ltiResourceLink with its line item)
    GET      /lti/register     LTI Dynamic Registration (a one-time URL: flask lti registration-url)
    GET      /lti/jwks         the tool's public keys
    GET      /lti/config.json  the JSON configuration Canvas takes ("Paste JSON" or "Enter URL")

A bad login or launch is a page (status 4xx) naming what is wrong and what to do, never a 500."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import Blueprint, current_app, jsonify, make_response, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user
from werkzeug.wrappers import Response

from grader.errors import ServiceError
from grader.extensions import csrf
from grader.headers import CONTENT_SECURITY_POLICY
from grader.lti import deep_linking, keys
from grader.lti.launches import record_launch
from grader.lti.models import LtiContext
from grader.lti.registrations import find_deployment, find_registration
from grader.lti.tool import LaunchRefused, login_redirect, validated_launch
from grader.models import db
from grader.service import course_assignments

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
    """Over HTTPS inside the LMS's frame, a browser may block third-party cookies (then the launch could not
    be tied to this login): a page checks first (lti-cookie-check.js) and goes on in the frame, or offers to
    open Gradgate in a new window, where the cookies are first-party. `lti1p3_new_window` or `cookies_checked`
    skip the check."""
    params = {**request.args.to_dict(), **request.form.to_dict()}
    if request.is_secure and not params.get("lti1p3_new_window") and not params.get("cookies_checked") \
            and current_app.config.get("LTI_COOKIE_CHECK", True):
        if not params.get("iss") or not params.get("login_hint"):
            raise LaunchRefused(400, "the login request is not valid: it has no iss or login_hint",
                                "the platform must send iss, login_hint and target_link_uri")
        base = url_for("lti.login", _external=True)
        return render_template("lti/cookie_check.html",
                               continue_url=base + "?" + urlencode({**params, "cookies_checked": "1"}),
                               window_url=base + "?" + urlencode({**params, "lti1p3_new_window": "1"})), 200
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
    if link is None:  # a deep-linking request: the instructor picks a problem set
        if result.role != "instructor":
            raise LaunchRefused(403, "only the course's instructors add Gradgate's problem sets",
                                "ask an instructor of the course to add the link")
        session["lti_deep_link"] = deep_linking.pending_request(body, result.context, registration.id)
        return redirect(url_for("lti.deep_link"), 303)
    if link.assignment_id is None:
        if result.role == "instructor":
            return redirect(url_for("instructor.lti_link", link_id=link.id), 303)
        return render_template("lti/not_ready.html", title=link.title or result.context.title), 200
    if result.role in ("instructor", "ta"):
        return redirect(url_for("instructor.overrides", assignment_id=link.assignment_id), 303)
    return redirect(url_for("student.exercise", assignment_id=link.assignment_id), 303)


def _pending_deep_link() -> dict[str, Any]:
    pending = session.get("lti_deep_link")
    if not current_user.is_authenticated or not pending:
        raise LaunchRefused(400, "there is no deep-linking request to answer in this browser session",
                            "start again from the LMS's \"add external tool content\"")
    return pending


@bp.get("/deep-link")
def deep_link() -> tuple[str, int]:
    """The instructor's choice of the problem set the LMS adds."""
    pending = _pending_deep_link()
    context = db.session.get(LtiContext, pending["context"])
    sets = [a for a in course_assignments(context.course) if not a.archived]
    return render_template("lti/deep_link.html", context=context, sets=sets), 200


@bp.post("/deep-link")
def answer_deep_link() -> Response:
    """The signed answer, posted back to the LMS by the browser (a form; a script submits it at once)."""
    pending = _pending_deep_link()
    chosen = request.form.get("assignment", "")
    token = deep_linking.response_jwt(current_user, pending, int(chosen) if chosen.isdigit() else -1,
                                      url_for("lti.launch", _external=True))
    session.pop("lti_deep_link", None)
    response = make_response(render_template("lti/deep_link_return.html", return_url=pending["return_url"],
                                             token=token))
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(pending["return_url"]))
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.replace(
        "form-action 'self'", f"form-action 'self' {origin}").format(
        frame_ancestors=current_app.config["FRAME_ANCESTORS"])
    return response


@bp.get("/register")
def dynamic_registration() -> tuple[str, int]:
    """LTI Dynamic Registration, opened by the LMS with a one-time URL from `flask lti registration-url`."""
    from pylti1p3.exception import LtiException

    from grader.lti import dynamic

    configuration = request.args.get("openid_configuration", "")
    if not configuration.startswith(("https://", "http://")):
        raise LaunchRefused(400, "the registration request has no openid_configuration URL",
                            "open this URL from the LMS's \"register a tool\" (dynamic registration) page")
    dynamic.use_key(request.args.get("key", ""))
    registration = dynamic.GradgateDynamicRegistration(configuration, request.args.get("registration_token"))
    try:
        registration.register()
    except (LtiException, AssertionError, ValueError, KeyError) as exc:
        raise LaunchRefused(400, f"the platform's registration failed: {exc}",
                            "make a new URL with flask --app wsgi lti registration-url and try again, or "
                            "register the platform by hand with flask --app wsgi lti register") from None
    return render_template("lti/registered.html", registration=registration.registration), 200


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
