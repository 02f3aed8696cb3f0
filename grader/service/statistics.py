"""Statistics of a problem set and of each of its exercises, computed at read time from the graded attempts
(pure functions: no Flask, no database; grader.service.class_data loads the rows).

    stats = set_statistics(items, attempts, opened, scoring="best")

Every number that cannot be computed is a `Measure` with `value=None` and the reason (`why`) the page shows:
"needs at least 2 students", "no spread: everyone scored the same". No division by zero anywhere.

Item analysis follows Moodle's quiz statistics, on first attempts:
- facility = mean first-attempt score / the exercise's points;
- discrimination index = the correlation between the exercise's first-attempt points and the rest of the set's
  (the first-attempt points at its other exercises);
- discriminative efficiency = the covariance of those two / the largest covariance their two distributions
  allow (both lists sorted and paired), i.e. how much of the discrimination that is possible given the scores
  the exercise reaches; "dubious" where the discrimination index is under 15%.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

NEEDS_TWO = "needs at least 2 students"
NO_SPREAD = "no spread: everyone scored the same"
NO_REST = "the set has no other exercise: there is no rest of the set to compare with"
NO_REST_SPREAD = "no spread in the rest of the set: everyone scored the same there"
NEEDS_FIVE = "needs at least 5 students (one per fifth)"
NO_STUDENTS = "no graded submissions yet"
NO_OPENING = "no recorded opening: the student's variant is not stored"
DUBIOUS_BELOW = 0.15  # Moodle's flag: a discrimination index under 15%
BINS = 10  # the histogram's bins: 0–10%, ..., 90–100% (100% in the last)
FIFTHS = ("bottom fifth", "second fifth", "middle fifth", "fourth fifth", "top fifth")


@dataclass(frozen=True)
class ItemInfo:
    """An exercise of the set, as the statistics need it."""

    id: int
    slug: str
    title: str
    kind: str
    points: float


@dataclass(frozen=True)
class Attempt:
    """One graded submission: `points` what it earns at its exercise (the late penalty taken off)."""

    submission_id: int
    user_id: int
    item_id: int
    attempt: int
    points: float
    created_at: datetime


@dataclass(frozen=True)
class Measure:
    """A number, or None with the reason it is absent."""

    value: float | None
    why: str | None = None

    @classmethod
    def absent(cls, why: str) -> Measure:
        return cls(None, why)


@dataclass
class Descriptives:
    """Scores as fractions of the most they can be (0..1)."""

    students: int
    mean: Measure
    median: Measure
    sd: Measure  # sample standard deviation (n − 1)
    minimum: Measure
    maximum: Measure
    at_zero: int
    at_full: int
    histogram: list[int] = field(default_factory=lambda: [0] * BINS)


@dataclass
class ByAttempt:
    number: int  # 1st, 2nd, ...
    students: int  # who made this attempt
    mean: float  # their mean score at it (fraction)


@dataclass
class Fifth:
    label: str
    students: int
    mean: Measure  # mean exercise score (fraction) of the students in this fifth


@dataclass
class Durations:
    """Seconds from opening (the variant's creation, the student's first view) to the first graded attempt."""

    students: int
    median: Measure
    mean: Measure


@dataclass
class ItemStatistics:
    item: ItemInfo
    scores: Descriptives  # the counted score per student (best or last attempt, as the set scores)
    first_mean: Measure
    best_mean: Measure
    last_mean: Measure
    by_attempt: list[ByAttempt]
    attempts_mean: Measure
    attempts_median: Measure
    attempts_max: int
    facility: Measure
    first_sd: Measure
    discrimination: Measure
    efficiency: Measure
    quintiles: list[Fifth]
    quintiles_why: str | None
    time_to_first: Durations

    @property
    def dubious(self) -> bool:
        """Moodle's flag: a discrimination index under 15% (never for an absent one)."""
        value = self.discrimination.value
        return value is not None and value < DUBIOUS_BELOW


@dataclass
class SetStatistics:
    points: float
    scoring: str
    totals: Descriptives  # per student: the set's total as the gradebook counts it (submissions only)
    first_mean: Measure  # mean of the totals of first attempts
    best_mean: Measure
    last_mean: Measure
    attempts_mean: Measure  # graded attempts per student, summed over the set's exercises
    attempts_median: Measure
    time_to_first: Durations
    items: list[ItemStatistics]


# --- the numbers ------------------------------------------------------------------------------------------

def mean(values: Sequence[float]) -> Measure:
    return Measure(math.fsum(values) / len(values)) if values else Measure.absent(NO_STUDENTS)


def median(values: Sequence[float]) -> Measure:
    if not values:
        return Measure.absent(NO_STUDENTS)
    ordered, n = sorted(values), len(values)
    middle = n // 2
    return Measure(ordered[middle] if n % 2 else (ordered[middle - 1] + ordered[middle]) / 2)


