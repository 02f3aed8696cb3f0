"""What a code exercise's tests are: the plan of its cases, the exact zeros of its ReLU edge cases, and the
paragraph that tells the student both.

A code exercise runs `tests.count` random draws, then edge cases: every dimension at its smallest (when it
has dimensions) and, when a ReLU is involved, cases whose ReLU inputs hold exact zeros, where only the
convention relu'(0) = 0 gives the expected answer. `case_plan` lists them; `solve.test_cases` draws exactly
that list and `code_rules` counts it, so the prompt can never promise other tests than the ones that run.

Drawing is left to `solve.py`, and the definition is imported for type hints only: `definition.py` uses
this module to write the paragraph when it loads an exercise.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from grader.engine import Array

if TYPE_CHECKING:
    from grader.engine import Graph, Solution, Step
    from grader.exercises.definition import Exercise, Ref

RANDOM, SMALLEST, RELU_ZERO = "random", "smallest", "relu_zero"
LABELS = {RANDOM: "random", SMALLEST: "smallest sizes", RELU_ZERO: "ReLU inputs at exactly 0"}
_EDGE_TEXT = {SMALLEST: "every size at its smallest", RELU_ZERO: "ReLU inputs at exactly 0"}
KINKED = ("relu", "leaky_relu")  # the gates whose derivative at exactly 0 is a convention

# A function that flips a coin at exactly zero passes only if every coin falls the engine's way: 2**-k for
# k zeros that each change the answer. 2**-24 is about 6e-8, well below the one in a million aimed at.
MIN_ZEROS = 24
MAX_ZERO_CASES = 6
ZERO_DRAWS = 20  # draws tried for a zero case in which enough zeros change the answer
# A zero counts only when taking relu'(0) = 1 there changes an expected return by far more than any code
# tolerance (float32 results included), so the grader is sure to see it.
VISIBLE_RTOL, VISIBLE_ATOL = 1e-4, 1e-7


def smallest_dims(specs: Mapping[str, Any]) -> dict[str, int]:
    return {name: _bound(spec, min) for name, spec in specs.items()}


def largest_dims(specs: Mapping[str, Any]) -> dict[str, int]:
    return {name: _bound(spec, max) for name, spec in specs.items()}


def _bound(spec: Any, pick: Any) -> int:
    if isinstance(spec, int):
        return spec
    return int(pick(spec["integers"])) if "integers" in spec else int(pick(spec["choice"]))


# --- the plan --------------------------------------------------------------------------------------------

def case_plan(exercise: Exercise) -> list[str]:
    """The kind of every test case, in the order they run: `tests.count` random ones, then the edge cases."""
    plan = [RANDOM] * exercise.tests["count"]
    if exercise.dims:
        plan.append(SMALLEST)
    return plan + [RELU_ZERO] * len(zero_case_sizes(exercise))


def zero_case_sizes(exercise: Exercise) -> list[int]:
    """How many exact zeros each zero case puts into ReLU inputs (drawn at the largest sizes, alternating the
    columns they zero): as many cases as it takes to reach MIN_ZEROS, at most MAX_ZERO_CASES; none when no
    ReLU input can be made exactly zero."""
    dims = largest_dims(exercise.dims)
    shapes = [_rows_and_width(exercise.graph.shapes[s.args[0]], dims) for s in zeroable_steps(exercise.graph)]
    sizes: list[int] = []
    while shapes and sum(sizes) < MIN_ZEROS and len(sizes) < MAX_ZERO_CASES:
        sizes.append(sum(rows * len(zero_columns(width, len(sizes))) for rows, width in shapes))
    return sizes


def deciding_needed(exercise: Exercise, case: int) -> int:
    """How many zeros of zero case `case` must decide the answer (see `deciding_zeros`): its share of
    MIN_ZEROS, so that an attempt has at least MIN_ZEROS (or every zero, if there are fewer)."""
    sizes = zero_case_sizes(exercise)
    return min(sizes[case], math.ceil(MIN_ZEROS * sizes[case] / sum(sizes)))


def _rows_and_width(shape: Sequence[int | str], dims: Mapping[str, int]) -> tuple[int, int]:
    sizes = [d if isinstance(d, int) else dims[d] for d in shape]
    return (int(np.prod(sizes[:-1])), sizes[-1]) if sizes else (1, 1)


def zero_columns(width: int, case: int) -> list[int]:
    """Every other column, the even ones in one case and the odd ones in the next, so that two cases put a
    zero into every column and each keeps the others as drawn."""
    return [0] if width == 1 else list(range(case % 2, width, 2))


# --- exact zeros -----------------------------------------------------------------------------------------

def zeroable_steps(graph: Graph) -> list[Step]:
    """The ReLU gates whose input can be made exactly zero through the leaves (see `_zero_columns`)."""
    return [s for s in graph.steps if s.gate.name in KINKED and _zero_columns(graph, s.args[0], [0], None)]


def zero_relu_inputs(exercise: Exercise, leaves: Mapping[str, Array], dims: Mapping[str, int], case: int
                     ) -> dict[str, Array]:
    """A copy of the leaves in which every ReLU input is exactly 0 in the columns `zero_columns` picks for
    this case, while what it is computed from stays non-zero: a zero column of W makes the column of z = h W
    zero whatever h is, so relu'(0) reaches the gradients (a zero row of h would zero the gradient of W that
    it multiplies, and test nothing)."""
    graph = exercise.graph
    leaves = {name: np.array(value, dtype=np.float64) for name, value in leaves.items()}
    for step in zeroable_steps(graph):
        width = _rows_and_width(graph.shapes[step.args[0]], dims)[1]
        _zero_columns(graph, step.args[0], zero_columns(width, case), leaves)
    return leaves


def _zero_columns(graph: Graph, node: str, columns: list[int], leaves: dict[str, Array] | None) -> bool:
    """Make `node` exactly 0 in `columns` of its last axis through the leaves it is computed from: the node
    itself if it is a leaf; the weights of a matmul (a zero column of W zeroes that column of h W); both terms
    of an add or sub (a bias too); one factor of a mul. A term broadcast along the columns is zeroed whole.
    With `leaves` None only says whether the graph allows it; otherwise zeroes them (in place)."""
    if node in graph.leaf_shapes:
        if leaves is not None:
            value = leaves[node]
            if value.ndim == 0 or value.shape[-1] == 1:
                value[...] = 0.0
            else:
                value[..., columns] = 0.0
        return True
    step = graph.step_by_name[node]
    name, args = step.gate.name, step.args
    if name == "matmul":
        return _zero_columns(graph, args[1], columns, leaves)
    if name in ("add", "sub") and all(_zero_columns(graph, a, columns, None) for a in args):
        return all(_zero_columns(graph, a, columns, leaves) for a in args)
    if name == "mul":
        return any(_zero_columns(graph, a, columns, leaves) for a in args)  # the first factor that can
    return False


def zero_counts(exercise: Exercise, solution: Solution) -> dict[str, int]:
    """The entries of each ReLU input that are exactly 0, by node."""
    return {s.args[0]: int(np.count_nonzero(solution.values[s.args[0]] == 0))
            for s in exercise.graph.steps if s.gate.name in KINKED}


def resolve(refs: Sequence[Ref], values: Mapping[str, Array], grads: Mapping[str, Array]) -> list[Array]:
    """The arrays that function arguments or returns name: a node's value, or grad(node)."""
    return [(grads if ref.grad else values)[ref.node] for ref in refs]


