"""Pure pieces of the tallies and their charts (no database): how unexplained answers group by value, what
counts as a named mistake, and that the server-drawn SVG is accessible, escaped and deterministic."""

from __future__ import annotations

from datetime import datetime

import pytest

from grader.instructor.charts import Bar, column_chart, row_chart
from grader.service.statistics import ItemInfo
from grader.service.tallies import Answered, item_tally, round_figures, value_text

ITEM = ItemInfo(1, "x", "X", "numeric", 1.0)


def numeric(sid: int, uid: int, attempt: int, *parts: dict) -> Answered:
    return Answered(sid, uid, attempt, datetime(2026, 1, 1), 0.0, "numeric", {"parts": list(parts)})


def test_near_equal_values_group_and_signs_of_zero_do_not_split():
    assert value_text(round_figures(-0.0536049)) == value_text(round_figures(-0.0535951)) == "-0.0536"
    assert round_figures([[0.0, -0.0], [1234567.0, 1e-12]]) == [[0.0, 0.0], [1230000.0, 1e-12]]
    assert value_text(round_figures(-0.0)) == "0"
    assert round_figures("1,5") == "1,5"  # text left as it is


def test_only_wrong_parts_without_a_named_mistake_are_unexplained_and_rounding_is_not_a_mistake():
    subs = [
        numeric(1, 1, 1, {"index": 0, "label": "a", "status": "incorrect", "given": 0.41, "diagnosis": None}),
        numeric(2, 2, 1, {"index": 0, "label": "a", "status": "partial", "given": 0.4100004, "diagnosis": None}),
        numeric(3, 3, 1, {"index": 0, "label": "a", "status": "incorrect", "given": -0.2,
                          "diagnosis": {"mistake": "sign_error", "accepted": False}}),
        numeric(4, 4, 1, {"index": 0, "label": "a", "status": "correct", "given": 0.2,
                          "diagnosis": {"mistake": "rounded_early", "accepted": True}}),
        numeric(5, 4, 2, {"index": 0, "label": "a", "status": "incorrect", "given": 7.0, "diagnosis": None}),
    ]
    tally = item_tally(ITEM, subs, ["a"])
    assert [(r.mistake, len(r.first_students)) for r in tally.rows] == [("sign_error", 1)]
    assert [(g.value, len(g.submissions)) for g in tally.unexplained] == [("0.41", 2), ("7", 1)]
    assert (tally.students, tally.first_attempts, tally.submissions) == (4, 4, 5)


def test_charts_are_images_with_a_title_a_description_and_escaped_text():
    bars = [Bar("<b>&", 0.5, "50%"), Bar("ok", 1.0, "100%", alt=True)]
    svg = column_chart("c1", "Scores <all>", bars, axis="share", most=1.0)
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg" id="c1"') and 'role="img"' in svg
    assert '<title id="c1-title">Scores &lt;all&gt;</title>' in svg
    assert '<desc id="c1-desc">share: &lt;b&gt;&amp;: 50%; ok: 100%.</desc>' in svg
    assert "<b>" not in svg and svg.count('class="bar alt"') == 1
    assert svg == column_chart("c1", "Scores <all>", bars, axis="share", most=1.0)  # deterministic
    rows = row_chart("r1", "Mistakes", bars, axis="share", most=1.0)
    assert 'aria-labelledby="r1-title r1-desc"' in rows and rows.count("<rect") == 2
    assert "No data yet." in row_chart("r2", "Nothing", [], axis="share")
    with pytest.raises(ValueError, match="chart id"):
        column_chart('x" onload="', "t", bars, axis="a")


def test_a_student_whose_attempt_1_was_never_graded_is_not_in_the_first_attempt_share():
    # attempt 1 still queued, or failed on a worker after attempt 2 took the next number: the student's
    # earliest graded submission is attempt 2, which is not a first attempt, so the share stays within 100%
    sign = {"index": 0, "label": "a", "status": "incorrect", "given": -1.0,
            "diagnosis": {"mistake": "sign_error", "accepted": False}}
    tally = item_tally(ITEM, [numeric(1, 1, 1, sign), numeric(2, 2, 2, sign)], ["a"])
    (row,) = tally.rows
    assert tally.first_attempts == 1 and row.first_students == {1} and tally.first_share(row) == 1.0
    assert row.students == {1, 2} and row.submissions == [1, 2]
