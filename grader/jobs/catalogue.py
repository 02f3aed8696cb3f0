"""Job kinds: importing a catalogue (a directory of definition files) with progress per file.

    catalogue_import {"path": "<file or directory>"}   every file validated first (one invalid: nothing stored,
                                                       the problems are the job's errors), then each saved,
                                                       one step per file: created, new version or unchanged
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from grader.authoring import save_exercise
from grader.exercises import DefinitionError, DegenerateVariantError, load_file, make_variant
from grader.jobs.progress import Progress, runner

VALIDATION_SEEDS = 20  # as `flask exercises import` checks them


@runner("catalogue_import")
def import_catalogue(params: dict[str, Any], progress: Progress) -> dict[str, Any]:
    path = Path(params["path"])
    files = sorted(path.glob("*.yaml")) if path.is_dir() else [path] if path.is_file() else []
    if not files:
        progress.fail([f"no exercise files (*.yaml) at {path}"])
    progress.set_total(len(files))
    loaded, problems = [], []
    for file in files:
        try:
            exercise = load_file(file)
            for seed in range(VALIDATION_SEEDS):
                make_variant(exercise, seed)
            loaded.append(exercise)
        except DefinitionError as exc:
            problems += [f"{file}: {line}" for line in exc.errors]
        except DegenerateVariantError as exc:
            problems.append(f"{file}: random rules: {exc}")
    if problems:
        progress.fail(problems + [f"{len(files) - len(loaded)} invalid file(s) of {len(files)}; nothing imported"])
    outcomes: Counter[str] = Counter()
    for exercise in loaded:
        row, changed = save_exercise(exercise.document)
        outcome = "unchanged" if not changed else "created" if row.current_version == 1 else "new version"
        outcomes[outcome] += 1
        progress.step(f"{row.slug}: {outcome}")  # commits this definition with the step
    return dict(outcomes)
