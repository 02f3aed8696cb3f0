"""Of a matrix's grid and its paste box, the one the student edited last is what is graded (the page's script
says which in source-<ask>); without the script a non-empty paste box wins, as the page says."""

from __future__ import annotations

import numpy as np
import pytest

from grader import exercises as definitions
from grader.models import Submission, db
from tests.service.conftest import assign
from tests.web.conftest import login


def _answers() -> list[np.ndarray]:
    exercise = definitions.load_file("exercises/seed-three-layer-matrix.yaml")
    variant = definitions.make_variant(exercise, 0)  # fixed numbers
    return [variant.expected(ask) for ask in exercise.asks]


def _form(grid_ask_1: np.ndarray, paste_ask_1: np.ndarray, source: str | None) -> dict[str, str]:
    dw1, _, dw3 = _answers()
    data = {"paste-0": str(dw1.tolist()), "paste-2": str(dw3.tolist()), "paste-1": str(paste_ask_1.tolist())}
    data |= {f"answer-1-{r}-{c}": repr(float(v)) for (r, c), v in np.ndenumerate(grid_ask_1)}
    if source is not None:
        data["source-1"] = source
    return data


@pytest.mark.parametrize(("source", "graded"), [("grid", "grid"), ("paste", "paste"), (None, "paste")])
def test_what_was_edited_last_is_graded(client, course, source, graded):
    a = assign(course, "seed-three-layer-matrix")
    login(client)
    dw2 = _answers()[1]
    stale = dw2.copy()
    stale[2, 1] += 1.0  # pasted with a mistake, then corrected in the grid (or the other way round)
    grid, paste = (dw2, stale) if graded == "grid" else (stale, dw2)  # the right one where it must be read
    client.post(f"/assignments/{a.id}", data=_form(grid, paste, source))
    stored = db.session.query(Submission).one()
    part = stored.feedback["parts"][1]
    assert part["status"] == "correct", (source, part["message"])
    assert isinstance(stored.answers["1"], list if graded == "grid" else str)
