"""The diagnosis table for code, like the numeric one (test_diagnosis.py): every wrong entry of the code corpus
with a named mistake × seeds 0..19 through the real grader, mistake × exercise → share of its failed tests that
name it; and the false diagnoses on the correct (often unusual) entries, which must be none.

Run with `-s` to see the table; it is also written to artifacts/code-diagnosis-table.md.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from grader.exercises import load_catalogue
from tests.grading.code_corpus import (
    CORRECT,
    ENTRIES,
    EXERCISES,
    MISTAKE_CODES,
    SEEDS,
    WRONG,
    failed_parts,
    grade,
    named,
)

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = load_catalogue(ROOT / "exercises")
CELL_MIN = 0.90  # per mistake × exercise: failed tests naming the mistake
ARTIFACT = ROOT / "artifacts" / "code-diagnosis-table.md"


@dataclass
class Cell:
    failed: int = 0  # failed tests of the entries making this mistake on this exercise
    named: int = 0  # ... whose diagnosis names it
    instead: Counter[str | None] = field(default_factory=Counter)  # what the others were named

    @property
    def share(self) -> float:
        return self.named / self.failed if self.failed else 0.0


@dataclass
class Table:
    cells: dict[tuple[str, str], Cell] = field(default_factory=lambda: defaultdict(Cell))
    unnamed_wrong: dict[str, Counter[str | None]] = field(default_factory=dict)  # entry -> names given
    correct_runs: int = 0
    correct_parts: int = 0
    false_diagnoses: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def table(pool) -> Table:
    table = Table()
    for entry in ENTRIES:
        for seed in SEEDS:
            result = grade(entry, seed, pool, CATALOGUE)
            if entry.verdict == CORRECT:
                table.correct_runs += 1
                table.correct_parts += len(result.parts)
                # getattr: the result-level diagnosis is new in issue 10; test_code_corpus checks that it exists
                found = [f"{p.label}: {p.diagnosis}" for p in result.parts if p.diagnosis is not None]
                if getattr(result, "diagnosis", None) is not None:
                    found.append(f"result: {result.diagnosis}")
                table.false_diagnoses += [f"{entry.name} seed {seed} {f}" for f in found]
                continue
            names = [named(p.diagnosis) for p in failed_parts(result)]
            if entry.mistake is None:
                table.unnamed_wrong.setdefault(entry.name, Counter()).update(names)
                continue
            cell = table.cells[(entry.mistake, entry.exercise)]
            cell.failed += len(names)
            cell.named += names.count(entry.mistake)
            cell.instead.update(n for n in names if n != entry.mistake)
    report = render(table)
    print("\n" + report)
    ARTIFACT.parent.mkdir(exist_ok=True)
    ARTIFACT.write_text(report + "\n", encoding="utf-8")
    return table


def short(exercise_id: str) -> str:
    return exercise_id.removeprefix("code-").removesuffix("-backward")


def render(table: Table) -> str:
    exercises = list(EXERCISES)
    lines = [f"# Diagnosis of code mistakes: the code corpus × {len(SEEDS)} seeds", "",
             "Each cell: the failed tests of the corpus's entries making that mistake on that exercise, and the "
             "share whose diagnosis names it.", "",
             "| mistake | " + " | ".join(short(e) for e in exercises) + " | all |",
             "|---|" + "---|" * (len(exercises) + 1)]
    for code in MISTAKE_CODES:
        row, total = [], Cell()
        for exercise_id in exercises:
            cell = table.cells.get((code, exercise_id))
            if cell is None:
                row.append("")
                continue
            total.failed += cell.failed
            total.named += cell.named
            row.append(f"{cell.share:.0%} ({cell.named}/{cell.failed})" if cell.failed else "never fails")
        row.append(f"{total.share:.0%} ({total.named}/{total.failed})" if total.failed else "no entry")
        lines.append(f"| {code} | " + " | ".join(row) + " |")
    misnamed = {key: cell.instead for key, cell in sorted(table.cells.items()) if cell.instead}
    if misnamed:
        lines += ["", "Failed tests not named as expected (mistake @ exercise: what they were named instead):"]
        lines += [f"- {code} @ {short(ex)}: " + ", ".join(f"{name or 'nothing'} {n}" for name, n in c.most_common())
                  for (code, ex), c in misnamed.items()]
    lines += ["", "Wrong entries that no named mistake explains (what their failed tests were named):"]
    lines += [f"- {name}: " + ", ".join(f"{n or 'nothing'} {k}" for n, k in c.most_common())
              for name, c in sorted(table.unnamed_wrong.items())]
    lines += ["", f"False diagnoses on correct code: {len(table.false_diagnoses)} in {table.correct_parts} tests "
                  f"({table.correct_runs} gradings of {sum(e.verdict == CORRECT for e in ENTRIES)} correct entries)"]
    lines += [f"- {f}" for f in table.false_diagnoses[:10]]
    return "\n".join(lines)


def test_table_covers_every_mistake(table):
    assert {code for code, _ in table.cells} == set(MISTAKE_CODES)
    never_fail = [key for key, cell in table.cells.items() if cell.failed == 0]
    assert never_fail == [], "a mistake that fails no test cannot be diagnosed"
    assert ARTIFACT.read_text(encoding="utf-8").count("\n| ") == len(MISTAKE_CODES) + 1  # header + one row each


def test_each_mistake_and_exercise_named_on_90_percent_of_failed_tests(table):
    low = {f"{code} @ {short(ex)}": f"{cell.named}/{cell.failed}, else {dict(cell.instead)}"
           for (code, ex), cell in table.cells.items() if cell.named < CELL_MIN * cell.failed}
    assert low == {}


def test_no_false_diagnosis_on_correct_code(table):
    assert table.correct_runs == len(SEEDS) * sum(e.verdict == CORRECT for e in ENTRIES)
    assert table.false_diagnoses == []


def test_wrong_entries_without_a_named_mistake_still_fail_tests(table):
    unnamed = [e.name for e in ENTRIES if e.verdict == WRONG and e.mistake is None]
    assert sorted(table.unnamed_wrong) == sorted(unnamed)
    assert all(sum(names.values()) > 0 for names in table.unnamed_wrong.values())