def sample_sd(values: Sequence[float]) -> Measure:
    n = len(values)
    if n < 2:
        return Measure.absent(NEEDS_TWO if n else NO_STUDENTS)
    centre = math.fsum(values) / n
    return Measure(math.sqrt(math.fsum((v - centre) ** 2 for v in values) / (n - 1)))


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9


def histogram(fractions: Iterable[float]) -> list[int]:
    counts = [0] * BINS
    for f in fractions:
        counts[min(BINS - 1, max(0, int(math.floor(f * BINS + 1e-9))))] += 1
    return counts


def descriptives(fractions: Sequence[float]) -> Descriptives:
    values = list(fractions)
    return Descriptives(
        students=len(values), mean=mean(values), median=median(values), sd=sample_sd(values),
        minimum=Measure(min(values)) if values else Measure.absent(NO_STUDENTS),
        maximum=Measure(max(values)) if values else Measure.absent(NO_STUDENTS),
        at_zero=sum(_close(v, 0.0) for v in values), at_full=sum(_close(v, 1.0) for v in values),
        histogram=histogram(values))


def item_analysis(marks: Sequence[float], others: Sequence[float], most: float, *, has_rest: bool = True
                  ) -> tuple[Measure, Measure, Measure, Measure]:
    """Moodle's facility, SD, discrimination index and discriminative efficiency (all fractions) of one
    exercise, from each student's points at it (`marks`) and at the rest of the set (`others`), paired."""
    n = len(marks)
    if n == 0:
        absent = Measure.absent(NO_STUDENTS)
        return absent, absent, absent, absent
    facility = Measure(math.fsum(marks) / n / most) if most > 0 else Measure.absent("the exercise is worth 0 points")
    if n < 2:
        absent = Measure.absent(NEEDS_TWO)
        return facility, absent, absent, absent
    sd = sample_sd([m / most for m in marks]) if most > 0 else Measure.absent("the exercise is worth 0 points")
    mark_mean, other_mean = math.fsum(marks) / n, math.fsum(others) / n
    mark_var = math.fsum((m - mark_mean) ** 2 for m in marks) / (n - 1)
    other_var = math.fsum((o - other_mean) ** 2 for o in others) / (n - 1)
    covariance = math.fsum((m - mark_mean) * (o - other_mean) for m, o in zip(marks, others, strict=True)) / (n - 1)
    # the largest covariance these two distributions allow: the best student at this exercise also best at
    # the rest, and so on down (both sorted, then paired)
    covariance_max = math.fsum((m - mark_mean) * (o - other_mean)
                               for m, o in zip(sorted(marks), sorted(others), strict=True)) / (n - 1)
    if mark_var <= 1e-15:
        why = NO_SPREAD
    elif not has_rest:
        why = NO_REST
    elif other_var <= 1e-15:
        why = NO_REST_SPREAD
    else:
        why = None
    if why is not None:
        return facility, sd, Measure.absent(why), Measure.absent(why)
    discrimination = Measure(covariance / math.sqrt(mark_var * other_var))
    efficiency = Measure(covariance / covariance_max) if covariance_max > 1e-15 else Measure.absent(NO_SPREAD)
    return facility, sd, discrimination, efficiency


