"""Flask CLI commands (`flask --app wsgi ...`)."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from grader.exercises import DefinitionError, DegenerateVariantError, find, load_file, make_variant, solve
from grader.exercises.solve import worked_text
from grader.grading.numeric import grade_answers

exercises_cli = AppGroup("exercises", help="Validate, solve and grade exercise definitions.")

VALIDATION_SEEDS = 20  # a definition whose first seeds are all degenerate is as good as broken


def _catalogue_dir() -> Path:
    return Path(current_app.config["EXERCISES_DIR"])


@exercises_cli.command("validate")
@click.argument("paths", nargs=-1, type=click.Path())
def validate_command(paths: tuple[str, ...]) -> None:
    """Validate definition files (default: the whole catalogue); exit 1 on any bad file."""
    files = [Path(p) for p in paths] or sorted(_catalogue_dir().glob("*.yaml"))
    if not files:
        raise click.ClickException(f"no exercise files found in {_catalogue_dir()}")
    bad = 0
    for path in files:
        try:
            exercise = load_file(path)
            for seed in range(VALIDATION_SEEDS):
                make_variant(exercise, seed)
        except DefinitionError as exc:
            bad += 1
            for line in exc.errors:
                click.echo(f"{path}: {line}", err=True)
        except DegenerateVariantError as exc:
            bad += 1
            click.echo(f"{path}: random rules: {exc}", err=True)
        else:
            click.echo(f"ok  {path}  ({exercise.id}, {exercise.kind})")
    click.echo(f"{len(files) - bad} valid, {bad} invalid")
    if bad:
        raise SystemExit(1)


@exercises_cli.command("solve")
@click.argument("exercise")
@click.option("--seed", type=int, default=0, show_default=True, help="The variant's seed.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a readable worked solution.")
def solve_command(exercise: str, seed: int, as_json: bool) -> None:
    """Solve FILE_OR_ID for one seed: values, gradients, step trace and answers."""
    try:
        loaded = find(exercise, _catalogue_dir())
        output = json.dumps(solve(loaded, seed)) if as_json else worked_text(loaded, seed)
    except (DefinitionError, DegenerateVariantError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(output)


@exercises_cli.command("grade")
@click.argument("exercise")
@click.option("--seed", type=int, default=0, show_default=True, help="The variant's seed.")
@click.option("--answers", "answers_json", help='JSON mapping ask index or label to an answer, e.g. {"0": "-0.0026"}.')
@click.option("--json", "as_json", is_flag=True, help="Print the result structure as JSON.")
def grade_command(exercise: str, seed: int, answers_json: str | None, as_json: bool) -> None:
    """Grade answers to FILE_OR_ID for one seed (the expected answers are shown: this is an instructor tool)."""
    try:
        loaded = find(exercise, _catalogue_dir())
        variant = make_variant(loaded, seed)
    except (DefinitionError, DegenerateVariantError) as exc:
        raise click.ClickException(str(exc)) from None
    try:
        answers = json.loads(answers_json or "")
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not JSON: {exc.msg} at character {exc.pos}", param_hint="--answers") from None
    if not isinstance(answers, dict):
        raise click.BadParameter("expected a JSON object mapping ask index or label to an answer",
                                 param_hint="--answers")
    result = grade_answers(variant, answers, reveal=True)
    if as_json:
        click.echo(json.dumps(result.to_dict()))
        return
    click.echo(f"{loaded.title} (seed {seed}): {result.message}  Tolerance: {result.tolerance}.")
    for part in result.parts:
        click.echo(f"  [{part.status}] {part.label}: {part.message}")


def init_app(app: Flask) -> None:
    """Register the command groups."""
    app.cli.add_command(exercises_cli)
