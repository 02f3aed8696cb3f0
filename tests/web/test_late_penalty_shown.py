"""A late submission under a penalty says so wherever its score is shown: the raw score, the penalty and the
points it earns (issue 10: the header said "100%" while the gradebook had 4 / 5)."""

from __future__ import annotations

import re
from datetime import timedelta

from grader.models import utcnow
from tests.service.conftest import assign
from tests.web.conftest import login

RIGHT_W1_22 = "-0.0026227"


def text(html: str) -> str:
    """The page's text as read: tags dropped, white space collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_feedback_history_and_course_page_show_the_late_penalty(client, course):
    late = assign(course, "seed-two-layer-w1-22", points=5, due_at=utcnow() - timedelta(hours=1),
                  late_policy="penalty", late_penalty=0.2)
    login(client)
    feedback = client.get(client.post(f"/assignments/{late.id}", data={"answer-0": RIGHT_W1_22}).location).text
    title = re.search(r'<h2 id="feedback-title">(.*?)</h2>', feedback, re.DOTALL).group(1)
    title = text(title)
    assert "score 100%" in title and "late penalty 20%" in title and "4 / 5 points" in title
    assert "the late penalty of 20% takes the score of 100% to 4 of the 5 points" in feedback
    history = text(client.get(f"/assignments/{late.id}/history").text)
    assert "score 100% · late penalty 20% · 4 / 5 points" in history
    row = text(client.get(f"/courses/{course.id}").text)
    assert "4 / 5 (score 100%, late penalty 20%)" in row


def test_on_time_there_is_no_penalty_to_show(client, course):
    on_time = assign(course, "seed-two-layer-w1-22", points=5, due_at=utcnow() + timedelta(days=1),
                     late_policy="penalty", late_penalty=0.2)
    login(client)
    feedback = client.get(client.post(f"/assignments/{on_time.id}", data={"answer-0": RIGHT_W1_22}).location).text
    assert "5 / 5 points" in text(feedback) and "late penalty" not in feedback
    assert "late penalty" not in client.get(f"/courses/{course.id}").text
