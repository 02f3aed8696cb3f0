"""Loading definitions from YAML files and the built-in catalogue (`exercises/`)."""

from __future__ import annotations

from pathlib import Path

import yaml

from grader.exercises.definition import DefinitionError, Exercise, parse_exercise


def load_file(path: str | Path) -> Exercise:
    """One YAML definition; DefinitionError (with the file name) if it cannot be read or is invalid."""
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DefinitionError([f"(file): cannot read: {exc.strerror}"], str(path)) from None
    except UnicodeDecodeError as exc:
        raise DefinitionError([f"(file): cannot read: not UTF-8 text (byte {exc.start})"], str(path)) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
        raise DefinitionError([f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}"], str(path)) from None
    exercise = parse_exercise(document, str(path))
    if exercise.id != path.stem:
        raise DefinitionError([f"id: '{exercise.id}' should match the file name '{path.stem}'"], str(path))
    return exercise


# Parsed catalogues by directory and the (name, mtime, size) of its files: importing the catalogue again (the
# admin's job, the demo, every test world) costs only the database writes while no file has changed.
_loaded: dict[tuple[str, tuple[tuple[str, int, int], ...]], dict[str, Exercise]] = {}


def load_catalogue(directory: str | Path) -> dict[str, Exercise]:
    """Every `*.yaml` in a directory by id; DefinitionError listing the problems of every bad file."""
    paths = sorted(Path(directory).glob("*.yaml"))
    try:
        key = (str(Path(directory).resolve()),
               tuple((p.name, (st := p.stat()).st_mtime_ns, st.st_size) for p in paths))
    except OSError:  # a file went away meanwhile: read what is there (load_file says what is wrong)
        key = None
    if key in _loaded:
        return dict(_loaded[key])
    exercises, errors = {}, []
    for path in paths:
        try:
            exercise = load_file(path)
        except DefinitionError as exc:
            errors += [f"{path}: {e}" for e in exc.errors]
            continue
        exercises[exercise.id] = exercise
    if errors:
        raise DefinitionError(errors)
    if key is not None:
        _loaded.clear()  # one catalogue is current; an edited file makes a new key
        _loaded[key] = exercises
    return dict(exercises)


def find(name: str, directory: str | Path) -> Exercise:
    """An exercise by file path, or by id in the catalogue directory."""
    path = Path(name)
    if path.suffix in (".yaml", ".yml") or path.exists():
        return load_file(path)
    candidate = Path(directory) / f"{name}.yaml"
    if not candidate.exists():
        known = sorted(p.stem for p in Path(directory).glob("*.yaml"))
        from grader.engine.graph import suggest

        raise DefinitionError([f"(id): no exercise '{name}' in the catalogue{suggest(name, known)}"])
    return load_file(candidate)
