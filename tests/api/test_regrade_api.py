"""The regrade API: a dry run answers the report and stores nothing; the commit answers 202 and its job; the
records list it; undo restores; a TA is refused (instructors only); bad bodies name their field."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select

from grader.models import Membership, Regrade, RegradeChange, db
from tests.api.conftest import bearer
from tests.service.regrade_world import build, snapshot


@pytest.fixture
def world(app):
    return build(app.config["EXERCISES_DIR"])


def test_dry_run_then_commit_then_undo_over_the_api(client, world):
    url = f"/api/v1/assignments/{world.assignment.id}/regrade"
    teacher = bearer("teacher")
    body = {"exercise": "gate-multiply", "change": "tolerance", "tolerance": {"rtol": 0.25}}
    before = snapshot()
    dry = client.post(url, json=body, headers=teacher)
    assert dry.status_code == 200, dry.get_json()
    report = dry.get_json()
    assert report["summary"] == "would change 3 submissions of 3 students" and report["lms_resend"] == ["three"]
    assert report["kept_overridden"] == ["manual"]
    assert snapshot() == before | {"api_tokens": snapshot()["api_tokens"]}  # only the test's token was added
    committed = client.post(url, json={**body, "dry_run": False, "plan": report["plan"], "reason": "too tight"},
                            headers=teacher)
    assert committed.status_code == 202, committed.get_json()
    answer = committed.get_json()
    assert answer["job"]["kind"] == "regrade" and answer["job"]["state"] == "done"  # eager: no broker here
    assert answer["regrade"]["reason"] == "too tight"
    records = client.get(f"/api/v1/assignments/{world.assignment.id}/regrades", headers=teacher).get_json()
    assert [r["state"] for r in records] == ["committed"] and records[0]["counts"]["changed"] == 3
    assert db.session.scalar(select(func.count()).select_from(RegradeChange)) == 3
    undo = client.post(f"/api/v1/assignments/{world.assignment.id}/regrades/{records[0]['id']}/undo", headers=teacher)
    assert undo.status_code == 200 and undo.get_json()["restored"] == 3
    assert snapshot()["submissions"] == before["submissions"]  # every column of every submission
    again = client.post(f"/api/v1/assignments/{world.assignment.id}/regrades/{records[0]['id']}/undo", headers=teacher)
    assert again.status_code == 409


def test_a_ta_is_refused_and_bad_bodies_name_the_field(client, world):
    url = f"/api/v1/assignments/{world.assignment.id}/regrade"
    ta = client.post(url, json={}, headers=bearer("ta"))
    assert ta.status_code == 403 and "only the course's instructors" in ta.get_json()["message"]
    teacher = bearer("teacher")
    for body, name in [({"dry_run": False}, "plan"), ({"dry_run": False, "plan": "x" * 70}, "reason"),
                       ({"change": "magic"}, "change"), ({"change": "tolerance", "exercise": "gate-add"}, "tolerance"),
                       ({"change": "tolerance", "exercise": "gate-add", "tolerance": {"rtol": 5}}, "tolerance"),
                       ({"students": ["nobody"]}, "students"), ({"exercise": "nope"}, "exercise"),
                       ({"dry_run": False, "plan": "x" * 70, "reason": "why"}, "plan")]:
        response = client.post(url, json=body, headers=teacher)
        assert response.status_code == 422 and name in str(response.get_json()["errors"]), (body, response.get_json())
    assert db.session.scalar(select(func.count()).select_from(Regrade)) == 0
    missing = client.post("/api/v1/assignments/999999/regrade", json={}, headers=teacher)
    assert missing.status_code == 404


def test_one_removed_from_the_course_reads_its_regrade_job_no_more(client, world):
    # the job's result names the students whose totals moved: a course's job, for its staff only
    url = f"/api/v1/assignments/{world.assignment.id}/regrade"
    teacher = bearer("teacher")
    body = {"exercise": "gate-multiply", "change": "tolerance", "tolerance": {"rtol": 0.25}}
    plan = client.post(url, json=body, headers=teacher).get_json()["plan"]
    job = client.post(url, json={**body, "dry_run": False, "plan": plan, "reason": "too tight"},
                      headers=teacher).get_json()["job"]
    assert client.get(f"/api/v1/jobs/{job['id']}", headers=teacher).get_json()["result"]["lms_resend"] == ["three"]
    db.session.execute(delete(Membership).where(Membership.user_id == world.teacher.id))
    db.session.commit()
    assert client.get(f"/api/v1/jobs/{job['id']}", headers=teacher).status_code == 404
