"""`flask lti register / list / remove`: several platforms, several deployments each, the service's refusals
as one-line errors naming the field."""

from __future__ import annotations

from grader.lti.registrations import registrations

ISS = "https://canvas.example.edu"
ARGS = ["lti", "register", "--issuer", ISS, "--client-id", "10000000000001",
        "--auth-login-url", "https://sso.canvaslms.com/api/lti/authorize_redirect",
        "--auth-token-url", "https://sso.canvaslms.com/login/oauth2/token",
        "--keyset-url", "https://sso.canvaslms.com/api/lti/security/jwks"]


def test_register_list_and_remove_platforms_and_deployments(app):
    cli = app.test_cli_runner()
    done = cli.invoke(args=[*ARGS, "--deployment-id", "1:abc", "--deployment-id", "2:def"])
    assert done.exit_code == 0 and "registered" in done.output and "1:abc, 2:def" in done.output
    again = cli.invoke(args=[*ARGS, "--deployment-id", "3:ghi"])  # the same client: a deployment added
    assert again.exit_code == 0 and "updated" in again.output
    other = cli.invoke(args=["lti", "register", "--issuer", "https://moodle.example.edu", "--client-id", "m1",
                             "--auth-login-url", "https://moodle.example.edu/mod/lti/auth.php",
                             "--auth-token-url", "https://moodle.example.edu/mod/lti/token.php",
                             "--keyset-url", "https://moodle.example.edu/mod/lti/certs.php", "--deployment-id", "7"])
    assert other.exit_code == 0
    listed = cli.invoke(args=["lti", "list"]).output.splitlines()
    assert len(listed) == 2 and "deployments 1:abc,2:def,3:ghi" in listed[0] and "moodle" in listed[1]
    removed = cli.invoke(args=["lti", "remove", "--issuer", ISS, "--client-id", "10000000000001",
                               "--deployment-id", "2:def"])
    assert removed.exit_code == 0 and "removed deployment 2:def" in removed.output
    assert [d.deployment_id for d in registrations()[0].deployments] == ["1:abc", "3:ghi"]
    gone = cli.invoke(args=["lti", "remove", "--issuer", "https://moodle.example.edu", "--client-id", "m1"])
    assert gone.exit_code == 0 and [r.issuer for r in registrations()] == [ISS]


def test_bad_registrations_are_refused_naming_the_field(app):
    cli = app.test_cli_runner()
    bad_url = [*ARGS[:6], "--auth-login-url", "ftp://x", *ARGS[8:], "--deployment-id", "1"]
    refused = cli.invoke(args=bad_url)
    assert refused.exit_code == 1 and "auth login url must be an https://" in refused.output
    blank = cli.invoke(args=[*ARGS, "--deployment-id", " "])
    assert blank.exit_code == 1 and "deployment id" in blank.output
    missing = cli.invoke(args=["lti", "remove", "--issuer", "https://nowhere", "--client-id", "x"])
    assert missing.exit_code == 1 and "no registration of issuer 'https://nowhere'" in missing.output
    assert registrations() == []
