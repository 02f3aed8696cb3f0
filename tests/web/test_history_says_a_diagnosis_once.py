"""The history prints each part's status, message and likely mistake once each (it printed
"correct: Correct: …" and the diagnosis twice)."""

from __future__ import annotations

from grader import service
from grader.models import Submission, db
from tests.service.conftest import assign, user
from tests.web.conftest import login

RIGHT_W1_22 = "-0.0026227"
SIGN_ERROR_W1_22 = "0.0026227"


def test_the_diagnosis_and_the_status_are_said_once(client, course):
    a = assign(course, "seed-two-layer-w1-22")
    login(client)
    client.post(f"/assignments/{a.id}", data={"answer-0": SIGN_ERROR_W1_22})
    client.post(f"/assignments/{a.id}", data={"answer-0": RIGHT_W1_22})
    wrong = db.session.query(Submission).filter_by(attempt=1).one()
    diagnosis = wrong.feedback["parts"][0]["diagnosis"]["message"]
    assert diagnosis in wrong.feedback["parts"][0]["message"]  # the grader puts it in the message too
    html = client.get(f"/assignments/{a.id}/history").text
    assert html.count(diagnosis) == 1 and "Likely mistake: " + diagnosis in html
    assert "Correct: " not in html  # the badge says it; the message does not say it again
    assert html.count('badge-correct">Correct<') == 1 and html.count('badge-incorrect">Not correct<') == 1
    assert service.graded_attempts(user("alice"), a) == 2
