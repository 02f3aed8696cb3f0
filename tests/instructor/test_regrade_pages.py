"""The regrade pages without a browser: a typed value that is not a number, or a tolerance the grader refuses,
is the form again (400) with the field marked and nothing run; a dry run's page stores nothing; a commit whose
rows changed since its dry run shows the refusal on the regrade's page."""

from __future__ import annotations

import re
from html import unescape

import pytest

from grader import service
from grader.models import Regrade, db
from tests.service.regrade_world import build, forget_kept_plans, snapshot
from tests.web.conftest import login


@pytest.fixture
def world(app):
    return build(app.config["EXERCISES_DIR"])


def test_the_form_marks_bad_values_and_a_stale_commit_is_refused(client, world):
    login(client, "teacher")
    url = f"/instructor/assignments/{world.assignment.id}/regrade"
    assert client.get(url).status_code == 200
    before = snapshot()
    for form, field, words in [({"change": "tolerance", "exercise": "gate-multiply", "rtol": "lots"}, "rtol",
                                "expected a number"),
                               ({"change": "tolerance", "exercise": "gate-multiply", "rtol": "3"}, "tolerance",
                                "below 1"),
                               ({"change": "grader", "students": "nobody"}, "students", "not students")]:
        page = client.post(url, data=form)
        html = unescape(page.get_data(as_text=True))
        assert page.status_code == 400 and f'id="{field}-error"' in html and words in html, (form, html[-800:])
    dry = client.post(url, data={"change": "tolerance", "exercise": "gate-multiply", "rtol": "0.25"})
    html = unescape(dry.get_data(as_text=True))
    assert dry.status_code == 200 and "Dry run: would change 3 submissions of 3 students" in html
    assert snapshot() == before
    plan = re.search(r'name="plan" value="([^"]+)"', html).group(1)
    service.set_manual_score(world.teacher, world.assignment, "three", 1, "graded by hand")  # the data moves
    committed = client.post(url + "/commit", data={"change": "tolerance", "exercise": "gate-multiply",
                                                   "rtol": "0.25", "plan": plan, "reason": "looser"})
    assert committed.status_code == 302
    record = unescape(client.get(committed.headers["Location"]).get_data(as_text=True))
    assert "Refused, nothing changed" in record and "Undo this regrade" not in record
    assert db.session.get(Regrade, 1).state == "refused"


def test_a_version_number_no_version_can_have_is_the_form_again_naming_the_version(client, world):
    # over 64 bits: SQLite cannot even bind it, so the check comes before the query
    login(client, "teacher")
    url = f"/instructor/assignments/{world.assignment.id}/regrade"
    for version in ("99999999999999999999", "-5", "0"):
        page = client.post(url, data={"change": "version", "exercise": "gate-multiply", "version": version})
        html = unescape(page.get_data(as_text=True))
        assert page.status_code == 400 and 'id="version-error"' in html, (version, html[-800:])
        assert f"has no version {version}" in html


@pytest.mark.parametrize("kept", [True, False], ids=["kept-plan", "graded-again"])
def test_the_record_says_when_the_commit_graded_again(client, world, app, kept):
    login(client, "teacher")
    url = f"/instructor/assignments/{world.assignment.id}/regrade"
    form = {"change": "tolerance", "exercise": "gate-multiply", "rtol": "0.25"}
    html = unescape(client.post(url, data=form).get_data(as_text=True))
    plan = re.search(r'name="plan" value="([^"]+)"', html).group(1)
    if not kept:
        forget_kept_plans(app)
    committed = client.post(url + "/commit", data={**form, "plan": plan, "reason": "looser"})
    record = unescape(client.get(committed.headers["Location"]).get_data(as_text=True))
    assert "Changed 3 submissions of 3 students" in record
    assert ("every submission was graded again" in record) is not kept
