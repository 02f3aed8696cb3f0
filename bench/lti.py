"""Benchmark of grade passback: scores sent per second by the LTI outbox (grader.lti.outbox.send_pending: claim,
the student's score from the gradebook, the change check, the POST, the commit) against a plain loop of the
same HTTP posts (one token, one connection pool) to the same platform stub, in the same run.

    .venv/bin/python -m bench.lti [N]

The platform is the tests' (tests/lti/platform.py: lti1p3platform behind a threaded werkzeug server on
127.0.0.1); Gradgate's database a SQLite file in a temporary folder. Target: the outbox at least 0.8 of the
plain loop's rate."""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET = 0.8


def main(count: int = 300) -> float:
    folder = tempfile.mkdtemp(prefix="bench-lti-")
    os.environ["GRADGATE_INSTANCE"] = str(Path(folder) / "instance")
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    import requests
    from werkzeug.serving import make_server

    from grader import create_app
    from grader.lti import ags
    from grader.lti.models import LtiContext, LtiResourceLink, LtiUser
    from grader.lti.outbox import score_changed, send_pending
    from grader.lti.registrations import register_platform
    from grader.models import Assignment, Course, ManualScore, Membership, User, db
    from tests.lti.platform import Platform

    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/gradgate.db"})
    platform = Platform().start()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    platform.tool_url = f"http://127.0.0.1:{server.server_port}"
    with app.app_context():
        db.create_all()
        registration, _ = register_platform(
            issuer=platform.url, client_id=platform.client_id, auth_login_url=platform.url + "/authorize",
            auth_token_url=platform.url + "/token", keyset_url=platform.url + "/jwks",
            deployment_ids=[platform.deployment_id])
        course = Course(code="bench", title="Bench")
        assignment = Assignment(course=course, title="Set", items=[])
        db.session.add_all([course, assignment])
        context = LtiContext(registration=registration, deployment_id=platform.deployment_id, context_id="bench",
                             course=course, lineitems_url=f"{platform.url}/bench/lineitems")
        link = LtiResourceLink(context=context, resource_link_id="bench-link", assignment=assignment)
        db.session.add_all([context, link])
        from grader.models import AssignmentItem, Exercise, ExerciseVersion

        exercise = Exercise(slug="bench", title="Bench", kind="numeric")
        db.session.add_all([exercise, ExerciseVersion(exercise=exercise, version=1, definition={})])
        assignment.items.append(AssignmentItem(exercise=exercise, position=1, points=10.0))
        users = []
        for n in range(count):
            user = User(username=f"s{n}", name=f"Student {n}", password_hash="!")
            users.append(user)
            db.session.add_all([user, Membership(user=user, course=course),
                                LtiUser(issuer=platform.url, sub=f"sub-{n}", user=user)])
        db.session.flush()
        for n, user in enumerate(users):
            db.session.add(ManualScore(assignment_id=assignment.id, user_id=user.id, points=n % 10, reason="bench"))
        score_changed(assignment)
        db.session.commit()
        ags.line_item_url(link)  # the column once, before timing (both loops post to it)
        db.session.commit()
        line_item = link.lineitem_url
        started = time.perf_counter()
        counts = send_pending(limit=count + 10)
        outbox_s = time.perf_counter() - started
        assert counts["sent"] == count, counts
        token = ags.access_token(registration, ags.SCOPES)

    http = requests.Session()
    started = time.perf_counter()
    for n in range(count):
        response = http.post(ags.scores_url(line_item), json=ags.Score(f"sub-{n}", n % 10, 10.0, "2026-01-01T00:00:00Z")
                             .body(), headers={"Content-Type": ags.SCORE_TYPE, "Authorization": "Bearer " + token},
                             timeout=10)
        assert response.status_code == 204, response.text
    plain_s = time.perf_counter() - started
    server.shutdown()
    platform.stop()
    outbox_rate, plain_rate = count / outbox_s, count / plain_s
    ratio = outbox_rate / plain_rate
    print(f"outbox: {outbox_rate:.0f} scores/s ({count} in {outbox_s:.2f} s); plain loop of the same posts: "
          f"{plain_rate:.0f}/s ({plain_s:.2f} s); ratio {ratio:.2f} (target >= {TARGET}) "
          f"{'OK' if ratio >= TARGET else 'BELOW TARGET'}")
    return ratio


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
