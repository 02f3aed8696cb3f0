"""Schemathesis over every operation of /api/openapi.json, in process against the WSGI app: no 5xx, and
every response (status, content type, headers, body) matches the document.

The schema is built at module level from an app on a SQLite file in a temporary directory, seeded with a
course, users and an admin token holding every scope (sent as a header with each generated case). Bounded:
a few examples per operation so the whole run stays well under a minute.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from grader import create_app
from grader.models import SCOPES, ApiToken, User, db
from tests.api.conftest import EXERCISE, seed_world

MAX_EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "20"))  # more for a deeper run

_tmp = tempfile.TemporaryDirectory(prefix="gradgate-schemathesis-")
app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{Path(_tmp.name) / 'api.db'}"})
with app.app_context():
    db.create_all()
    seed_world(app.config["EXERCISES_DIR"], only=(EXERCISE, "gate-add", "two-layer-random"))
    root = db.session.query(User).filter_by(username="root").one()
    token, SECRET = ApiToken.issue(root, list(SCOPES), name="schemathesis")
    token.id = 987_654  # out of reach of generated ids, so DELETE /tokens/{id} cannot revoke it mid-run
    db.session.add(token)
    db.session.commit()
    db.session.remove()

HEADERS = {"Authorization": f"Bearer {SECRET}"}

# Operations whose input has rules beyond its JSON schema, answered with 422 when schema-valid data breaks
# them: an exercise definition is checked by parse_exercise (its own schema, with paths), a username or an
# exercise slug must exist (in the problem set, where one is named), an override's or regrade's students must be
# the course's, a regrade's plan must be its dry run's, and answers vs code must suit the
# exercise's kind, a manual score's points lie within its set's and its reason is not blank. Every other check
# still runs.
SEMANTIC = {
    "POST /api/v1/exercises", "PUT /api/v1/exercises/{slug}", "POST /api/v1/solve",
    "POST /api/v1/courses/{course_id}/memberships", "POST /api/v1/courses/{course_id}/assignments",
    "POST /api/v1/assignments/{assignment_id}/submissions", "POST /api/v1/assignments/{assignment_id}/precheck",
    "GET /api/v1/assignments/{assignment_id}/variant",
    "PUT /api/v1/courses/{course_id}/gradebook/{assignment_id}/{username}",
    "DELETE /api/v1/courses/{course_id}/gradebook/{assignment_id}/{username}",
    "POST /api/v1/assignments/{assignment_id}/overrides", "DELETE /api/v1/assignments/{assignment_id}/overrides",
    "POST /api/v1/assignments/{assignment_id}/regrade",
}
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
def test_api_conforms_to_its_schema(case):
    excluded = [positive_data_acceptance] if case.operation.label in SEMANTIC else []
    response = case.call(headers=HEADERS)
    negative = {location for location in ParameterLocation if case.meta and case.meta.is_negative_at(location)}
    # The run's own valid token replaces a malformed Authorization header the case drew (so a case negative
    # only there is a valid request), and a body over MAX_CONTENT_LENGTH is refused with 413, a rejection
    # schemathesis does not list.
    if negative == {ParameterLocation.HEADER} or response.status_code == 413:
        excluded.append(negative_data_rejection)
    case.validate_response(response, headers=HEADERS, excluded_checks=excluded)