def gradient_at_zeros(exercise: Exercise, solution: Solution) -> bool:
    """Whether the gradient arriving at every ReLU is non-zero wherever its input is exactly 0 (where it is
    zero, no convention at zero can change anything)."""
    return all(np.all(solution.grads[s.name][solution.values[s.args[0]] == 0] != 0)
               for s in exercise.graph.steps if s.gate.name in KINKED)


def deciding_zeros(exercise: Exercise, solution: Solution, enough: int | None = None) -> int:
    """How many exact zeros of ReLU inputs change an expected return when the local gradient there alone is
    taken as 1 instead of the engine's 0 (α for a leaky ReLU): the zeros that catch a wrong convention or a
    guess. Counting stops at `enough`.

    The change is the gradient that one entry lets through in addition, carried down by the engine's backward
    pass from the ReLU's input (the pass is linear in the gradient it starts from, so this is exactly the
    difference, and only the gates below the ReLU do any work)."""
    assert exercise.function is not None
    graph, returns = exercise.graph, exercise.function.returns
    visible = [VISIBLE_ATOL + VISIBLE_RTOL * np.abs(r) for r in resolve(returns, solution.values, solution.grads)]
    count = 0
    for step in graph.steps:
        if step.gate.name not in KINKED:
            continue
        z = solution.values[step.args[0]]
        extra = solution.grads[step.name] * (1.0 - solution.local_grads[step.name])  # relu'(0) = 1 lets through
        for index in map(tuple, np.argwhere((z == 0) & (extra != 0))):
            if enough is not None and count >= enough:
                return count
            start = np.zeros_like(z)
            start[index] = extra[index]
            change, _ = graph.backward(solution.values, solution.local_grads, {step.args[0]: start})
            count += any(ref.grad and bool(np.any(np.abs(change[ref.node]) > limit))
                         for ref, limit in zip(returns, visible, strict=True))
    return count


# --- the paragraph the student reads ----------------------------------------------------------------------

def code_rules(exercise: Exercise) -> str:
    """How the function is tested, in Markdown, counted from `case_plan`: appended to a code exercise's prompt
    when it loads (definition.parse_exercise), so it is said wherever the prompt is shown."""
    assert exercise.function is not None
    plan = case_plan(exercise)
    count = plan.count(RANDOM)
    sized = any(not isinstance(spec, int) for spec in exercise.dims.values())
    drawn = sized or any("random" in spec for spec in [*exercise.tensors.values(), *(exercise.upstream or {}).values()])
    text = f"{count} {'random ' if drawn else ''}case{'s' if count != 1 else ''}"
    text += " (random sizes)" if sized else ""
    edges = {kind: plan.count(kind) for kind in plan if kind != RANDOM}
    if edges:
        total = sum(edges.values())
        kinds = [_EDGE_TEXT[k] if len(edges) == 1 else f"{n} with {_EDGE_TEXT[k]}" for k, n in edges.items()]
        text += f" and {total} edge case{'s' if total != 1 else ''} ({'; '.join(kinds)})"
    limit = f"{exercise.tests['time_limit_s']:g}"
    rules = (f"**How your function is tested.** It is called on {text}, {limit} s each, with numpy and the "
             "Python standard library available.")
    if exercise.function.in_place == "forbidden":
        example = f", e.g. `{next(iter(exercise.function.args))}.copy()`" if exercise.function.args else ""
        return rules + (" Do not change the input arrays in place: the caller still needs them (work on a "
                        f"copy{example}).")
    return rules + " You may change the input arrays in place."
