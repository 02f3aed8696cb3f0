"""A student's own variant drawn as an SVG computational graph, in the style of the notes.

    svg = render_graph(exercise, variant, highlight=["h1"])     # an <svg> element as a string

One node per leaf tensor (inputs and parameters, as rounded boxes) and one node per gate line: multiply and
add gates as circles ("×", "@", "+", "−"), activations, reductions and the loss as boxes ("σ", "ReLU",
"L = ½Σ(out−y)²"). A gate node stands for the value it computes, so that value is written on the edges that
leave it, as the notes write the forward pass. Nodes nobody consumes (the loss) get a short outgoing stub
to carry their value.

What is never drawn: gradients of any kind (the answers to most exercises), and the value of a node the
exercise asks for as a `value` (shown as "?"), together with every value that would give it away.

The layout is computed here, in pure Python, and is deterministic (same input, byte-identical output):

1. columns: a gate's column is the longest path from the leaves; a leaf sits in the column just before its
   first consumer (so W2 is drawn next to its multiply gate, not far left with x);
2. order within a column: by first use, then by the barycenter of the predecessors (fewer crossings);
3. vertical positions: a few sweeps that pull each node towards the mean height of its neighbours, while a
   column keeps its order and its spacing (an isotonic fit), so chains come out nearly straight.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

import numpy as np

from grader.engine.graph import Step

# --- sizes (SVG user units, ~px at full size) -----------------------------------------------------------
FONT = 14  # node text
VALUE_FONT = 12  # edge labels (monospace)
SMALL_FONT = 12  # gate names under nodes, shapes on hover
SANS_CHAR = 0.62  # estimated width of a character, in em: generous so text never overflows its box
MONO_CHAR = 0.62
RADIUS = 19  # circle gates
BOX_H = 34  # boxes
CAPTION_H = 18  # the gate's name under a node
ROW_GAP = 34  # vertical space between two nodes of a column (room for edge labels and the hover shape)
MIN_COL_GAP = 64
LABEL_PAD = 14  # the straight run out of a node is its value's width plus this
BEND = 56  # room for the curve from that run to the next gate
MARGIN = 28
SWEEPS = 24
GATE_WEIGHT = 10.0  # how much more a gate's position counts than a leaf's
INLINE_ENTRIES = 4  # arrays up to this many entries are written out on the edge; larger ones as a shape

_ID = re.compile(r"^[A-Za-z][\w-]*$")

CIRCLE_SYMBOLS = {"mul": "×", "matmul": "@", "add": "+", "sub": "−"}
BOX_SYMBOLS = {"sigmoid": "σ", "relu": "ReLU", "leaky_relu": "leaky ReLU", "tanh": "tanh", "identity": "id",
               "exp": "exp", "softmax": "softmax", "sum": "Σ", "mean": "mean"}


# --- the laid-out graph -------------------------------------------------------------------------------

@dataclass
class Node:
    name: str
    role: str  # "input", "param" or "gate"
    step: Step | None
    text: str  # drawn inside the node
    circle: bool
    width: float
    height: float
    caption: bool  # the gate's name is written under it
    column: int = 0
    x: float = 0.0  # centre of the drawn shape
    y: float = 0.0

    @property
    def below(self) -> float:
        """How far the node (with its caption) reaches below its centre."""
        return self.height / 2 + (CAPTION_H if self.caption else 0)

    @property
    def box(self) -> tuple[float, float, float, float]:
        """(left, top, right, bottom) of everything drawn for the node: tests check that none overlap."""
        return (self.x - self.width / 2, self.y - self.height / 2, self.x + self.width / 2, self.y + self.below)


@dataclass
class Edge:
    source: str
    target: str | None  # None: a stub out of a node nobody consumes
    slot: int = 0  # which argument of the target
    label: str = ""
    points: tuple[float, float, float, float] = (0, 0, 0, 0)  # x1, y1, x2, y2


@dataclass
class Layout:
    nodes: dict[str, Node]
    edges: list[Edge]
    width: float
    height: float
    columns: list[list[str]] = field(default_factory=list)  # node names, each column top to bottom


# --- values: what is shown, and how -------------------------------------------------------------------

def fmt_number(x: float, digits: int = 4) -> str:
    text = f"{float(x):.{digits}g}"
    return "0" if text == "-0" else text


def fmt_array(value: np.ndarray, digits: int = 4) -> str:
    """Nested brackets as the array is shaped: 0.5325, [0.1, 0.2], [[0.3, 0.4], [0.5, 0.6]]."""
    a = np.asarray(value, dtype=float)
    if a.ndim == 0:
        return fmt_number(a, digits)
    return "[" + ", ".join(fmt_array(row, digits) for row in a) + "]"


def fmt_shape(shape: tuple[int, ...]) -> str:
    return "×".join(str(n) for n in shape) if shape else "scalar"


def edge_label(value: np.ndarray | None) -> str:
    """Short enough to sit on an edge: the numbers for small arrays, else the shape ('?' when hidden)."""
    if value is None:
        return "?"
    a = np.asarray(value)
    return fmt_array(a) if a.size <= INLINE_ENTRIES else fmt_shape(a.shape)


def hidden_nodes(exercise) -> set[str]:
    """Nodes whose value would answer a `value` ask: the asked node, everything computed from it (a loss
    can be inverted back to `out`), and whatever an identity gate merely copies into it."""
    graph = exercise.graph
    hidden = {a.node for a in exercise.asks if a.kind == "value"}
    for step in graph.steps:  # steps are in dependency order, so one pass finds every descendant
        if any(arg in hidden for arg in step.args):
            hidden.add(step.name)
    for step in reversed(graph.steps):
        if step.name in hidden and step.gate.name == "identity":
            hidden.add(step.args[0])
    return hidden


def node_values(exercise, variant) -> dict[str, np.ndarray | None]:
    """Forward values of the student's own variant, None where hidden. Never gradients."""
    hidden = hidden_nodes(exercise)
    values = variant.solution.values
    return {name: None if name in hidden else values[name] for name in exercise.graph.nodes()}


