"""Write catalogue graphs to artifacts/graphs/ as SVG and, with headless Chromium, as PNG, to look at.

    .venv/bin/python -m tests.web.render_artifacts [exercise-id ...]

The PNGs are for a person's eyes (is the graph legible, does it look like the notes?); the tests check the
structure. artifacts/ is git-ignored.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from grader.exercises import load_catalogue, make_variant
from grader.web.graph_svg import layout_graph, render_graph

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "artifacts" / "graphs"
DEFAULT = ["seed-two-layer-w1-22", "seed-three-layer-matrix"]
PAGE = """<!doctype html><meta charset="utf-8"><title>{id}</title>
<body style="margin:16px;background:#f3f4f6"><div style="width:{w}px;background:#fff">{svg}</div></body>"""


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def render(exercise_id: str, *, seed: int = 1, highlight: tuple[str, ...] = (), width: int | None = None,
           suffix: str = "") -> Path:
    """The SVG and an HTML page embedding it; the PNG next to them when Chromium is installed."""
    exercise = load_catalogue(ROOT / "exercises")[exercise_id]
    variant = make_variant(exercise, seed)
    svg = render_graph(exercise, variant, highlight=highlight)
    layout = layout_graph(exercise, variant)
    w = width or int(layout.width)
    OUT.mkdir(parents=True, exist_ok=True)
    stem = OUT / f"{exercise_id}{suffix}"
    stem.with_suffix(".svg").write_text(svg, encoding="utf-8")
    html = stem.with_suffix(".html")
    html.write_text(PAGE.format(id=exercise_id, w=w, svg=svg), encoding="utf-8")
    browser = chromium()
    if browser:
        png = stem.with_suffix(".png")
        height = int(layout.height * w / layout.width) + 40
        subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        f"--screenshot={png}", f"--window-size={w + 40},{height}", html.as_uri()],
                       check=True, capture_output=True, timeout=60)
        return png
    return stem.with_suffix(".svg")


def main(ids: list[str]) -> None:
    for exercise_id in ids or DEFAULT:
        print(render(exercise_id))
    if not ids:
        print(render("seed-two-layer-w1-22", highlight=("h1",), suffix="-highlight"))
        print(render("seed-three-layer-matrix", width=375, suffix="-phone"))


if __name__ == "__main__":
    main(sys.argv[1:])
