"""The statistics' numbers on small classes worked out by hand in the comments (pure functions: no database).

The class: five students s1..s5 at a set of two exercises A and B, one point each, scored by the best attempt.

    first attempts   A     B         later attempts
    s1               1     1
    s2               1     1
    s3               0.5   0         A #2: 1, B #2: 1
    s4               0     1         A #2: 0.5, A #3: 1
    s5               0     0

Item analysis of A on first attempts (Moodle): marks x = [1, 1, .5, 0, 0], rest of the set (B's first attempts)
y = [1, 1, 0, 1, 0] (sample variances and covariances, divided by n - 1 = 4).
    mean x = 2.5/5 = .5, deviations [.5, .5, 0, -.5, -.5], Σdx² = 1 -> var x = 1/4
    mean y = .6, deviations [.4, .4, -.6, .4, -.6], Σdy² = 1.2 -> var y = .3
    Σdx·dy = .5·.4 + .5·.4 + 0·-.6 + -.5·.4 + -.5·-.6 = .2 + .2 + 0 - .2 + .3 = .5 -> cov = .5/4 = .125
    discrimination index = .125 / √(.25 · .3) = .125 / .273861 = .456435
    largest covariance: x sorted [0, 0, .5, 1, 1] (deviations [-.5, -.5, 0, .5, .5]) paired with y sorted
    [0, 0, 1, 1, 1] (deviations [-.6, -.6, .4, .4, .4]): .3 + .3 + 0 + .2 + .2 = 1.0 -> 1.0/4 = .25
    discriminative efficiency = .125 / .25 = .5
    facility of A = mean x / 1 = .5; of B = .6. B's discrimination index is the same correlation, .456435; its
    largest covariance is the same sorted pairing, so its efficiency is .5 too.

Counted (best) scores: A = [1, 1, 1, 1, 0] -> mean .8, median 1, SD √(.8/4) = √.2 = .447214, one at 0%, four
at 100%. B = [1, 1, 1, 1, 0] too. Set totals out of 2: [2, 2, 2, 2, 0] -> fractions [1, 1, 1, 1, 0].
First-attempt totals: [2, 2, .5, 1, 0] -> mean 5.5/5 = 1.1 of 2 = .55.
A by attempt: #1 five students mean .5; #2 s3 (1) and s4 (.5): .75; #3 s4: 1.
Attempts used at A: [1, 1, 2, 3, 1] -> mean 1.6, median 1, most 3. At the set: [2, 2, 4, 4, 2] -> 2.8, median 2.
Quintiles (five students: one per fifth), ranked by set total then account: s5 (0), s1, s2, s3, s4 (2 each):
A's scores in that order [0, 1, 1, 1, 1].
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import pytest

from grader.service import statistics as st

A, B = st.ItemInfo(10, "a", "A", "numeric", 1.0), st.ItemInfo(20, "b", "B", "numeric", 1.0)
T0 = datetime(2026, 1, 5, 9, 0)


def tries(rows: dict[int, dict[int, list[float]]], minutes: int = 10) -> list[st.Attempt]:
    """rows: user -> item -> points per attempt; attempt k of a student is stored k·minutes after T0 + user·1 min."""
    out, sid = [], 0
    for uid, items in rows.items():
        for iid, points in items.items():
            for k, p in enumerate(points, start=1):
                sid += 1
                out.append(st.Attempt(sid, uid, iid, k, p, T0 + timedelta(minutes=uid + k * minutes)))
    return out


CLASS = {1: {10: [1.0], 20: [1.0]}, 2: {10: [1.0], 20: [1.0]}, 3: {10: [0.5, 1.0], 20: [0.0, 1.0]},
         4: {10: [0.0, 0.5, 1.0], 20: [1.0]}, 5: {10: [0.0], 20: [0.0]}}


@pytest.fixture(scope="module")
def stats() -> st.SetStatistics:
    # each student opened both exercises at T0: their first attempt at A is (uid + 10) minutes later
    opened = {(uid, iid): T0 for uid in CLASS for iid in (10, 20)}
    return st.set_statistics([A, B], tries(CLASS), opened, scoring="best")


def test_item_analysis_matches_the_hand_computation(stats):
    a, b = stats.items
    assert a.facility.value == pytest.approx(0.5) and b.facility.value == pytest.approx(0.6)
    assert a.discrimination.value == pytest.approx(0.125 / math.sqrt(0.25 * 0.3)) == pytest.approx(0.456435, abs=1e-6)
    assert a.efficiency.value == pytest.approx(0.5)
    assert b.discrimination.value == pytest.approx(0.456435, abs=1e-6) and b.efficiency.value == pytest.approx(0.5)
    assert not a.dubious and not b.dubious
    assert a.first_sd.value == pytest.approx(math.sqrt(0.25))


def test_descriptives_attempts_and_quintiles(stats):
    a = stats.items[0]
    d = a.scores
    assert (d.students, d.at_zero, d.at_full) == (5, 1, 4)
    assert d.mean.value == pytest.approx(0.8) and d.median.value == 1.0
    assert d.sd.value == pytest.approx(math.sqrt(0.2))
    assert (d.minimum.value, d.maximum.value) == (0.0, 1.0)
    assert d.histogram == [1, 0, 0, 0, 0, 0, 0, 0, 0, 4]
    assert a.first_mean.value == pytest.approx(0.5) and a.best_mean.value == pytest.approx(0.8)
    assert a.last_mean.value == pytest.approx(0.8)
    assert [(x.number, x.students, x.mean) for x in a.by_attempt] == [(1, 5, 0.5), (2, 2, 0.75), (3, 1, 1.0)]
    assert (a.attempts_mean.value, a.attempts_median.value, a.attempts_max) == (pytest.approx(1.6), 1, 3)
    assert [f.mean.value for f in a.quintiles] == [0.0, 1.0, 1.0, 1.0, 1.0] and a.quintiles_why is None
    assert [f.students for f in a.quintiles] == [1] * 5


def test_set_level_numbers(stats):
    t = stats.totals
    assert t.students == 5 and t.mean.value == pytest.approx(0.8) and (t.at_zero, t.at_full) == (1, 4)
    assert stats.first_mean.value == pytest.approx(0.55)
    assert stats.best_mean.value == pytest.approx(0.8) and stats.last_mean.value == pytest.approx(0.8)
    assert stats.attempts_mean.value == pytest.approx(2.8) and stats.attempts_median.value == 2


def test_time_from_opening_to_the_first_attempt(stats):
    # first attempt at A: T0 + uid + 10 minutes -> 11, 12, 13, 14, 15 minutes: median 13, mean 13
    a = stats.items[0].time_to_first
    assert a.students == 5 and a.median.value == 13 * 60 and a.mean.value == pytest.approx(13 * 60)
    assert stats.time_to_first.median.value == 13 * 60  # the set: its earliest opening to its earliest attempt


def test_one_student_gives_reasons_not_numbers():
    stats = st.set_statistics([A, B], tries({1: {10: [0.5], 20: [1.0]}}), {}, scoring="best")
    a = stats.items[0]
    assert a.scores.students == 1 and a.scores.mean.value == 0.5 and a.facility.value == 0.5
    for measure in (a.scores.sd, a.discrimination, a.efficiency, a.first_sd, stats.totals.sd):
        assert measure.value is None and measure.why == st.NEEDS_TWO
    assert a.quintiles == [] and a.quintiles_why == st.NEEDS_FIVE
    assert a.time_to_first.median.why == st.NO_OPENING  # no variant recorded: said, not 0


def test_everyone_at_full_marks_has_no_spread():
    everyone = {uid: {10: [1.0], 20: [1.0]} for uid in range(1, 7)}
    stats = st.set_statistics([A, B], tries(everyone), {}, scoring="last")
    for a in stats.items:
        assert a.facility.value == 1.0 and a.scores.sd.value == 0.0 and a.scores.at_full == 6
        assert a.discrimination.why == st.NO_SPREAD and a.efficiency.why == st.NO_SPREAD and not a.dubious
        assert [f.mean.value for f in a.quintiles] == [1.0] * 5 and sum(f.students for f in a.quintiles) == 6


def test_a_single_exercise_has_no_rest_of_the_set_and_no_submissions_nothing():
    stats = st.set_statistics([A], tries({1: {10: [1.0]}, 2: {10: [0.0]}}), {}, scoring="best")
    assert stats.items[0].discrimination.why == st.NO_REST and stats.items[0].scores.sd.value == pytest.approx(
        math.sqrt(0.5))
    empty = st.set_statistics([A, B], [], {}, scoring="best")
    assert empty.totals.students == 0 and empty.totals.mean.why == st.NO_STUDENTS
    assert empty.items[0].facility.why == st.NO_STUDENTS and empty.items[0].attempts_max == 0


def test_a_rest_of_the_set_everyone_scored_the_same_at_is_said():
    stats = st.set_statistics([A, B], tries({1: {10: [1.0], 20: [1.0]}, 2: {10: [0.0], 20: [1.0]}}), {})
    assert stats.items[0].discrimination.why == st.NO_REST_SPREAD
    assert stats.items[1].discrimination.why == st.NO_SPREAD


def test_a_weak_exercise_is_dubious():
    # A's first attempts [1, 0, 1, 0] against B's [1, 1, 0, 0]: uncorrelated (index 0 < 15%)
    stats = st.set_statistics([A, B], tries({1: {10: [1.0], 20: [1.0]}, 2: {10: [0.0], 20: [1.0]},
                                              3: {10: [1.0], 20: [0.0]}, 4: {10: [0.0], 20: [0.0]}}), {})
    assert stats.items[0].discrimination.value == pytest.approx(0.0) and stats.items[0].dubious
