"""A real LTI 1.3 platform for the tests: lti1p3platform (id_token signing, its key set, the token endpoint's
client-credentials grant with the tool's signed assertion) in a small Flask app of the tests' own, with the
assignment-and-grade service's line items and scores kept in memory.

lti1p3platform is lenient: it does not check the tool's aud, the score's content type or fields, or replays.
This stub checks them (a score a strict LMS would refuse is refused here too, 400 with the reason, and kept in
`refused`), and can be told to fail: `faults` is a list of what the next score posts get ("500", "401",
"timeout")."""

from __future__ import annotations

import html
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask, abort, jsonify, request
from lti1p3platform.ltiplatform import LTI1P3PlatformConfAbstract
from lti1p3platform.message_launch import LTIAdvantageMessageLaunchAbstract
from lti1p3platform.registration import Registration
from lti1p3platform.request import Request
from werkzeug.serving import make_server

SCORE_TYPE = "application/vnd.ims.lis.v1.score+json"
LINEITEM_TYPE = "application/vnd.ims.lis.v2.lineitem+json"
SCORE_FIELDS = ("userId", "scoreGiven", "scoreMaximum", "activityProgress", "gradingProgress", "timestamp")
LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
TA = "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant"


def private_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def public_pem(private: str) -> str:
    key = serialization.load_pem_private_key(private.encode(), password=None)
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@dataclass
class LaunchSpec:
    """What the platform's next launch says: who, in which course and link, with which roles; `claims`
    replaces claims, `drop` removes them, `expires_in` sets the id_token's lifetime (negative: expired)."""

    sub: str = "student-1"
    name: str = "Ada Lovelace"
    email: str = "ada@example.edu"
    roles: list[str] = field(default_factory=lambda: [LEARNER])
    context_id: str = "course-1"
    context_title: str = "Backprop 101"
    resource_link_id: str = "link-1"
    deployment_id: str | None = None  # None: the platform's
    claims: dict[str, Any] = field(default_factory=dict)
    drop: list[str] = field(default_factory=list)
    expires_in: int = 300
    deep_link: bool = False  # an LtiDeepLinkingRequest ("add external tool content")
    custom: dict[str, str] = field(default_factory=dict)


class _FlaskRequest(Request):
    def build_metadata(self, flask_request: Any) -> dict[str, Any]:
        return {"method": flask_request.method, "form_data": flask_request.form.to_dict(),
                "get_data": flask_request.args.to_dict(), "headers": dict(flask_request.headers),
                "content_type": flask_request.content_type, "path": flask_request.path, "json": None}


