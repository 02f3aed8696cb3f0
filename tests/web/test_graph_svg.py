"""The SVG graph of a variant: structure, values, accessibility, layout and what it must never show."""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from grader.exercises import load_catalogue, make_variant, parse_exercise
from grader.web.graph_svg import fmt_array, fmt_shape, layout_graph, render_graph

SVG = "{http://www.w3.org/2000/svg}"
CATALOGUE = load_catalogue(Path(__file__).resolve().parents[2] / "exercises")
SEEDS = (1, 2, 7)
CASES = [(eid, seed) for eid in sorted(CATALOGUE) for seed in SEEDS]


def render(eid: str, seed: int = 1, **kwargs) -> tuple[str, ET.Element]:
    exercise = CATALOGUE[eid]
    svg = render_graph(exercise, make_variant(exercise, seed), **kwargs)
    return svg, ET.fromstring(svg)


def node_groups(root: ET.Element) -> dict[str, ET.Element]:
    groups = [g for g in root.iter(f"{SVG}g") if "node" in g.get("class", "").split()]
    names = [g.get("data-node") for g in groups]
    assert len(names) == len(set(names)), "a node is drawn twice"
    return dict(zip(names, groups, strict=True))


def edge_groups(root: ET.Element) -> list[ET.Element]:
    return [g for g in root.iter(f"{SVG}g") if "edge" in g.get("class", "").split()]


def edge_label(root: ET.Element, source: str, target: str | None) -> str:
    """The value written on the edge source -> target (target None: the stub out of a sink)."""
    for g in edge_groups(root):
        if g.get("data-from") == source and g.get("data-to") == target:
            return g.find(f"{SVG}text").text
    raise AssertionError(f"no edge {source} -> {target}")


def all_text(root: ET.Element) -> str:
    """Everything a reader or a screen reader can get at: text, titles and aria-labels."""
    parts = ["".join(el.itertext()) for el in root.iter()]
    parts += [el.get("aria-label", "") for el in root.iter()]
    return "\n".join(parts)


# --- structure and accessibility ----------------------------------------------------------------------

@pytest.mark.parametrize(("eid", "seed"), CASES)
def test_one_focusable_node_per_tensor_and_gate(eid: str, seed: int) -> None:
    exercise = CATALOGUE[eid]
    variant = make_variant(exercise, seed)
    _, root = render(eid, seed)
    groups = node_groups(root)
    assert len(groups) == len(variant.leaves) + len(exercise.graph.steps)
    assert set(groups) == set(exercise.graph.nodes())
    for name, g in groups.items():
        shape = fmt_shape(np.shape(variant.solution.values[name]))
        assert g.get("tabindex") == "0"
        assert g.get("role") in ("img", "group")
        assert g.get("aria-label").startswith(f"{name}: ")
        assert f"shape {shape}" in g.get("aria-label")
        assert g.find(f"{SVG}title").text == g.get("aria-label")  # the hover tooltip says the same
        hover = [t for t in g.iter(f"{SVG}text") if t.get("class") == "shape"]
        assert [t.text for t in hover] == [f"{name}: {shape}"]


@pytest.mark.parametrize(("eid", "seed"), CASES)
def test_every_gate_input_is_an_edge_and_every_sink_has_a_stub(eid: str, seed: int) -> None:
    exercise = CATALOGUE[eid]
    _, root = render(eid, seed)
    edges = {(g.get("data-from"), g.get("data-to")) for g in edge_groups(root)}
    wanted = {(a, s.name) for s in exercise.graph.steps for a in s.args}
    consumed = {a for s in exercise.graph.steps for a in s.args}
    wanted |= {(n, None) for n in exercise.graph.nodes() if n not in consumed}
    assert edges == wanted