def fifths(ranked: Sequence[float]) -> tuple[list[Fifth], str | None]:
    """Mean score per fifth of a class already ranked from the lowest set total to the highest: the student
    at rank r (from 0) of n is in fifth ⌊5r/n⌋, so the fifths differ by at most one student."""
    n = len(ranked)
    if n < 5:
        return [], NEEDS_FIVE if n else NO_STUDENTS
    groups: list[list[float]] = [[] for _ in FIFTHS]
    for rank, value in enumerate(ranked):
        groups[rank * 5 // n].append(value)
    return [Fifth(label, len(g), mean(g)) for label, g in zip(FIFTHS, groups, strict=True)], None


def durations(seconds: Sequence[float], missing: int = 0) -> Durations:
    values = list(seconds)
    if not values:
        why = NO_OPENING if missing else NO_STUDENTS
        return Durations(0, Measure.absent(why), Measure.absent(why))
    return Durations(len(values), median(values), mean(values))


# --- a problem set ----------------------------------------------------------------------------------------

def _counted(attempts: list[Attempt], scoring: str) -> Attempt:
    if scoring == "last":
        return max(attempts, key=lambda a: a.attempt)
    return max(attempts, key=lambda a: (a.points, a.attempt))


def set_statistics(items: Sequence[ItemInfo], attempts: Iterable[Attempt],
                   opened: dict[tuple[int, int], datetime], *, scoring: str = "best") -> SetStatistics:
    """The statistics of a problem set and of each of its exercises. `opened` maps (user id, item id) to when
    the student first opened that exercise (their variant's creation). Students are those with at least one
    graded attempt in the set; an exercise they never attempted counts 0 towards their set total and the
    rest of the set, as in the gradebook."""
    by_pair: dict[tuple[int, int], list[Attempt]] = defaultdict(list)
    for a in attempts:
        by_pair[(a.user_id, a.item_id)].append(a)
    for tries in by_pair.values():
        tries.sort(key=lambda a: a.attempt)
    students = sorted({uid for uid, _ in by_pair})
    item_ids = [item.id for item in items]
    points = math.fsum(item.points for item in items)

    def earned(uid: int, iid: int, which: str) -> float:
        tries = by_pair.get((uid, iid))
        if not tries:
            return 0.0
        chosen = tries[0] if which == "first" else tries[-1] if which == "last" else _counted(tries, which)
        return chosen.points

    def totals(which: str) -> dict[int, float]:
        return {uid: math.fsum(earned(uid, iid, which) for iid in item_ids) for uid in students}

    counted = totals(scoring)
    first = totals("first")

    def of_set(values: dict[int, float]) -> Measure:
        return Measure(math.fsum(values.values()) / len(values) / points) if values and points > 0 else (
            Measure.absent(NO_STUDENTS if not values else "the set is worth 0 points"))

    # ranked by the set total, lowest first (ties: by user id, so the fifths are reproducible)
    ranking = sorted(students, key=lambda uid: (counted[uid], uid))
    used = {uid: sum(len(by_pair.get((uid, iid), ())) for iid in item_ids) for uid in students}
    waits, missing = [], 0
    for uid in students:
        starts = [opened[(uid, iid)] for iid in item_ids if (uid, iid) in opened]
        firsts = [by_pair[(uid, iid)][0].created_at for iid in item_ids if by_pair.get((uid, iid))]
        if starts:
            waits.append(max(0.0, (min(firsts) - min(starts)).total_seconds()))
        else:
            missing += 1
    stats = SetStatistics(
        points=points, scoring=scoring,
        totals=descriptives([counted[uid] / points for uid in students] if points > 0 else []),
        first_mean=of_set(first), best_mean=of_set(totals("best")), last_mean=of_set(totals("last")),
        attempts_mean=mean(list(used.values())), attempts_median=median(list(used.values())),
        time_to_first=durations(waits, missing), items=[])
    for item in items:
        stats.items.append(_item_statistics(item, by_pair, students, ranking, first, opened, scoring,
                                            has_rest=len(items) > 1))
    return stats


def _item_statistics(item: ItemInfo, by_pair: dict[tuple[int, int], list[Attempt]], students: list[int],
                     ranking: list[int], first_totals: dict[int, float], opened: dict[tuple[int, int], datetime],
                     scoring: str, *, has_rest: bool) -> ItemStatistics:
    most = item.points
    takers = [uid for uid in students if by_pair.get((uid, item.id))]

    def frac(p: float) -> float:
        return p / most if most > 0 else 0.0

    tries = {uid: by_pair[(uid, item.id)] for uid in takers}
    counted = [frac(_counted(tries[uid], scoring).points) for uid in takers]
    firsts = [tries[uid][0].points for uid in takers]
    # the rest of the set on first attempts: the student's first-attempt total less this exercise's
    others = [first_totals[uid] - tries[uid][0].points for uid in takers]
    facility, first_sd, discrimination, efficiency = item_analysis(firsts, others, most, has_rest=has_rest)
    numbers: dict[int, list[float]] = defaultdict(list)
    for uid in takers:
        for a in tries[uid]:
            numbers[a.attempt].append(frac(a.points))
    used = [len(tries[uid]) for uid in takers]
    counted_by_user = {uid: frac(_counted(tries[uid], scoring).points) for uid in takers}
    quintiles, why = fifths([counted_by_user.get(uid, 0.0) for uid in ranking])
    waits = [max(0.0, (tries[uid][0].created_at - opened[(uid, item.id)]).total_seconds())
             for uid in takers if (uid, item.id) in opened]
    return ItemStatistics(
        item=item, scores=descriptives(counted), first_mean=mean([frac(p) for p in firsts]),
        best_mean=mean([frac(max(a.points for a in tries[uid])) for uid in takers]),
        last_mean=mean([frac(tries[uid][-1].points) for uid in takers]),
        by_attempt=[ByAttempt(k, len(v), math.fsum(v) / len(v)) for k, v in sorted(numbers.items())],
        attempts_mean=mean(used), attempts_median=median(used), attempts_max=max(used, default=0),
        facility=facility, first_sd=first_sd, discrimination=discrimination, efficiency=efficiency,
        quintiles=quintiles, quintiles_why=why, time_to_first=durations(waits, len(takers) - len(waits)))
