"""Question tests (grader.grading.question_tests): every catalogue exercise passes its own on 100 seeds (the
report as a table in artifacts/question-tests.md), and a definition whose tests should fail does fail: a wrong
reference solution, a listed wrong solution that passes, a wrong solution named as another mistake."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from grader.exercises import load_catalogue, parse_exercise
from grader.grading.question_tests import NAMED_MIN, run_question_tests

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = load_catalogue(ROOT / "exercises")
SEEDS = range(100)


@pytest.fixture(scope="module")
def reports(pool):
    reports = {slug: run_question_tests(exercise, SEEDS, pool=pool) for slug, exercise in sorted(CATALOGUE.items())}
    lines = ["# Question tests of the catalogue: 100 seeds each", "",
             "| exercise | passed | reference at 100% | degenerate first draws | mistakes (named / cases) "
             "| code checks |",
             "|---|---|---|---|---|---|"]
    for slug, report in reports.items():
        mistakes = ", ".join(f"{m.mistake} {m.named}/{m.cases}" for m in report.mistakes) or "–"
        code = ", ".join(f"{c.what}: {'ok' if c.passed else 'FAIL'}" for c in report.code) or "–"
        lines.append(f"| {slug} | {'yes' if report.passed else 'NO'} | "
                     f"{report.seeds - len(report.reference_failures)}/{report.seeds} | "
                     f"{report.degenerate_rate:.0%} | {mistakes} | {code} |")
    text = "\n".join(lines) + "\n"
    print("\n" + text)
    (ROOT / "artifacts").mkdir(exist_ok=True)
    (ROOT / "artifacts" / "question-tests.md").write_text(text, encoding="utf-8")
    return reports


@pytest.mark.parametrize("slug", sorted(CATALOGUE))
def test_every_catalogue_exercise_passes_its_question_tests(reports, slug):
    report = reports[slug]
    assert report.passed, report.failures
    assert report.seeds == 100 and not report.reference_failures
    if CATALOGUE[slug].kind == "numeric":
        assert report.mistakes, "a numeric exercise without a single diagnosable mistake tests nothing"
        assert all(m.share >= NAMED_MIN for m in report.mistakes)
    else:
        assert {c.what for c in report.code} >= {"starter", "solution", "wrong 1"}


def _code_variant(slug: str, **function: object):
    document = copy.deepcopy(CATALOGUE[slug].document)
    document["id"] = f"{slug}-variant"
    document["function"].update(function)
    return parse_exercise(document)


def test_a_wrong_reference_solution_fails_the_tests(pool):
    exercise = _code_variant("code-relu-backward", solution="def relu_backward(dout, z):\n    return dout * (z >= 0)\n")
    report = run_question_tests(exercise, range(3), pool=pool)
    assert not report.passed
    assert any(f.startswith("solution: expected to pass every test") for f in report.failures), report.failures


def test_a_listed_wrong_solution_that_passes_fails_the_tests(pool):
    right = "def relu_backward(dout, z):\n    return dout * (z > 0)\n"
    exercise = _code_variant("code-relu-backward", wrong=[{"code": right, "expect": "forgot_local_grad"}])
    report = run_question_tests(exercise, range(3), pool=pool)
    assert not report.passed
    assert any("wrong 1" in f and "scored 100%" in f for f in report.failures), report.failures


def test_a_wrong_solution_named_as_another_mistake_fails_the_tests(pool):
    wrong = "def relu_backward(dout, z):\n    return dout * (z < 0)\n"  # the wrong side, not a forgotten gradient
    exercise = _code_variant("code-relu-backward", wrong=[{"code": wrong, "expect": "forgot_local_grad"}])
    report = run_question_tests(exercise, range(3), pool=pool)
    assert not report.passed
    assert any("named forgot_local_grad" in f for f in report.failures), report.failures


def test_a_starter_that_already_passes_fails_the_tests(pool):
    solution = "def relu_backward(dout, z):\n    return dout * (z > 0)\n"
    exercise = _code_variant("code-relu-backward", starter=solution, solution=solution)
    report = run_question_tests(exercise, range(2), pool=pool)
    assert not report.passed
    assert any(f.startswith("starter: expected to fail") for f in report.failures), report.failures
