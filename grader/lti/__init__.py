"""LTI 1.3 Advantage: LMS platforms launch Gradgate (grader.lti.views, blueprint `lti`), registrations
(grader.lti.registrations, `flask lti ...`), the tool's keys (grader.lti.keys), launches
(grader.lti.tool validates with pylti1p3, grader.lti.launches stores), and grades back through the score
outbox (grader.lti.outbox)."""

from __future__ import annotations

from flask import Flask


def init_lti(app: Flask) -> None:
    from sqlalchemy import event

    from grader.lti.cli import lti_cli
    from grader.lti.frames import init_frames
    from grader.lti.outbox import kick_sender
    from grader.lti.views import bp
    from grader.models import db

    app.register_blueprint(bp)
    app.cli.add_command(lti_cli)
    init_frames(app)
    if not event.contains(db.session, "after_commit", kick_sender):
        event.listen(db.session, "after_commit", kick_sender)
