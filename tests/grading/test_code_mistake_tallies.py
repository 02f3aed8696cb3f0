"""Mistake tallies of a code exercise: a simulated class of relu_backward functions from the code corpus, graded
by the real code grader in the sandbox, gives back the injected mistakes at the shares injected, under the code
grader's own mistake names (grader/grading/code_mistakes.py), counted once per submission.

The class: 10 students, each graded on a seed of their own (their test cases differ); 3 zero the wrong side of
ReLU, 2 return the mask without the upstream gradient, 5 are right. The store is left out (the tallies read
only the stored feedback, which is `GradeResult.to_dict()`): the service-level tests do the rest.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from grader.exercises import load_catalogue
from grader.grading.code import grade_code
from grader.service.statistics import ItemInfo
from grader.service.tallies import Answered, drill_down, item_tally
from tests.grading.code_corpus import BY_NAME
from tests.grading.test_code_diagnosis_table import ROOT

EXERCISE = "code-relu-backward"
CLASS = ["relu_zeroes_the_wrong_side"] * 3 + ["relu_mask_only"] * 2 + ["relu_mask_product"] * 5


@pytest.fixture(scope="module")
def submissions(pool) -> list[Answered]:
    exercise = load_catalogue(ROOT / "exercises")[EXERCISE]
    graded = []
    for uid, name in enumerate(CLASS, start=1):
        result = grade_code(exercise, 100 + uid, BY_NAME[name].code, pool=pool, attempt=1)
        assert result.status == "graded"
        graded.append(Answered(uid, uid, 1, datetime(2026, 1, 1), result.score, "code", result.to_dict()))
    return graded


def test_the_code_mistakes_come_back_at_their_shares(submissions):
    tally = item_tally(ItemInfo(1, EXERCISE, "ReLU backward", "code", 1.0), submissions)
    counts = {}
    for row in tally.rows:
        counts[row.mistake] = counts.get(row.mistake, set()) | row.first_students
    wrong_side, mask_only = BY_NAME["relu_zeroes_the_wrong_side"].mistake, BY_NAME["relu_mask_only"].mistake
    assert {m: len(s) for m, s in counts.items()} == {wrong_side: 3, mask_only: 2}
    row = next(r for r in tally.rows if r.mistake == wrong_side)
    assert tally.first_share(row) == 0.3 and len(row.submissions) == 3  # once per submission, not per test
    assert row.quantity.key == "grad(z)"  # the output the diagnosis names: the function returns dL/dz
    found = drill_down(submissions, row.quantity.key, wrong_side)
    assert sorted(found) == [1, 2, 3]
