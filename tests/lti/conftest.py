"""Gradgate and a real LTI platform (tests/lti/platform.py, lti1p3platform), each a threaded werkzeug server
on its own random port of 127.0.0.1, driven with `requests` as a browser would be. One pair per module and
database backend (SQLite file, and PostgreSQL where TEST_DATABASE_URL is set)."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from werkzeug.serving import make_server

from grader import create_app
from grader.lti.registrations import register_platform
from grader.models import db
from tests.conftest import empty_database
from tests.jobs.conftest import deployment, jobs_app, workers  # noqa: F401  (real Celery workers)
from tests.lti.platform import LaunchSpec, Platform, auto_submit_form


@dataclass
class Pair:
    app: Any
    url: str
    platform: Platform

    def launch(self, spec: LaunchSpec, session: requests.Session | None = None,
               tamper: Any = None) -> tuple[requests.Response, dict[str, str], requests.Session]:
        """Login initiation → the platform's authorization → the auto-submitted form posted to Gradgate (not
        followed). `tamper(fields)` may change the form before it is posted. Returns Gradgate's answer, the
        form and the session (its cookies)."""
        session = session or requests.Session()
        hint = uuid.uuid4().hex
        started = session.get(self.platform.login_url(spec, hint), allow_redirects=False, timeout=10)
        assert started.status_code == 302, started.text[:500]
        form_page = session.get(started.headers["Location"], timeout=10)
        assert form_page.status_code == 200, form_page.text[:500]
        action, fields = auto_submit_form(form_page.text)
        if tamper is not None:
            tamper(fields)
        answer = session.post(action, data=fields, allow_redirects=False, timeout=10)
        return answer, fields, session


def serve(app: Any) -> tuple[Any, threading.Thread, str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread, f"http://127.0.0.1:{server.server_port}"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def pair(request, database_urls, tmp_path_factory) -> Iterator[Pair]:
    if database_urls[request.param] is None:
        pytest.skip("PostgreSQL: set TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test")
    folder = tmp_path_factory.mktemp("lti")
    url = f"sqlite:///{folder / 'gradgate.db'}" if request.param == "sqlite" else database_urls["postgresql"]
    previous = os.environ.get("GRADGATE_INSTANCE")
    os.environ["GRADGATE_INSTANCE"] = str(folder / "instance")  # the tool's keys: this run's own
    try:
        app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url, "SERVER_NAME": None,
                                     "LTI_HTTP_TIMEOUT_S": 1.0, "LTI_RETRY_BASE_S": 0.0})
    finally:
        if previous is None:
            os.environ.pop("GRADGATE_INSTANCE", None)
        else:
            os.environ["GRADGATE_INSTANCE"] = previous
    platform = Platform().start()
    with app.app_context():
        empty_database(url)
    server, thread, base = serve(app)
    platform.tool_url = base
    with app.app_context():
        register_platform(issuer=platform.url, client_id=platform.client_id,
                          auth_login_url=platform.url + "/authorize", auth_token_url=platform.url + "/token",
                          keyset_url=platform.url + "/jwks", deployment_ids=[platform.deployment_id])
    try:
        yield Pair(app, base, platform)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        platform.stop()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()  # the tables stay (emptied by the next user of this database)
