"""The tool's keys (created on first use in the instance folder, mode 0600; a rotated key published before it
signs), /lti/jwks, /lti/config.json, and the LTI blueprint's routes (public, each validated by its tests)."""

from __future__ import annotations

import stat

import jwt
import pytest
from jwt.algorithms import RSAAlgorithm

from grader.lti import keys


@pytest.fixture
def tool(app, tmp_path):
    app.instance_path = str(tmp_path)  # this test's keys only
    app.config["LTI_KEY_PUBLISH_BEFORE_SIGN_S"] = 3600
    return app


def test_the_key_is_made_on_first_use_private_and_published(tool, client, tmp_path):
    assert not (tmp_path / keys.KEY_DIR).exists()
    published = client.get("/lti/jwks")
    assert published.status_code == 200
    [jwk] = published.get_json()["keys"]
    [path] = (tmp_path / keys.KEY_DIR).glob("*.pem")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / keys.KEY_DIR).stat().st_mode) == 0o700
    assert "d" not in jwk and jwk["alg"] == "RS256" and jwk["use"] == "sig"  # the public half only
    signer = keys.signing_key()
    token = jwt.encode({"hello": "platform"}, signer.private_pem, algorithm="RS256", headers={"kid": signer.kid})
    assert jwk["kid"] == signer.kid
    assert jwt.decode(token, RSAAlgorithm.from_jwk(jwk), algorithms=["RS256"]) == {"hello": "platform"}
    assert client.get("/lti/jwks").get_json() == published.get_json()  # the same key every time


def test_a_rotated_key_is_published_before_it_signs(tool, client):
    first = keys.signing_key()
    keys.rotate()
    kids = [k["kid"] for k in client.get("/lti/jwks").get_json()["keys"]]
    assert len(kids) == 2 and first.kid in kids
    new = next(kid for kid in kids if kid != first.kid)
    assert keys.signing_key().kid == first.kid  # published now, not signing yet
    later = keys.tool_keys()[-1].created + 3601
    assert keys.signing_key(now=later).kid == new
    tool.config["LTI_KEY_PUBLISH_BEFORE_SIGN_S"] = 0
    assert "retired 1" in keys.rotate(retire=True)
    assert [k["kid"] for k in client.get("/lti/jwks").get_json()["keys"]] == [new]


def test_the_canvas_configuration_names_the_tools_urls(tool, client):
    config = client.get("/lti/config.json").get_json()
    assert config["oidc_initiation_url"] == "http://localhost/lti/login"
    assert config["target_link_uri"] == "http://localhost/lti/launch"
    assert config["public_jwk_url"] == "http://localhost/lti/jwks"
    assert "https://purl.imsglobal.org/spec/lti-ags/scope/score" in config["scopes"]
    assert {p["placement"] for p in config["extensions"][0]["settings"]["placements"]} >= {"link_selection"}


def test_a_deep_link_page_without_a_deep_linking_request_is_refused(client):
    for answer in (client.get("/lti/deep-link"), client.post("/lti/deep-link", data={"assignment": "1"})):
        assert answer.status_code == 400 and "no deep-linking request" in answer.text


def test_the_lti_blueprint_has_only_its_public_endpoints(app):
    rules = {(method, rule.rule) for rule in app.url_map.iter_rules() if rule.endpoint.startswith("lti.")
             for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert rules == {("GET", "/lti/login"), ("POST", "/lti/login"), ("GET", "/lti/launch"), ("POST", "/lti/launch"),
                     ("GET", "/lti/jwks"), ("GET", "/lti/config.json"),
                     # the instructor's answer to a deep-linking request: their session's request only
                     ("GET", "/lti/deep-link"), ("POST", "/lti/deep-link"),
                     ("GET", "/lti/register")}  # dynamic registration: a one-time key (test_dynamic_registration)
