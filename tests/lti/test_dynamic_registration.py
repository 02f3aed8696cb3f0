"""LTI Dynamic Registration with a platform: a one-time URL from `flask lti registration-url`, opened by the
platform with its OpenID configuration and registration token, registers it (with the deployment it answers),
after which it launches; the URL cannot be used twice, nor without its key."""

from __future__ import annotations

import requests
from sqlalchemy import select

from grader.lti.models import LtiRegistration
from grader.models import db
from tests.lti.conftest import Pair
from tests.lti.platform import LaunchSpec, Platform


def test_a_platform_registers_itself_with_a_one_time_url_then_launches(pair):
    platform = Platform(client_id="dynamic-client", deployment_id="dyn-deployment").start()
    platform.tool_url = pair.url
    try:
        with pair.app.test_request_context(base_url=pair.url):
            url = pair.app.test_cli_runner().invoke(args=["lti", "registration-url"]).output.strip()
        assert url.startswith(pair.url + "/lti/register?key=")
        params = {"openid_configuration": platform.url + "/.well-known/openid-configuration",
                  "registration_token": platform.registration_token}
        done = requests.get(url, params=params, timeout=10)
        assert done.status_code == 200 and "Gradgate is registered" in done.text, done.text[-1500:]
        [sent] = platform.tool_registrations
        tool = sent["https://purl.imsglobal.org/spec/lti-tool-configuration"]
        assert sent["initiate_login_uri"] == pair.url + "/lti/login"
        assert sent["jwks_uri"] == pair.url + "/lti/jwks" and sent["redirect_uris"] == [pair.url + "/lti/launch"]
        assert "https://purl.imsglobal.org/spec/lti-ags/scope/score" in sent["scope"].split()
        assert tool["target_link_uri"] == pair.url + "/lti/launch"
        with pair.app.app_context():
            registration = db.session.scalar(select(LtiRegistration).where(LtiRegistration.issuer == platform.url))
            assert registration.client_id == "dynamic-client"
            assert [d.deployment_id for d in registration.deployments] == ["dyn-deployment"]
            assert registration.auth_token_url == platform.url + "/token"
        answer, _, _ = Pair(pair.app, pair.url, platform).launch(LaunchSpec(sub="dyn-1", context_id="c-dyn"))
        assert answer.status_code in (200, 303), answer.text[:800]
        again = requests.get(url, params=params, timeout=10)
        assert again.status_code == 403 and "used already" in again.text
        keyless = requests.get(pair.url + "/lti/register", params=params, timeout=10)
        assert keyless.status_code == 403
    finally:
        platform.stop()
