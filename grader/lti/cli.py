"""`flask lti ...`: platform registrations and the tool's keys.

    flask --app wsgi lti register --issuer ISS --client-id ID --auth-login-url URL --auth-token-url URL \
        --keyset-url URL --deployment-id D [--deployment-id D2 ...]
    flask --app wsgi lti list
    flask --app wsgi lti remove --issuer ISS --client-id ID [--deployment-id D]
    flask --app wsgi lti rotate-key [--retire]
    flask --app wsgi lti send-scores                 send the score outbox's due rows now
    flask --app wsgi lti registration-url            a one-time URL for the LMS's dynamic registration
"""

from __future__ import annotations

import click
from flask.cli import AppGroup

from grader.errors import ServiceError
from grader.lti import keys, registrations

lti_cli = AppGroup("lti", help="LTI 1.3 platforms (registrations, deployments) and the tool's keys.")


def _fail(error: ServiceError) -> None:
    raise click.ClickException(error.message)


@lti_cli.command("register")
@click.option("--issuer", required=True, help="the platform's issuer (iss), e.g. https://canvas.instructure.com")
@click.option("--client-id", required=True, help="the client id the platform gave Gradgate")
@click.option("--auth-login-url", required=True, help="the platform's OIDC authorization endpoint")
@click.option("--auth-token-url", required=True, help="the platform's OAuth2 access token endpoint")
@click.option("--keyset-url", required=True, help="the platform's public key set (JWKS) URL")
@click.option("--deployment-id", "deployment_ids", multiple=True, required=True,
              help="a deployment id (repeat for several)")
@click.option("--auth-audience", default=None, help="the token assertion's audience, where not the token URL")
def register_command(issuer: str, client_id: str, auth_login_url: str, auth_token_url: str, keyset_url: str,
                     deployment_ids: tuple[str, ...], auth_audience: str | None) -> None:
    """Register a platform (or add deployments to a registered one)."""
    try:
        registration, created = registrations.register_platform(
            issuer=issuer, client_id=client_id, auth_login_url=auth_login_url, auth_token_url=auth_token_url,
            keyset_url=keyset_url, deployment_ids=list(deployment_ids), auth_audience=auth_audience)
    except ServiceError as error:
        _fail(error)
        return
    deployments = ", ".join(d.deployment_id for d in registration.deployments)
    click.echo(f"{'registered' if created else 'updated'} {registration.issuer} client {registration.client_id} "
               f"(deployments: {deployments})")


@lti_cli.command("list")
def list_command() -> None:
    """The registered platforms, one line each."""
    rows = registrations.registrations()
    if not rows:
        click.echo("no platform is registered")
    for row in rows:
        click.echo(f"{row.id}\t{row.issuer}\tclient {row.client_id}\tdeployments "
                   f"{','.join(d.deployment_id for d in row.deployments)}\tlogin {row.auth_login_url}\t"
                   f"token {row.auth_token_url}\tkeys {row.keyset_url}")


@lti_cli.command("remove")
@click.option("--issuer", required=True)
@click.option("--client-id", required=True)
@click.option("--deployment-id", default=None, help="remove this deployment only")
def remove_command(issuer: str, client_id: str, deployment_id: str | None) -> None:
    """Remove a registration (or one of its deployments)."""
    try:
        click.echo(registrations.remove_registration(issuer, client_id, deployment_id))
    except ServiceError as error:
        _fail(error)


@lti_cli.command("rotate-key")
@click.option("--retire", is_flag=True, help="remove the keys older than the one signing")
def rotate_command(retire: bool) -> None:
    """Add a tool key (published at once, signing after LTI_KEY_PUBLISH_BEFORE_SIGN_S)."""
    click.echo(keys.rotate(retire=retire))


@lti_cli.command("send-scores")
def send_scores_command() -> None:
    """Send the scores waiting in the outbox (what the periodic task does)."""
    from grader.lti.outbox import send_pending

    counts = send_pending()
    click.echo(", ".join(f"{count} {outcome}" for outcome, count in counts.items()))


@lti_cli.command("registration-url")
def registration_url_command() -> None:
    """A one-time URL (valid a day) for an LMS's dynamic registration (run with SERVER_NAME set, or the URL
    names localhost)."""
    from grader.lti.dynamic import registration_url

    click.echo(registration_url())