def test_the_svg_scales_and_carries_its_own_scoped_style() -> None:
    svg, root = render("seed-two-layer-w1-22")
    assert root.get("width") == "100%"
    assert root.get("preserveAspectRatio") == "xMidYMid meet"
    assert re.fullmatch(r"0 0 [\d.]+ [\d.]+", root.get("viewBox"))
    style = root.find(f"{SVG}style").text
    assert "#g .node:hover .shape, #g .node:focus .shape { visibility: visible; }" in style
    assert "#g .node:focus .ring" in style  # a visible focus indicator
    assert root.find(f"{SVG}defs/{SVG}marker").get("id") == "g-arrow"


def test_ids_take_the_prefix_so_two_graphs_can_share_a_page() -> None:
    svg, root = render("seed-two-layer-w1-22", id_prefix="ex-3")
    assert root.get("id") == "ex-3"
    assert 'url(#ex-3-arrow)' in svg and "#ex-3 .node" in svg and 'id="g-' not in svg
    with pytest.raises(ValueError):
        render("seed-two-layer-w1-22", id_prefix='x" onload="alert(1)')


@pytest.mark.parametrize(("eid", "seed"), CASES)
def test_same_input_gives_byte_identical_output(eid: str, seed: int) -> None:
    exercise = CATALOGUE[eid]
    first = render_graph(exercise, make_variant(exercise, seed), highlight=["L"])
    again = render_graph(exercise, make_variant(exercise, seed), highlight=["L"])
    assert first == again


# --- values -------------------------------------------------------------------------------------------

def test_seed_two_layer_shows_the_forward_pass_of_the_notes_on_the_right_edges() -> None:
    _, root = render("seed-two-layer-w1-22")
    assert edge_label(root, "x", "z1") == "[[0.1, 0.2]]"
    assert edge_label(root, "W1", "z1") == "[[0.3, 0.4], [0.5, 0.6]]"
    assert edge_label(root, "z1", "h1") == "[[0.13, 0.16]]"
    assert edge_label(root, "h1", "z2") == "[[0.5325, 0.5399]]"
    assert edge_label(root, "W2", "z2") == "[[0.7], [0.8]]"
    assert edge_label(root, "out", "L") == "[[0.691]]"
    assert edge_label(root, "y", "L") == "[[1]]"
    assert edge_label(root, "L", None) == "0.04775"
    aria = node_groups(root)["W1"].get("aria-label")
    assert aria == "W1: parameter, shape 2×2, value [[0.3, 0.4], [0.5, 0.6]]"
    assert "matmul gate, z1 = matmul(x, W1), shape 1×2" in node_groups(root)["z1"].get("aria-label")


def test_large_arrays_are_written_as_their_shape_with_the_value_in_the_tooltip() -> None:
    _, root = render("seed-three-layer-matrix")
    edge = next(g for g in edge_groups(root) if g.get("data-from") == "W1")
    label = edge.find(f"{SVG}text")
    assert label.text == "3×3"
    assert label.find(f"{SVG}title").text == "W1 = [[0.3, 0.9, 0.5], [0.8, 0.1, 0.5], [0.8, 0.2, 0.7]]"


def test_number_formats() -> None:
    assert fmt_array(np.array(0.532487)) == "0.5325"
    assert fmt_array(np.array(-0.0)) == "0"
    assert fmt_array(np.array([[0.13, 0.16]])) == "[[0.13, 0.16]]"
    assert fmt_shape((3, 2)) == "3×2" and fmt_shape(()) == "scalar"


VALUE_ASKS = [(eid, seed) for eid, seed in CASES if any(a.kind == "value" for a in CATALOGUE[eid].asks)]


@pytest.mark.parametrize(("eid", "seed"), VALUE_ASKS)
def test_a_value_that_is_asked_for_is_never_printed(eid: str, seed: int) -> None:
    exercise = CATALOGUE[eid]
    variant = make_variant(exercise, seed)
    _, root = render(eid, seed)
    text = all_text(root)
    for ask in (a for a in exercise.asks if a.kind == "value"):
        for g in edge_groups(root):
            if g.get("data-from") == ask.node:
                assert g.find(f"{SVG}text").text == "?"
        assert "value not shown" in node_groups(root)[ask.node].get("aria-label")
        value = variant.solution.values[ask.node]
        for digits in (4, 6):
            assert fmt_array(value, digits) not in text
            for entry in np.ravel(value):
                assert fmt_array(np.array(entry), digits) not in text


