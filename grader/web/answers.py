"""The answer form of a numeric exercise and the texts around it: the prompt as HTML (math left for KaTeX),
ask labels, one box, grid or paste box per ask filled back from a submission, and reading the form back into
the `answers` grader.service.submit takes."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from markdown_it import MarkdownIt
from markupsafe import Markup, escape

from grader import exercises as definitions

GRID_MAX_ENTRIES = 100  # larger answers get only the paste box (a wall of boxes helps nobody)

_markdown = MarkdownIt("commonmark", {"html": False})  # raw HTML in a prompt is shown as text, never run
# $$display$$ first, then $inline$ (may wrap lines, as prompts do); \$ is a literal dollar.
_MATH = re.compile(r"\$\$(.+?)\$\$|(?<![\\$])\$(?!\$)((?:\\.|[^$\\])+?)\$", re.DOTALL)


def render_prompt(text: str) -> Markup:
    """Markdown to HTML with the math left intact for KaTeX's auto-render in the browser.

    Markdown would eat `\\\\` line breaks, `\\{` and turn `_..._` into emphasis inside formulas, so math spans
    are swapped for inert placeholders before rendering and put back (HTML-escaped, delimiters kept) after."""
    spans: list[str] = []

    def stash(match: re.Match[str]) -> str:
        spans.append(match.group(0))
        return f"\ue000{len(spans) - 1}\ue001"

    def unstash(match: re.Match[str]) -> str:
        n = int(match.group(1))
        return str(escape(spans[n])) if n < len(spans) else ""

    text = re.sub("[\ue000-\ue002]", "", text)
    # A literal dollar (\$) outside math: markdown would unescape it to a bare $ that KaTeX then pairs with the
    # next one; in a span of its own it is a text node KaTeX never pairs.
    html = _markdown.render(_MATH.sub(stash, text).replace("\\$", "\ue002"))
    html = re.sub("\ue000(\\d+)\ue001", unstash, html).replace("\ue002", '<span class="dollar">$</span>')
    return Markup(html)  # markdown-it escaped the text, the math was escaped above


_D_OVER_D = re.compile(r"^d(\w+?)/d([A-Za-z]+\d*)(?:_(\d+))?$")


def label_tex(label: str) -> str:
    """An ask's label as KaTeX input: "dL/dW1_22" -> "\\partial L/\\partial W1_{22}"; a label that is already
    TeX (the default labels) is kept; anything else is shown as plain text (returned without $...$)."""
    match = _D_OVER_D.match(label)
    if match:
        num, den, sub = match.groups()
        return f"$\\partial {num}/\\partial {den}" + (f"_{{{sub}}}" if sub else "") + "$"
    if "\\" in label:
        return f"${label}$"
    return label


def label_plain(label: str) -> str:
    """A TeX label as readable plain text for aria-labels: "\\partial L / \\partial W1_{22}" -> "∂L / ∂W1_22"."""
    text = re.sub(r"\\text\{([^}]*)\}", r"\1", label).replace("\\partial ", "∂").replace("\\partial", "∂")
    return re.sub(r"[{}\\]", "", text)


def _fmt(x: Any) -> str:
    if x is None:
        return ""
    if isinstance(x, int | float):
        try:
            return repr(float(x))
        except OverflowError:  # an int too large for a float (the API stores answers as sent)
            return str(x)
    return str(x)


# --- answer inputs ---------------------------------------------------------------------------------------

@dataclass
class AskView:
    """One ask as the form shows it, with what was typed and how it was marked (on a submission's page)."""

    index: int
    label: str
    shape: tuple[int, ...]
    input: str  # "scalar", "grid" or "paste"
    rows: int = 1
    cols: int = 1
    value: str = ""  # scalar box
    cells: list[list[str]] = field(default_factory=list)
    marks: list[list[bool | None]] = field(default_factory=list)
    mark: bool | None = None  # scalar
    paste: str = ""
    bad_cell: tuple[int, int] | None = None  # (row, col), 0-based, of the entry a format error points at
    part: dict[str, Any] | None = None
    text: str = ""  # the label as plain text, for aria-labels and history

    @property
    def shape_words(self) -> str:
        if not self.shape or int(np.prod(self.shape)) == 1:
            return "a single number"
        return "×".join(map(str, self.shape)) + (" matrix" if len(self.shape) == 2 else "")


def _grid_dims(shape: tuple[int, ...]) -> tuple[int, int]:
    return (shape[0], shape[1]) if len(shape) == 2 else (1, shape[0])


def ask_views(exercise: definitions.Exercise, variant: definitions.Variant,
              answers: dict[str, Any] | None = None, parts: list[dict[str, Any]] | None = None) -> list[AskView]:
    views = []
    for i, ask in enumerate(exercise.asks):
        shape = tuple(int(n) for n in np.shape(variant.expected(ask)))  # the shape only, never the numbers
        size = int(np.prod(shape)) if shape else 1
        if size == 1:
            kind = "scalar"
        elif len(shape) <= 2 and size <= GRID_MAX_ENTRIES:
            kind = "grid"
        else:
            kind = "paste"
        tex = label_tex(ask.label)
        view = AskView(i, tex, shape, kind, text=label_plain(tex.strip("$")))  # what a screen reader says
        if kind == "grid":
            view.rows, view.cols = _grid_dims(shape)
            view.cells = [[""] * view.cols for _ in range(view.rows)]
            view.marks = [[None] * view.cols for _ in range(view.rows)]
        part = parts[i] if parts and i < len(parts) else None
        view.part = part
        _fill(view, (answers or {}).get(str(i)), part)
        views.append(view)
    return views


def _fill(view: AskView, raw: Any, part: dict[str, Any] | None) -> None:
    """Put a submission's answer back into the boxes: the numbers as read where they were readable (so a
    pasted matrix shows up in the grid with its marks), else the text as typed, in the box it came from."""
    given = part.get("given") if part else None
    marks = part.get("marks") if part else None
    if view.input == "scalar":
        if given is not None and np.size(given):
            view.value = _fmt(np.ravel(given)[0])
            view.mark = bool(np.ravel(marks)[0]) if marks is not None and np.size(marks) else None
        elif isinstance(raw, list):
            flat = np.ravel(np.array(raw, dtype=object)) if raw else []
            view.value = _fmt(flat[0]) if len(flat) else ""
        else:
            view.value = _fmt(raw)
        return
    if view.input == "grid":
        source = given if given is not None else raw
        if isinstance(source, list):
            try:
                cells = np.array(source, dtype=object).reshape(view.rows, view.cols)
                view.cells = [[_fmt(c) for c in row] for row in cells]
            except ValueError:
                view.paste = str(raw)
            if given is not None and marks is not None:
                with contextlib.suppress(ValueError):  # marks of another shape: show the cells unmarked
                    view.marks = np.array(marks, dtype=object).reshape(view.rows, view.cols).tolist()
        elif raw is not None:
            view.paste = str(raw)
        error = part.get("format_error") if part else None
        if error and isinstance(raw, list) and error.get("column"):
            row = (error.get("row") or 1) - 1 if len(view.shape) == 2 else 0
            view.bad_cell = (row, error["column"] - 1)
        return
    view.paste = "" if raw is None else str(raw)


def answers_from_form(views: list[AskView], form: Any) -> dict[str, Any]:
    """{str(i): text or nested list of texts}, as service.submit takes them. Of a grid and its paste box, the
    one the student edited last (`source-i`, kept by the page's script) is sent; without the script a
    non-empty paste box wins, as the page says. A grid is sent as rows of strings, so the reader can say which
    entry it could not read."""
    answers: dict[str, Any] = {}
    for view in views:
        key = str(view.index)
        paste = form.get(f"paste-{view.index}", "").strip()
        use_grid = form.get(f"source-{view.index}") == "grid"
        if view.input == "scalar":
            answers[key] = form.get(f"answer-{view.index}", "")
        elif view.input == "paste" or (paste and not use_grid):
            answers[key] = paste
        else:
            rows = [[form.get(f"answer-{view.index}-{r}-{c}", "").strip() for c in range(view.cols)]
                    for r in range(view.rows)]
            answers[key] = rows if len(view.shape) == 2 else rows[0]
    return answers


def shown_parts(feedback: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The parts of a submission's feedback the page shows. A submission that was not graded (a format error
    somewhere, no attempt used) shows only where it could not be read: marking its other answers would let a
    student check answers for free by leaving one box unreadable on purpose."""
    if not feedback:
        return []
    parts = feedback.get("parts", [])
    if feedback.get("status") == "graded":
        return parts
    return [{"index": p.get("index"), "label": p.get("label"), "status": p.get("status"), "message": "",
             "score": 0.0, "format_error": p.get("format_error"), "diagnosis": None, "expected": None,
             "given": None, "marks": None, "follow_through": False, "details": {}}
            for p in parts]


def part_message(part: dict[str, Any]) -> str:
    """A part's message without what the page shows beside it: its diagnosis (said once, as the likely
    mistake) and a leading "Correct:" (the badge says it)."""
    message = part.get("message") or ""
    diagnosis = part.get("diagnosis") or {}
    if diagnosis.get("message"):
        message = message.replace(diagnosis["message"], "")
    return message.strip().removeprefix("Correct:").strip()
