"""Mistake tallies: a class of simulated students, each erring the way a student would (the wrong answer made
from the reference engine's own numbers), submitted through the service, gives back exactly the shares that
were injected; the statistics of the same class count its attempts; a changed diagnosis (as a regrade stores)
shows at the next read.

The class (built once per module and backend): 20 students at seed-three-layer-matrix, whose numbers are the
same for everyone (fixed in the definition), so equal wrong answers group by value:
- 5 (25%) take the loss gradient with the wrong sign: every gradient comes out negated; they fix it at attempt 2;
- 4 (20%) transpose dL/dW1 (x.T @ G written G.T @ x: the 3×3 gradient transposed); fixed at attempt 2;
- 2 (10%) give 3 × dL/dW3, an unknown slip (one of them a rounding apart): no mistake explains it;
- 9 are right; one of them (u11) submits again with the sign error at attempt 2.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from grader.models import Submission, User, db
from grader.service import class_data as results
from tests.service import simulated_class

klass = simulated_class.klass  # the fixture: the class is built once per module and backend


def week_of(assignment_id: int):
    teacher = db.session.scalar(select(User).where(User.username == "teacher"))
    return results.staff_assignment(teacher, assignment_id)


def tally_of(assignment_id: int):
    return results.mistake_tallies(week_of(assignment_id))[0]


def rows_by_key(tally) -> dict[tuple[str, str], object]:
    return {(row.quantity.key, row.mistake): row for row in tally.rows}


def test_the_injected_shares_come_back_exactly(klass):
    _, week_id = klass
    tally = tally_of(week_id)
    assert (tally.students, tally.first_attempts, tally.submissions) == (20, 20, 20 + 5 + 4 + 1)
    rows = rows_by_key(tally)
    for quantity in ("0", "1", "2"):  # every gradient is negated by a sign error at the loss
        sign = rows[(quantity, "sign_error")]
        assert len(sign.first_students) == 5 and tally.first_share(sign) == 0.25
        assert len(sign.students) == 6 and len(sign.submissions) == 6  # u11's second attempt too
    transposed = rows[("0", "transposed")]
    assert len(transposed.first_students) == 4 and tally.first_share(transposed) == 0.2
    assert len(transposed.submissions) == 4 and tally.submission_share(transposed) == pytest.approx(4 / 30)
    assert set(rows) == {("0", "sign_error"), ("1", "sign_error"), ("2", "sign_error"), ("0", "transposed")}
    assert [q.key for q in tally.quantities] == ["0", "1", "2"]  # the asks, in order, with their labels


def test_the_unknown_slip_is_one_group_of_two_at_dw3(klass):
    _, week_id = klass
    tally = tally_of(week_id)
    assert len(tally.unexplained) == 1  # the transposed and negated answers are explained; nothing else is wrong
    group = tally.unexplained[0]
    assert group.quantity.key == "2" and len(group.submissions) == 2 and len(group.students) == 2
    assert group.value.startswith("[[")  # the rounded matrix, as shown


def test_the_drill_down_lists_the_students_and_their_submissions(klass):
    app, week_id = klass
    week = week_of(week_id)
    item, found = results.mistake_students(week, week.items[0].id, "0", "sign_error")
    assert [u.username for u, _ in found] == ["u00", "u01", "u02", "u03", "u04", "u11"]
    assert [[s.attempt for s in subs] for _, subs in found] == [[1]] * 5 + [[2]]
    _, none = results.mistake_students(week, week.items[0].id, "1", "transposed")
    assert none == []


def test_the_class_statistics_count_its_attempts(klass):
    _, week_id = klass
    week = week_of(week_id)
    stats = results.assignment_statistics(week)
    item = stats.items[0]
    assert stats.totals.students == 20 and item.scores.students == 20
    # attempt 2: the 9 who corrected themselves (100%) and u11's negated answers (0%)
    assert [(a.number, a.students) for a in item.by_attempt] == [(1, 20), (2, 10)]
    assert item.by_attempt[1].mean == pytest.approx(0.9)
    assert item.scores.at_full == 20 - 2 and item.attempts_max == 2  # best attempts: only the unknown slip short
    # opened a day ago (T0), first attempt i minutes later: median of 0..19 minutes is 9.5 minutes
    assert item.time_to_first.median.value == pytest.approx(9.5 * 60)
    assert item.discrimination.why == "the set has no other exercise: there is no rest of the set to compare with"


def test_a_changed_diagnosis_shows_at_the_next_read(klass):
    """What a regrade stores (new feedback on the same submission) is what the next tally counts: nothing is
    cached. The change is undone at the end so the module's other tests see the class as built."""
    _, week_id = klass
    first = db.session.scalar(select(Submission).join(User, Submission.user_id == User.id)
                              .where(User.username == "u00", Submission.attempt == 1))
    kept = first.feedback
    changed = {**kept, "parts": [{**p, "diagnosis": None} if p["index"] == 0 else p for p in kept["parts"]]}
    first.feedback = changed
    db.session.commit()
    try:
        sign = rows_by_key(tally_of(week_id))[("0", "sign_error")]
        assert len(sign.first_students) == 4
    finally:
        first.feedback = kept
        db.session.commit()
    assert len(rows_by_key(tally_of(week_id))[("0", "sign_error")].first_students) == 5