def test_what_would_give_a_value_away_is_hidden_too() -> None:
    """tanh-bias-mse asks for `out = identity(z2)`: z2 *is* out, and L = mse(out, y) can be inverted."""
    _, root = render("tanh-bias-mse")
    assert edge_label(root, "z2", "out") == "?"
    assert edge_label(root, "L", None) == "?"
    assert edge_label(root, "a2", "z2") != "?"  # the forward pass up to there is shown, as in the notes
    _, root = render("two-layer-random")
    assert edge_label(root, "out", "L") == "?" and edge_label(root, "L", None) == "?"
    assert edge_label(root, "z2", "out") != "?"


NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[-+]\d+)?")


@pytest.mark.parametrize(("eid", "seed"), CASES)
def test_gradients_are_never_shown(eid: str, seed: int) -> None:
    """No asked gradient (or local gradient, or Jacobian) entry is written anywhere, unless the same number
    is also a forward value or a given upstream gradient (an add gate passes it on unchanged: that is the
    lesson), or a one-digit number that shapes and options print too ("2×2", "α=0.1")."""
    exercise = CATALOGUE[eid]
    variant = make_variant(exercise, seed)
    _, root = render(eid, seed)
    on_page = set(NUMBER.findall(all_text(root)))
    given = [*variant.solution.values.values(), *(variant.upstream or {}).values()]
    forward = {fmt_array(np.array(v), d) for x in given for v in np.ravel(x) for d in (4, 6)}
    for ask in (a for a in exercise.asks if a.kind != "value"):
        for entry in np.ravel(variant.expected(ask)):
            for digits in (4, 6):
                number = fmt_array(np.array(entry), digits)
                significant = number.lstrip("-").split("e")[0].replace(".", "").strip("0")
                if number not in forward and len(significant) >= 2:
                    assert number not in on_page, f"{ask.kind} {ask.node} = {number} is on the page"


def test_upstream_nodes_are_marked() -> None:
    _, root = render("gate-sigmoid")
    h = node_groups(root)["h"]
    assert "upstream" in h.get("class").split()
    variant = make_variant(CATALOGUE["gate-sigmoid"], 1)  # render()'s default seed
    assert f"upstream gradient dL/dh = {fmt_array(variant.upstream['h'], 6)} is given" in h.get("aria-label")
    assert "upstream" not in node_groups(root)["z"].get("class").split()


# --- highlight ----------------------------------------------------------------------------------------

def test_highlight_marks_exactly_the_named_gate() -> None:
    _, root = render("seed-two-layer-w1-22", highlight=["h1", "no-such-node"])
    groups = node_groups(root)
    marked = [n for n, g in groups.items() if "highlight" in g.get("class").split()]
    assert marked == ["h1"]
    assert groups["h1"].get("aria-label").endswith("(mistake here)")
    assert not groups["z1"].get("aria-label").endswith("(mistake here)")


# --- layout -------------------------------------------------------------------------------------------