# --- nodes -------------------------------------------------------------------------------------------

def text_width(text: str, size: float = FONT, char: float = SANS_CHAR) -> float:
    return len(text) * size * char


def gate_text(step: Step) -> str:
    """What a gate node shows inside: its operator, or the loss written out."""
    op, args = step.gate.name, step.args
    if op in CIRCLE_SYMBOLS:
        return CIRCLE_SYMBOLS[op]
    if op == "half_sse":
        return f"{step.name} = ½Σ({args[0]}−{args[1]})²"
    if op == "mse":
        return f"{step.name} = mean(({args[0]}−{args[1]})²)"
    if op == "softmax_cross_entropy":
        return f"{step.name} = CE(softmax({args[0]}), {args[1]})"
    text = BOX_SYMBOLS.get(op, op)
    options = " ".join(f"{'α' if k == 'alpha' else k}={v:g}" for k, v in step.options.items())
    return f"{text} {options}" if options else text


def make_nodes(exercise) -> dict[str, Node]:
    nodes: dict[str, Node] = {}
    for name in exercise.graph.leaf_shapes:
        role = "param" if name in exercise.params else "input"
        nodes[name] = Node(name, role, None, name, False, max(44.0, text_width(name) + 20), BOX_H, False)
    for step in exercise.graph.steps:
        text = gate_text(step)
        circle = step.gate.name in CIRCLE_SYMBOLS
        is_loss = step.gate.kind == "loss"
        if circle:
            size = 2.0 * RADIUS
            nodes[step.name] = Node(step.name, "gate", step, text, True, size, size, True)
        else:
            width = max(46.0, text_width(text) + 20)
            nodes[step.name] = Node(step.name, "gate", step, text, False, width, BOX_H, not is_loss)
    return nodes


def make_edges(exercise, values: Mapping[str, np.ndarray | None]) -> list[Edge]:
    edges, consumed = [], set()
    for step in exercise.graph.steps:
        for slot, arg in enumerate(step.args):
            edges.append(Edge(arg, step.name, slot, edge_label(values[arg])))
            consumed.add(arg)
    for name in exercise.graph.nodes():
        if name not in consumed:
            edges.append(Edge(name, None, 0, edge_label(values[name])))
    return edges


# --- layout step 1: columns ---------------------------------------------------------------------------