class Platform:
    """The platform app, its registration of Gradgate and what it received. `start()` serves it on a random
    port of 127.0.0.1; set `tool_url` (Gradgate's base URL) before a launch."""

    def __init__(self, client_id: str = "gradgate-client", deployment_id: str = "deployment-1") -> None:
        self.client_id, self.deployment_id = client_id, deployment_id
        self.key = private_pem()
        self.tool_url = ""
        self.url = ""
        self.launches: dict[str, LaunchSpec] = {}
        self.lineitems: dict[str, dict[str, Any]] = {}  # id -> line item
        self.scores: dict[str, list[dict[str, Any]]] = {}  # line item id -> scores received, in order
        self.refused: list[str] = []
        self.faults: list[str] = []
        self.members: dict[str, list[dict[str, Any]]] = {}  # context -> its roster (NRPS members)
        self.roster_accepts: list[str] = []
        self.deep_links: list[dict[str, Any]] = []  # content items received, as lti1p3platform validated them
        self.deep_link_jwts: list[str] = []
        self.tool_registrations: list[dict[str, Any]] = []  # what dynamic registration posted
        self.registration_token = "platform-registration-token"
        self.token_requests = 0
        self.issued_tokens: set[str] = set()
        self.revoked_tokens: set[str] = set()
        self.lock = threading.Lock()
        self.app = self._build()

    # --- the platform's configuration, as lti1p3platform wants it ----------------------------------------
    def registration(self, deployment_id: str | None = None) -> Registration:
        return (Registration().set_iss(self.url).set_client_id(self.client_id)
                .set_deployment_id(deployment_id or self.deployment_id)
                .set_launch_url(self.tool_url + "/lti/launch").set_oidc_login_url(self.tool_url + "/lti/login")
                .set_tool_key_set_url(self.tool_url + "/lti/jwks")
                .set_deeplink_launch_url(self.tool_url + "/lti/launch")
                .set_platform_public_key(public_pem(self.key)).set_platform_private_key(self.key))

    def config(self, deployment_id: str | None = None) -> LTI1P3PlatformConfAbstract:
        platform = self

        class Conf(LTI1P3PlatformConfAbstract):
            def init_platform_config(self, **kwargs: Any) -> None:
                pass

            def get_registration_by_params(self, **kwargs: Any) -> Registration:
                return platform.registration(deployment_id)

        return Conf()

    # --- driving a launch (what a browser does) -----------------------------------------------------------
    def login_url(self, spec: LaunchSpec, hint: str) -> str:
        """The third-party login initiation the platform sends the browser to (GET)."""
        self.launches[hint] = spec
        params = {"iss": self.url, "login_hint": spec.sub, "target_link_uri": self.tool_url + "/lti/launch",
                  "lti_message_hint": hint, "client_id": self.client_id,
                  "lti_deployment_id": spec.deployment_id or self.deployment_id}
        return self.tool_url + "/lti/login?" + "&".join(f"{k}={requests.utils.quote(v, safe='')}"
                                                         for k, v in params.items())

    # --- the app ------------------------------------------------------------------------------------------
    def _build(self) -> Flask:
        app = Flask("lti-test-platform")
        platform = self

        class Launch(LTIAdvantageMessageLaunchAbstract):
            spec: LaunchSpec

            def get_preflight_response(self) -> dict[str, Any]:
                return request.args.to_dict()

            def get_launch_message(self, include_extra_claims: bool = True) -> dict[str, Any]:
                message = super().get_launch_message(include_extra_claims)
                message.update(self.spec.claims)
                for name in self.spec.drop:
                    message.pop(name, None)
                return message

            def render_launch_form(self, launch_data: dict[str, Any], **kwargs: Any) -> str:
                # lti1p3platform's own template module imports pkg_resources: the same form, rendered here
                fields = "".join(f'<input type="hidden" name="{n}" value="{html.escape(launch_data[n])}">'
                                 for n in ("id_token", "state"))
                return f'<form method="POST" action="{html.escape(launch_data["launch_url"])}">{fields}</form>'

        @app.get("/.well-known/openid-configuration")
        def openid_configuration():
            return jsonify({"issuer": platform.url, "authorization_endpoint": platform.url + "/authorize",
                            "token_endpoint": platform.url + "/token", "jwks_uri": platform.url + "/jwks",
                            "registration_endpoint": platform.url + "/register",
                            "https://purl.imsglobal.org/spec/lti-platform-configuration": {
                                "product_family_code": "lti1p3platform-test", "version": "0.1.8"}})

        @app.post("/register")
        def register_tool():
            if request.headers.get("Authorization") != "Bearer " + platform.registration_token:
                abort(401)
            body = request.get_json(force=True)
            platform.tool_registrations.append(body)
            spec = "https://purl.imsglobal.org/spec/lti-tool-configuration"
            return jsonify({**body, "client_id": platform.client_id,
                            spec: {**body[spec], "deployment_id": "dyn-deployment"}})

        @app.get("/jwks")
        def jwks():
            return jsonify({"keys": platform.registration().get_jwks()})

        @app.get("/authorize")
        def authorize():
            spec = platform.launches.get(request.args.get("lti_message_hint", ""))
            if spec is None:
                abort(400)
            launch = Launch(_FlaskRequest(request), platform.config(spec.deployment_id))
            launch.spec = spec
            launch.set_user_data(spec.sub, spec.roles, spec.name, spec.email)
            launch.set_launch_context_claim(spec.context_id, context_title=spec.context_title)
            launch.set_resource_link_claim(spec.resource_link_id, title=f"Link {spec.resource_link_id}")
            launch.set_ags(lineitems_url=f"{platform.url}/{spec.context_id}/lineitems", lineitem_url=None)
            launch.set_nrps(f"{platform.url}/{spec.context_id}/memberships")
            launch.set_id_token_expiration(spec.expires_in)
            if spec.custom:
                launch.set_custom_parameters_claim(spec.custom)
            if spec.deep_link:
                launch.set_dl(f"{platform.url}/{spec.context_id}/deep-link-return", title="Add Gradgate",
                              accept_types={"ltiResourceLink"}, extra_data={"data": "opaque-platform-data"})
            return launch.lti_launch()

        @app.post("/<context>/deep-link-return")
        def deep_link_return(context: str):
            conf = platform.config()
            conf.get_registration()
            try:
                items = conf.validate_deeplinking_resp(request.form.to_dict())
            except Exception as exc:
                platform.refused.append(f"deep link: {exc}")
                return jsonify(error=str(exc)), 400
            with platform.lock:
                platform.deep_link_jwts.append(request.form["JWT"])
                for item in items:  # as an LMS does: the gradebook column of the new link
                    platform.deep_links.append(item)
                    if item.get("lineItem"):
                        item_id = f"{platform.url}/{context}/lineitems/{len(platform.lineitems) + 1}"
                        platform.lineitems[item_id] = {**item["lineItem"], "id": item_id, "context": context}
            return "added", 200

        @app.post("/token")
        def token():
            conf = platform.config()
            conf.get_registration()
            try:
                answer = conf.get_access_token(request.form.to_dict())
            except Exception as exc:  # lti1p3platform's refusals: a 400 as an OAuth2 server gives
                return jsonify(error="invalid_request", error_description=str(exc)), 400
            with platform.lock:
                platform.token_requests += 1
                platform.issued_tokens.add(answer["access_token"])
            return jsonify(answer)

        def bearer() -> None:
            token = request.headers.get("Authorization", "").removeprefix("Bearer ")
            if token not in platform.issued_tokens or token in platform.revoked_tokens:
                abort(401)

        @app.get("/<context>/memberships")
        def memberships(context: str):
            """Two members a page, the next page in a Link header (as Canvas and Moodle page theirs)."""
            bearer()
            platform.roster_accepts.append(request.headers.get("Accept", ""))
            page = int(request.args.get("page", "0"))
            members = platform.members.get(context, [])
            answer = jsonify({"id": request.url, "context": {"id": context},
                              "members": members[page * 2:page * 2 + 2]})
            answer.mimetype = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
            if page * 2 + 2 < len(members):
                answer.headers["Link"] = f'<{platform.url}/{context}/memberships?page={page + 1}>; rel="next"'
            return answer

        @app.get("/<context>/lineitems")
        def list_lineitems(context: str):
            bearer()
            items = [i for i in platform.lineitems.values() if i["context"] == context]
            wanted = request.args.get("resource_id")
            if wanted:
                items = [i for i in items if i.get("resourceId") == wanted]
            return jsonify([{k: v for k, v in i.items() if k != "context"} for i in items])

        @app.post("/<context>/lineitems")
        def create_lineitem(context: str):
            bearer()
            body = request.get_json(force=True)
            if request.mimetype != LINEITEM_TYPE or not body.get("label") or not body.get("scoreMaximum"):
                platform.refused.append(f"line item: {request.mimetype} {body}")
                return jsonify(error="bad line item"), 400
            with platform.lock:
                item_id = f"{platform.url}/{context}/lineitems/{len(platform.lineitems) + 1}"
                item = {**body, "id": item_id, "context": context}
                platform.lineitems[item_id] = item
            return jsonify({k: v for k, v in item.items() if k != "context"}), 201

        @app.post("/<context>/lineitems/<int:number>/scores")
        def score(context: str, number: int):
            with platform.lock:
                fault = platform.faults.pop(0) if platform.faults else None
            if fault == "500":
                return "platform trouble", 500
            if fault == "401":
                token = request.headers.get("Authorization", "").removeprefix("Bearer ")
                platform.revoked_tokens.add(token)
            if fault == "timeout":
                time.sleep(float(app.config.get("TIMEOUT_SLEEP_S", 3)))
                return "too late", 504
            bearer()
            item_id = f"{platform.url}/{context}/lineitems/{number}"
            if item_id not in platform.lineitems:
                abort(404)
            body = request.get_json(force=True, silent=True) or {}
            missing = [name for name in SCORE_FIELDS if name not in body]
            if request.mimetype != SCORE_TYPE or missing:
                platform.refused.append(f"score: content type {request.mimetype}, missing {missing}")
                return jsonify(error=f"missing {missing}"), 400
            with platform.lock:
                platform.scores.setdefault(item_id, []).append(body)
            return "", 204

        return app

    def start(self) -> Platform:
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)


FORM_FIELD = re.compile(r'name="(id_token|state)" value="([^"]*)"')
FORM_ACTION = re.compile(r'<form method="POST" action="([^"]*)"')


def auto_submit_form(page: str) -> tuple[str, dict[str, str]]:
    """The launch form's action and fields (a browser would submit it by itself)."""
    action = FORM_ACTION.search(page)
    assert action, page[:500]
    return html.unescape(action.group(1)), {name: html.unescape(value) for name, value in FORM_FIELD.findall(page)}


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
