"""The course page's status says what it means: "done" only when every answer is right (nothing more to
earn), "no attempts left" when they ran out short of that (it said "done" at 0 / 10), else "attempted"."""

from __future__ import annotations

import re

from tests.service.conftest import assign
from tests.web.conftest import login

RIGHT_W1_22 = "-0.0026227"
WRONG_W1_22 = "0.5"


def _status(html: str, title: str) -> str:
    row = re.search(rf">{re.escape(title)}</a></th>\s*<td><span class=\"status status-([\w-]+)\">([^<]+)<", html)
    assert row, title
    return row.group(2)


def test_done_means_all_right_and_running_out_is_said_as_such(client, course):
    titles = {"out": "Out of attempts", "trying": "Still trying", "right": "All right", "fresh": "Not yet opened"}
    out = assign(course, "seed-two-layer-w1-22", attempt_limit=1, points=10)
    trying = assign(course, "seed-two-layer-w1-22", attempt_limit=3, points=10)
    right = assign(course, "seed-two-layer-w1-22", attempt_limit=1, points=10)
    fresh = assign(course, "seed-two-layer-w1-22")
    for key, a in {"out": out, "trying": trying, "right": right, "fresh": fresh}.items():
        a.title = titles[key]
    from grader.models import db

    db.session.commit()
    login(client)
    client.post(f"/assignments/{out.id}", data={"answer-0": WRONG_W1_22})
    client.post(f"/assignments/{trying.id}", data={"answer-0": WRONG_W1_22})
    client.post(f"/assignments/{right.id}", data={"answer-0": RIGHT_W1_22})
    html = client.get(f"/courses/{course.id}").text
    assert _status(html, titles["out"]) == "no attempts left"  # 0 / 10: not "done"
    assert _status(html, titles["trying"]) == "attempted"
    assert _status(html, titles["right"]) == "done"
    assert _status(html, titles["fresh"]) == "not started"
    assert re.search(r"0 / 10", html)