def assign_columns(exercise, nodes: dict[str, Node]) -> None:
    graph = exercise.graph
    column = {name: 0 for name in graph.leaf_shapes}
    for step in graph.steps:
        column[step.name] = 1 + max(column[a] for a in step.args)
    for leaf in graph.leaf_shapes:  # right before the first gate that uses it, as the notes draw W
        users = [column[s.name] for s in graph.steps if leaf in s.args]
        column[leaf] = min(users) - 1 if users else 0
    for name, node in nodes.items():
        node.column = column[name]


# --- layout step 2: order within a column --------------------------------------------------------------

def first_use_order(exercise) -> list[str]:
    """Leaves in the order gates use them, each gate right after its arguments."""
    order: list[str] = []
    for step in exercise.graph.steps:
        order += [a for a in step.args if a not in order]
        order.append(step.name)
    return order + [n for n in exercise.graph.leaf_shapes if n not in order]


def order_columns(exercise, nodes: dict[str, Node]) -> list[list[str]]:
    """Columns top to bottom: by first use, then one barycenter pass. A gate goes by the mean rank of its
    inputs; a leaf goes next to the other input of the gate that uses it (W below h when the gate is
    matmul(h, W), above it for mul(w, x)), so argument order reads top to bottom."""
    graph = exercise.graph
    seq = {name: i for i, name in enumerate(first_use_order(exercise))}
    count = 1 + max(n.column for n in nodes.values())
    columns = [sorted((n for n in nodes if nodes[n].column == c), key=seq.__getitem__) for c in range(count)]
    rank: dict[str, float] = {}

    def centred(col: list[str]) -> dict[str, float]:
        return {name: i - (len(col) - 1) / 2 for i, name in enumerate(col)}

    rank.update(centred(columns[0]))
    for c in range(1, count):
        keys: dict[str, float] = {}
        for name in columns[c]:
            step = graph.step_by_name.get(name)
            if step is not None:
                keys[name] = sum(rank[a] for a in step.args) / len(step.args)
        for name in columns[c]:
            if name not in keys:
                keys[name] = _leaf_key(name, graph, rank, keys, seq, columns[c])
        columns[c].sort(key=lambda n, keys=keys: (keys[n], seq[n]))
        rank.update(centred(columns[c]))
    return columns


def _leaf_key(leaf: str, graph, rank: dict[str, float], keys: dict[str, float], seq: dict[str, int],
              column: list[str]) -> float:
    user = next(s for s in graph.steps if leaf in s.args)
    slot = user.args.index(leaf)
    for other_slot, other in enumerate(user.args):
        known = keys.get(other, rank.get(other))
        if other != leaf and known is not None:
            return known + (0.5 if slot > other_slot else -0.5)
    return column.index(leaf) - (len(column) - 1) / 2 + seq[leaf] * 1e-6


# --- layout step 3: coordinates -------------------------------------------------------------------------