def overlaps(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@pytest.mark.parametrize(("eid", "seed"), CASES)
def test_no_two_nodes_overlap_and_everything_is_inside_the_view_box(eid: str, seed: int) -> None:
    exercise = CATALOGUE[eid]
    layout = layout_graph(exercise, make_variant(exercise, seed))
    boxes = {name: node.box for name, node in layout.nodes.items()}
    for (m, a), (n, b) in itertools.combinations(boxes.items(), 2):
        assert not overlaps(a, b), f"{m} {a} overlaps {n} {b}"
    for left, top, right, bottom in boxes.values():
        assert left >= 0 and right <= layout.width and top >= 0 and bottom <= layout.height
    for e in layout.edges:
        assert all(0 <= x <= layout.width for x in e.points[::2])


@pytest.mark.parametrize(("eid", "seed"), CASES)
def test_flow_is_left_to_right_with_weights_next_to_their_gate(eid: str, seed: int) -> None:
    exercise = CATALOGUE[eid]
    layout = layout_graph(exercise, make_variant(exercise, seed))
    nodes = layout.nodes
    for e in layout.edges:
        if e.target is not None:
            assert nodes[e.source].column < nodes[e.target].column
            assert e.points[0] < e.points[2]
    for leaf in exercise.graph.leaf_shapes:
        first_user = min(nodes[s.name].column for s in exercise.graph.steps if leaf in s.args)
        assert nodes[leaf].column == first_user - 1
    assert nodes[exercise.graph.output].column == max(n.column for n in nodes.values())


def test_the_notes_layout_of_the_two_layer_network() -> None:
    exercise = CATALOGUE["seed-two-layer-w1-22"]
    nodes = layout_graph(exercise, make_variant(exercise, 1)).nodes
    columns = {name: n.column for name, n in nodes.items()}
    assert columns == {"x": 0, "W1": 0, "z1": 1, "h1": 2, "W2": 2, "z2": 3, "out": 4, "y": 4, "L": 5}
    assert nodes["x"].y < nodes["W1"].y and nodes["h1"].y < nodes["W2"].y  # argument order, top to bottom
    spine = [nodes[n].y for n in ("z1", "h1", "z2", "out")]
    assert max(spine) - min(spine) < 30  # the chain of gates is (nearly) a straight line


# --- escaping -----------------------------------------------------------------------------------------

def test_text_from_definitions_is_escaped() -> None:
    title = 'Tricky <script>alert("x")</script> & \'quotes\' ]]>'
    exercise = parse_exercise({
        "id": "tricky", "title": title, "kind": "numeric", "prompt": "p",
        "inputs": {"_x": {"shape": [], "value": 0.5}},
        "params": {"W__1": {"shape": [], "value": 2.0}},
        "graph": ["_ = mul(W__1, _x)", "L = sigmoid(_)"],
        "ask": [{"grad": "W__1"}],
    })
    svg = render_graph(exercise, make_variant(exercise, 1), highlight=["_"])
    root = ET.fromstring(svg)
    assert "<script>" not in svg
    assert root.find(f"{SVG}title").text.startswith(f"Computational graph of {title}: ")
    groups = node_groups(root)
    assert set(groups) == {"_x", "W__1", "_", "L"}
    assert groups["_"].get("aria-label") == "_: mul gate, _ = mul(W__1, _x), shape scalar, value 1 (mistake here)"


# --- contrast -----------------------------------------------------------------------------------------

def luminance(hex_colour: str) -> float:
    def channel(c: int) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_text_meets_wcag_aa_contrast_on_every_fill() -> None:
    """Every text colour of the style against every background it can sit on (node fills, the white page
    and the white halo behind edge labels): at least 4.5:1. Lines and outlines: at least 3:1."""
    _, root = render("seed-two-layer-w1-22")
    rules = re.findall(r"([^{}]+)\{([^{}]*)\}", root.find(f"{SVG}style").text)
    fills = {sel.strip(): m.group(1) for sel, body in rules if (m := re.search(r"fill: (#[0-9a-f]{6})", body))}
    strokes = set(re.findall(r"stroke: (#[0-9a-f]{6})", "".join(body for _, body in rules))) - {"#ffffff"}
    backgrounds = [c for sel, c in fills.items() if "shape-fill" in sel or sel.endswith(".bg")]
    texts = [c for sel, c in fills.items() if any(k in sel for k in (".label", ".value", ".caption", ".shape "))]
    assert len(backgrounds) >= 6 and len(texts) >= 4 and len(strokes) >= 5
    for text, background in itertools.product(texts, backgrounds):
        assert contrast(text, background) >= 4.5, (text, background)
    for stroke in strokes:
        assert contrast(stroke, "#ffffff") >= 3.0, stroke
