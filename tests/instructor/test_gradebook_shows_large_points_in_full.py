"""The gradebook's page and CSV show large and fine-grained points in full (a set may be worth millions):
1234567.5 is not rounded to six significant digits ("1.23457e+06")."""

from __future__ import annotations

import csv
import io

from grader import service
from tests.instructor.problem_set_world import world_fixture  # noqa: F401
from tests.web.conftest import login


def test_a_manual_score_of_1234567_5_reads_in_full_on_the_page_and_in_the_csv(client, world):
    big = service.create_assignment(world.course, [service.ItemSpec("gate-add", 1_000_000),
                                                   service.ItemSpec("seed-chain-w1-22", 1_000_000)], title="Big")
    login(client, "ada")
    url = f"/instructor/courses/{world.course.id}/gradebook"
    response = client.post(f"{url}/{big.id}/alice", data={"action": "set", "points": "1234567.5", "reason": "r"})
    assert response.status_code == 302, response.text[:300]
    page = client.get(url).text
    assert "1234567.5/2000000" in page and "1.23457e+06" not in page
    rows = {row["username"]: row for row in csv.DictReader(io.StringIO(client.get(url + "/csv").text))}
    assert rows["alice"][f"Big (id {big.id})"] == "1234567.5" and rows["alice"]["total"] == "1234567.5"