def isotonic(values: list[float], weights: list[float]) -> list[float]:
    """The nondecreasing sequence closest to `values` in weighted least squares (pool adjacent violators)."""
    blocks: list[list[float]] = []  # [mean, weight, count]
    for v, w in zip(values, weights, strict=True):
        blocks.append([v, w, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            m2, w2, n2 = blocks.pop()
            m1, w1, n1 = blocks.pop()
            blocks.append([(m1 * w1 + m2 * w2) / (w1 + w2), w1 + w2, n1 + n2])
    out: list[float] = []
    for mean, _, n in blocks:
        out += [mean] * int(n)
    return out


def weight(node: Node) -> float:
    """Gates pull harder than leaves: the chain of gates stays straight and the weights step aside."""
    return GATE_WEIGHT if node.step is not None else 1.0


def place_column(column: list[Node], desired: list[float]) -> None:
    """Put a column's nodes as near their desired heights as the order and the spacing allow."""
    offsets, total = [], 0.0
    for i, node in enumerate(column):
        if i:
            prev = column[i - 1]
            total += prev.below + node.height / 2 + ROW_GAP
        offsets.append(total)
    shifted = [d - o for d, o in zip(desired, offsets, strict=True)]
    fitted = isotonic(shifted, [weight(n) for n in column])
    for node, f, o in zip(column, fitted, offsets, strict=True):
        node.y = f + o


def assign_heights(columns: list[list[str]], nodes: dict[str, Node], edges: list[Edge]) -> None:
    neighbours: dict[str, list[str]] = {name: [] for name in nodes}
    for e in edges:
        if e.target is not None:
            neighbours[e.source].append(e.target)
            neighbours[e.target].append(e.source)
    for col in columns:
        place_column([nodes[n] for n in col], [0.0] * len(col))
    for sweep in range(SWEEPS):
        order = columns if sweep % 2 == 0 else columns[::-1]
        for col in order:
            desired = []
            for name in col:
                near = neighbours[name]
                if not near:
                    desired.append(nodes[name].y)
                    continue
                pulls = [weight(nodes[name]) * weight(nodes[n]) for n in near]
                desired.append(sum(nodes[n].y * w for n, w in zip(near, pulls, strict=True)) / sum(pulls))
            place_column([nodes[n] for n in col], desired)


def assign_x(columns: list[list[str]], nodes: dict[str, Node], edges: list[Edge]) -> float:
    """Column centres left to right; a gap is as wide as the widest value written in it. Returns the
    right edge of the drawing (stubs included)."""
    label_w = [0.0] * len(columns)
    for e in edges:
        if e.target is not None:
            label_w[nodes[e.source].column] = max(label_w[nodes[e.source].column], _label_width(e.label))
    x = MARGIN
    right = x
    for c, col in enumerate(columns):
        width = max(nodes[n].width for n in col)
        for name in col:
            nodes[name].x = x + width / 2
        right = x + width
        stubs = [_label_width(e.label) for e in edges if e.target is None and e.source in col]
        right += max(stubs, default=0) + 40 if stubs else 0
        x += width + max(MIN_COL_GAP, label_w[c] + LABEL_PAD + BEND)
    return max(right, x - MIN_COL_GAP) + MARGIN


def _label_width(label: str) -> float:
    return text_width(label, VALUE_FONT, MONO_CHAR)


def route_edges(nodes: dict[str, Node], edges: list[Edge]) -> None:
    """Leave a node at its right side; enter a gate on its left side, the inputs spread top to bottom in
    the order of their sources (so edges into one gate never cross each other)."""
    into: dict[str, list[Edge]] = {}
    for e in edges:
        if e.target is not None:
            into.setdefault(e.target, []).append(e)
    for target, incoming in into.items():
        t = nodes[target]
        incoming.sort(key=lambda e: (nodes[e.source].y, e.slot))
        span = t.height * (0.5 if t.circle else 0.56)
        for i, e in enumerate(incoming):
            dy = 0.0 if len(incoming) == 1 else -span / 2 + span * i / (len(incoming) - 1)
            dx = (RADIUS**2 - dy**2) ** 0.5 if t.circle else t.width / 2
            s = nodes[e.source]
            e.points = (s.x + s.width / 2, s.y, t.x - dx - 1, t.y + dy)
    for e in edges:
        if e.target is None:
            s = nodes[e.source]
            x1 = s.x + s.width / 2
            e.points = (x1, s.y, x1 + _label_width(e.label) + 34, s.y)


def layout_graph(exercise, variant) -> Layout:
    """Nodes with centres and sizes, edges with end points and labels: everything `render_graph` draws."""
    nodes = make_nodes(exercise)
    edges = make_edges(exercise, node_values(exercise, variant))
    assign_columns(exercise, nodes)
    columns = order_columns(exercise, nodes)
    assign_heights(columns, nodes, edges)
    right = assign_x(columns, nodes, edges)
    top = min(n.y - n.height / 2 for n in nodes.values()) - MARGIN
    for n in nodes.values():  # move the drawing to y >= 0, on whole units so the output stays tidy
        n.y = round(n.y - top, 1)
    route_edges(nodes, edges)
    bottom = max(n.y + n.below for n in nodes.values()) + MARGIN
    return Layout(nodes, edges, round(right, 1), round(bottom, 1), columns)


# --- SVG ------------------------------------------------------------------------------------------------

STYLE = """
#{p} {{ font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }}
#{p} .bg {{ fill: #ffffff; }}
#{p} .wire {{ fill: none; stroke: #4b5563; stroke-width: 1.6; }}
#{p} .value {{ font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: {vf}px;
  fill: #111827; paint-order: stroke; stroke: #ffffff; stroke-width: 4px; stroke-linejoin: round; }}
#{p} .value.hidden {{ font-weight: bold; fill: #7c2d12; }}
#{p} .shape-fill {{ stroke: #374151; stroke-width: 1.6; }}
#{p} .input .shape-fill {{ fill: #dbeafe; stroke: #1e40af; }}
#{p} .param .shape-fill {{ fill: #fef3c7; stroke: #92400e; }}
#{p} .gate .shape-fill {{ fill: #f9fafb; }}
#{p} .activation .shape-fill {{ fill: #ede9fe; stroke: #5b21b6; }}
#{p} .loss .shape-fill, #{p} .reduce .shape-fill {{ fill: #fce7f3; stroke: #9d174d; }}
#{p} .upstream .shape-fill {{ stroke-dasharray: 5 3; stroke-width: 2.2; }}
#{p} .label {{ font-size: {f}px; fill: #111827; }}
#{p} .symbol {{ font-size: 20px; font-weight: 600; }}
#{p} .caption {{ font-size: {sf}px; fill: #1f2937; font-style: italic; }}
#{p} .shape {{ font-size: {sf}px; fill: #111827; visibility: hidden; paint-order: stroke; stroke: #ffffff;
  stroke-width: 4px; stroke-linejoin: round; }}
#{p} .node:hover .shape, #{p} .node:focus .shape {{ visibility: visible; }}
#{p} .node {{ cursor: default; outline: none; }}
#{p} .ring {{ fill: none; stroke: #1d4ed8; stroke-width: 3; visibility: hidden; }}
#{p} .node:focus .ring, #{p} .node:hover .ring {{ visibility: visible; }}
#{p} .highlight .shape-fill {{ fill: #fee2e2; stroke: #b91c1c; stroke-width: 4; stroke-dasharray: none; }}
#{p} .highlight .caption {{ fill: #991b1b; font-weight: bold; }}
#{p} .arrowhead {{ fill: #4b5563; }}
"""


def render_graph(exercise, variant, *, highlight: Iterable[str] = (), id_prefix: str = "g") -> str:
    """The student's variant as an <svg> element (a string to put in a page as is).

    `highlight` names nodes to mark as where a diagnosed mistake happened (unknown names are ignored, so a
    stale diagnosis never breaks the page). `id_prefix` is the SVG's id and the prefix of every id inside
    it, so several graphs can share a page; it must be a plain identifier."""
    if not _ID.match(id_prefix):
        raise ValueError(f"id_prefix must be a letter followed by letters, digits, '_' or '-': {id_prefix!r}")
    layout = layout_graph(exercise, variant)
    values = node_values(exercise, variant)
    marked = set(highlight)
    upstream = set(exercise.upstream or {})
    p = id_prefix
    title = f"Computational graph of {exercise.title}: {', '.join(exercise.graph_lines)}"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" id={quoteattr(p)} class="gradgate-graph" '
        f'viewBox="0 0 {layout.width:g} {layout.height:g}" width="100%" preserveAspectRatio="xMidYMid meet" '
        f'style="max-width: {layout.width:g}px; height: auto" role="group" aria-labelledby="{p}-title">',
        f'<title id="{p}-title">{escape(title)}</title>',
        "<style>" + STYLE.format(p=p, f=FONT, vf=VALUE_FONT, sf=SMALL_FONT) + "</style>",
        f'<defs><marker id="{p}-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        f'orient="auto-start-reverse"><path class="arrowhead" d="M0,0 L10,5 L0,10 z"/></marker></defs>',
        f'<rect class="bg" x="0" y="0" width="{layout.width:g}" height="{layout.height:g}"/>',
        '<g class="edges">',
        *(_edge_svg(e, values, p) for e in layout.edges),
        "</g>",
        '<g class="nodes">',
        *(_node_svg(layout.nodes[name], variant, values, name in marked, name in upstream)
          for name in _drawing_order(layout)),
        "</g>",
        "</svg>",
    ]
    return "\n".join(parts)


def _drawing_order(layout: Layout) -> list[str]:
    """Columns left to right, each top to bottom: also the keyboard (Tab) order, which reads like the
    forward pass."""
    return [name for col in layout.columns for name in col]


def _n(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _edge_svg(e: Edge, values: Mapping[str, np.ndarray | None], p: str) -> str:
    """A straight run out of the source carrying the value above it, then a curve into the target. Every
    edge out of one node shares the run, so a value used twice is written once, where it starts."""
    x1, y1, x2, y2 = e.points
    run = min(x1 + _label_width(e.label) + LABEL_PAD, x2 - BEND / 2)
    bend = (x2 - run) / 2
    if e.target is None:
        d = f"M{_n(x1)},{_n(y1)} H{_n(x2)}"
    else:
        d = f"M{_n(x1)},{_n(y1)} H{_n(run)} C{_n(run + bend)},{_n(y1)} {_n(x2 - bend)},{_n(y2)} {_n(x2)},{_n(y2)}"
    value = values[e.source]
    full = "not shown: you are asked for this value" if value is None else fmt_array(value, 6)
    css = "value hidden" if value is None else "value"
    to = f" data-to={quoteattr(e.target)}" if e.target is not None else ""
    kind = "edge" if e.target is not None else "edge stub"
    return (
        f'<g class="{kind}" data-from={quoteattr(e.source)}{to}>'
        f'<path class="wire" d="{d}" marker-end="url(#{p}-arrow)"/>'
        f'<text class="{css}" x="{_n(x1 + 6)}" y="{_n(y1 - 6)}">{escape(e.label)}'
        f"<title>{escape(e.source)} = {escape(full)}</title></text></g>"
    )


def describe(node: Node, variant, values: Mapping[str, np.ndarray | None], highlighted: bool,
             upstream: bool) -> str:
    """The node's accessible name (also its hover tooltip): what it is, its shape and its value."""
    shape = fmt_shape(np.shape(variant.solution.values[node.name]))
    if node.step is None:
        what = "parameter" if node.role == "param" else "input"
    else:
        what = f"{node.step.gate.name} gate, {node.step}"
    value = values[node.name]
    shown = "value not shown (you are asked for it)" if value is None else f"value {fmt_array(value, 6)}"
    text = f"{node.name}: {what}, shape {shape}, {shown}"
    if upstream:
        text += f", its upstream gradient dL/d{node.name} = {fmt_array(variant.upstream[node.name], 6)} is given"
    if highlighted:
        text += " (mistake here)"
    return text


def _node_svg(node: Node, variant, values: Mapping[str, np.ndarray | None], highlighted: bool,
              upstream: bool) -> str:
    classes = ["node", node.role]
    if node.step is not None:
        classes.append(node.step.gate.kind)
    if upstream:
        classes.append("upstream")
    if highlighted:
        classes.append("highlight")
    label = describe(node, variant, values, highlighted, upstream)
    x, y, w, h = node.x, node.y, node.width, node.height
    if node.circle:
        shape = f'<circle class="shape-fill" cx="{_n(x)}" cy="{_n(y)}" r="{RADIUS}"/>'
        ring = f'<circle class="ring" cx="{_n(x)}" cy="{_n(y)}" r="{RADIUS + 5}"/>'
    else:
        radius = 8 if node.step is None else 4
        shape = (f'<rect class="shape-fill" x="{_n(x - w / 2)}" y="{_n(y - h / 2)}" width="{_n(w)}" '
                 f'height="{_n(h)}" rx="{radius}"/>')
        ring = (f'<rect class="ring" x="{_n(x - w / 2 - 5)}" y="{_n(y - h / 2 - 5)}" width="{_n(w + 10)}" '
                f'height="{_n(h + 10)}" rx="{radius + 4}"/>')
    text_class = "label symbol" if node.circle else "label"
    inner = (f'<text class="{text_class}" x="{_n(x)}" y="{_n(y)}" text-anchor="middle" '
             f'dominant-baseline="central">{escape(node.text)}</text>')
    caption = ""
    if node.caption:
        caption = (f'<text class="caption" x="{_n(x)}" y="{_n(y + h / 2 + CAPTION_H - 4)}" '
                   f'text-anchor="middle">{escape(node.name)}</text>')
    shape_text = fmt_shape(np.shape(variant.solution.values[node.name]))
    hover = (f'<text class="shape" x="{_n(x)}" y="{_n(y - h / 2 - 8)}" text-anchor="middle">'
             f"{escape(node.name)}: {escape(shape_text)}</text>")
    return (
        f'<g class="{" ".join(classes)}" data-node={quoteattr(node.name)} tabindex="0" role="img" '
        f"aria-label={quoteattr(label)}><title>{escape(label)}</title>"
        f"{ring}{shape}{inner}{caption}{hover}</g>"
    )
