"""Naming the mistake in a wrong backward function, as numeric diagnosis does for typed answers.

For a failed test case the engine replays that case's network with each classic mistake of
`grader.grading.mistakes` (a gate varied, the same replay as for typed numbers: there is no second engine)
and with the slips typical of code: the upstream gradient ignored, ReLU's derivative taken as 1 at exactly
zero, gradients divided by the batch size, an output negated. The arrays the function returned are compared
with what each mistake would have returned. Shape slips (a transposed result, outputs in the wrong order, a
squeezed 1-D result) are read off the shapes. Across the cases, a function that is right only for one value of
a size has that size hard-coded.

It runs in the trusted process on the float64 arrays the sandbox returned, and only for failed cases.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from grader.engine import Array
from grader.exercises import Exercise, TestCase
from grader.grading.mistakes import MISTAKES, describe_gates
from grader.grading.tolerance import Tolerance

# A mistake said once at the top of the feedback when it explains at least this share of the failed tests.
MOST = 0.5


@dataclass(frozen=True)
class Candidate:
    """What the function would have returned under one mistake."""

    code: str
    gates: tuple[str, ...]  # node names of the gates where it happened (the page outlines them)
    message: str  # plain words, without the output's name
    returns: tuple[Array, ...]


@dataclass
class CaseDiagnosis:
    """The mistake that explains one failed case: which outputs it explains and how."""

    code: str
    gates: list[str]
    message: str  # a sentence naming the output(s)
    outputs: list[str]  # the returned outputs it explains, e.g. ["grad(W)"]

    def to_dict(self) -> dict[str, Any]:
        return {"mistake": self.code, "gates": self.gates, "message": self.message, "outputs": self.outputs}


def _names(exercise: Exercise) -> list[str]:
    assert exercise.function is not None
    return [str(ref) for ref in exercise.function.returns]


def _consumer(exercise: Exercise, node: str) -> tuple[str, ...]:
    """The gate whose backward produces grad(node): the step that takes `node` as an input."""
    return tuple(step.name for step in exercise.graph.steps if node in step.args)[:1]


def replay(exercise: Exercise, case: TestCase) -> list[Candidate]:
    """Every mistake's returns for this case (only those that differ from the reference somewhere)."""
    function = exercise.function
    assert function is not None
    graph = exercise.graph
    leaves = {ref.node: value for ref, value in _refs(exercise, case) if not ref.grad}
    upstream = {ref.node: value for ref, value in _refs(exercise, case) if ref.grad} or None
    if any(name not in leaves for name in graph.leaf_shapes):
        return []  # the function is not given the whole network: nothing to replay
    values, local_grads = graph.forward(leaves)

    def returns(grads: dict[str, Array]) -> tuple[Array, ...]:
        return tuple(np.asarray(grads[r.node] if r.grad else values[r.node], dtype=np.float64)
                     for r in function.returns)

    def backward(variations: dict | None = None, up: dict[str, Array] | None = upstream) -> dict[str, Array]:
        grads, _ = graph.backward(values, local_grads, up, variations=variations)
        return grads

    found: list[Candidate] = []
    for code, gates, message, grads in _gate_mistakes(exercise, backward):
        found.append(Candidate(code, gates, message, returns(grads)))
    reference = case.returns
    if upstream is not None:
        arg = next((name for name, ref in function.args.items() if ref.grad), "the upstream gradient")
        found.append(Candidate("ignored_upstream", (), f"ignores the upstream gradient `{arg}`: the gate's local "
                               f"gradient must be multiplied by what arrives from above ({arg})",
                               returns(backward(up={k: np.ones_like(v) for k, v in upstream.items()}))))
    n = case.dims.get("N")
    if n and n > 1:
        found.append(Candidate("batch_mean", (), f"is N = {n} times too small: did you average over the batch? "
                               "Here the loss is summed, so nothing is divided by N",
                               tuple(r / n for r in reference)))
    if not any(step.gate.kind == "loss" for step in graph.steps):
        found.append(Candidate("negated", (), "has the wrong sign everywhere",
                               tuple(-r for r in reference)))
    return [c for c in found if any(not np.array_equal(a, b) for a, b in zip(c.returns, reference, strict=True))]


def _refs(exercise: Exercise, case: TestCase) -> Iterator[tuple[Any, Array]]:
    assert exercise.function is not None
    for name, ref in exercise.function.args.items():
        if name in case.args:
            yield ref, np.asarray(case.args[name], dtype=np.float64)


def _relu_one_at_zero(gate: Any) -> Any:
    """ReLU (or leaky ReLU) with its derivative taken as 1 at exactly z = 0 (`z >= 0`)."""
    return replace(gate, local_grad=lambda out, z, alpha=0.0, **o: np.where(z >= 0, 1.0, alpha))


def _relu_wrong_side_strict(gate: Any) -> Any:
    return replace(gate, local_grad=lambda out, z, alpha=0.0, **o: np.where(z < 0, 1.0, np.where(z > 0, alpha, 0.0)))


def _groups(steps: list[Any]) -> list[list[Any]]:
    """Where a mistake may have been made: at each gate alone, at every gate of one op (both ReLUs but not the
    sigmoid), and at every gate where it applies."""
    groups = [[s] for s in steps]
    for name in dict.fromkeys(s.gate.name for s in steps):
        same = [s for s in steps if s.gate.name == name]
        if len(same) > 1:
            groups.append(same)
    if len(steps) > 1 and all(len(g) != len(steps) for g in groups):
        groups.append(steps)
    return groups


def _gate_mistakes(exercise: Exercise, backward: Any) -> Iterator[tuple[str, tuple[str, ...], str, dict]]:
    """The classic mistakes, each at one gate and then at every such gate at once (as for typed answers),
    and ReLU's derivative at zero, which only code can get wrong (a typed answer never meets z = 0)."""
    steps = exercise.graph.steps
    relu = next(m for m in MISTAKES if m.code == "relu_wrong_side")
    extra = [("relu_one_at_zero", relu.applies, _relu_one_at_zero,
              "at {gate} the derivative at exactly z = 0 is taken as 1; the convention here is 0 (z > 0, "
              "not z >= 0)"),
             # the wrong side written as `z < 0`, which (unlike a typed answer) meets z = 0 too
             ("relu_wrong_side", relu.applies, _relu_wrong_side_strict, relu.explain)]
    for code, applies, vary, explain in extra + [(m.code, m.applies, m.vary, m.explain) for m in MISTAKES]:
        where = [s for s in steps if applies(s.gate)]
        for group in _groups(where):
            try:
                grads = backward({s.name: vary(s.gate) for s in group})
            except ValueError:
                continue  # the mistake cannot give arrays of these shapes
            yield code, tuple(s.name for s in group), explain.format(gate=describe_gates(group)), grads


def _changed(candidate: Candidate, expected: Sequence[Array]) -> int:
    """How many entries a mistake changes: of two that explain an answer equally well, the smaller mistake is
    the likelier (a ReLU wrong only at z = 0 rather than no ReLU at all, where every z happened to be ≥ 0)."""
    return sum(int(np.sum(a != b)) for a, b in zip(candidate.returns, expected, strict=True))


def _close(tolerance: Tolerance, given: Array, want: Array) -> bool:
    return given.shape == want.shape and bool(np.all(tolerance.close(given, want)))


def _distance(given: Array, want: Array) -> float:
    with np.errstate(all="ignore"):
        return float(np.max(np.abs(given - want) / (np.abs(want) + 1e-12), initial=0.0))


def diagnose_case(exercise: Exercise, case: TestCase, outputs: Sequence[Array],
                  tolerances: Sequence[Tolerance]) -> CaseDiagnosis | None:
    """The mistake behind a failed case's outputs, or None. A mistake is named only where the outputs match
    its returns within the tolerance and differ from the reference, so a right output never gets one."""
    names = _names(exercise)
    expected = case.returns
    if len(outputs) != len(expected):
        return None
    wrong = [j for j, (g, w) in enumerate(zip(outputs, expected, strict=True)) if not _close(tolerances[j], g, w)]
    if not wrong:
        return None
    shaped = _shape_slip(exercise, outputs, expected, tolerances, wrong)
    if shaped is not None:
        return shaped
    candidates = replay(exercise, case)
    # One mistake that explains every output at once (the right outputs stay right under it) ...
    joint = [c for c in candidates if all(_close(t, g, r) for t, g, r in zip(tolerances, outputs, c.returns,
                                                                              strict=True))]
    if joint:
        best = min(joint, key=lambda c: (sum(_distance(g, r) for g, r in zip(outputs, c.returns, strict=True)),
                                         _changed(c, expected)))
        return _said(best, [names[j] for j in wrong])
    # ... else each wrong output on its own (a student can slip in one output and not in another).
    per_output = []
    for j in wrong:
        fits = [c for c in candidates if _close(tolerances[j], outputs[j], c.returns[j])
                and not _close(tolerances[j], c.returns[j], expected[j])]
        if not fits:
            return None  # an output no mistake explains: say nothing rather than guess
        per_output.append(min(fits, key=lambda c, j=j: (_distance(outputs[j], c.returns[j]), _changed(c, expected))))
    codes = {c.code for c in per_output}
    if len(codes) == 1:
        return _said(per_output[0], [names[j] for j in wrong], gates=sorted({g for c in per_output for g in c.gates}))
    parts = [f"{names[j]} {c.message}" for j, c in zip(wrong, per_output, strict=True)]
    return CaseDiagnosis(per_output[0].code, sorted({g for c in per_output for g in c.gates}),
                         _sentence("; ".join(parts)), [names[j] for j in wrong])


def _said(candidate: Candidate, outputs: list[str], gates: list[str] | None = None) -> CaseDiagnosis:
    subject = outputs[0] if len(outputs) == 1 else ", ".join(outputs[:-1]) + " and " + outputs[-1]
    message = candidate.message
    verb = message.split(" ", 1)[0]
    if verb not in _VERBS:
        message = ("is wrong: " if len(outputs) == 1 else "are wrong: ") + message
    elif len(outputs) > 1:
        message = _VERBS[verb] + message[len(verb):]
    message = f"{subject} {message}"
    return CaseDiagnosis(candidate.code, gates if gates is not None else list(candidate.gates), _sentence(message),
                         outputs)


_VERBS = {"is": "are", "has": "have", "ignores": "ignore"}  # a candidate's message starts with one of these,
# or it is a sentence of its own ("at z = x W you ...")


def _sentence(text: str) -> str:
    """A full stop at the end; no capital at the start, which is usually an output's name (grad(W))."""
    text = text.strip()
    return text + ("" if text.endswith((".", "?")) else ".")


def _shape_slip(exercise: Exercise, outputs: Sequence[Array], expected: Sequence[Array],
                tolerances: Sequence[Tolerance], wrong: list[int]) -> CaseDiagnosis | None:
    """Outputs in the wrong order, a transposed result or a squeezed one: read off the arrays themselves."""
    names = _names(exercise)
    n = len(expected)
    if n > 1:
        for order in _orders(n):
            if list(order) != list(range(n)) and all(_close(tolerances[k], outputs[j], expected[k])
                                                     for j, k in enumerate(order)):
                returned = ", ".join(names[k] for k in order)
                return CaseDiagnosis("wrong_order", [], _sentence(
                    f"the outputs are right but in the wrong order: you returned ({returned}); return "
                    f"({', '.join(names)})"), [names[j] for j in wrong])
    assert exercise.function is not None
    for j in wrong:
        given, want, name = outputs[j], expected[j], names[j]
        node = exercise.function.returns[j].node
        if (given.ndim == 2 and want.ndim == 2 and given.shape == want.T.shape and not _close(tolerances[j], want,
                                                                                                want.T)
                and _close(tolerances[j], given, want.T)):
            shapes = "" if given.shape == want.shape else \
                f": it has shape {_dims(given.shape)}, expected {_dims(want.shape)} (the shape of {node})"
            gates = list(_consumer(exercise, node))
            step = exercise.graph.step_by_name.get(gates[0]) if gates else None
            rule = ". For z = x W, dW = x.T @ dz and dx = dz @ W.T" if step and step.gate.name == "matmul" else \
                ": a gradient has the shape of the thing it is the gradient of"
            return CaseDiagnosis("transposed", gates, _sentence(f"{name} is transposed{shapes}{rule}"), [name])
        cut = _leading_block(given, want, tolerances[j])
        if cut is not None:
            axis, k = cut
            what = ("rows", "columns")[axis] if want.ndim == 2 else "entries"
            return CaseDiagnosis("hard_coded_size", [], _sentence(
                f"{name} is right in its first {k} {what} and zero beyond: is a size written into the code "
                f"(range({k}))? Take sizes from the arrays' .shape"), [name])
        if (given.shape != want.shape and given.size == want.size and given.ndim < want.ndim
                and _close(tolerances[j], given.reshape(want.shape), want)):
            return CaseDiagnosis("squeezed", [], _sentence(
                f"{name} has the right numbers but shape {_dims(given.shape)}, expected {_dims(want.shape)}: a "
                "squeeze, ravel or 1-D index dropped a dimension; keep the shape of the thing it is the gradient of "
                "(e.g. keepdims=True, or reshape)"), [name])
    return None


def _leading_block(given: Array, want: Array, tolerance: Tolerance) -> tuple[int, int] | None:
    """(axis, k) when `given` matches `want` in its first k rows or columns and is exactly zero beyond, where
    `want` is not: a loop over a fixed range."""
    if given.shape != want.shape or given.ndim not in (1, 2):
        return None
    for axis in range(given.ndim):
        others = tuple(a for a in range(given.ndim) if a != axis)
        used = np.any(given != 0, axis=others) if others else given != 0  # per row (or column): any nonzero
        k = int(np.flatnonzero(used)[-1]) + 1 if used.any() else 0
        if not 0 < k < given.shape[axis]:
            continue
        head, tail = np.split(given, [k], axis=axis), np.split(want, [k], axis=axis)
        if np.any(tail[1] != 0) and np.all(tolerance.close(head[0], tail[0])):
            return axis, k
    return None


def _orders(n: int) -> Iterator[tuple[int, ...]]:
    """Other orders of n outputs to try: all of them for a few outputs, else each swap of two (n! grows too
    fast to try on every failed test of a network with many weights)."""
    if n <= 4:
        yield from itertools.permutations(range(n))
        return
    for i, j in itertools.combinations(range(n), 2):
        order = list(range(n))
        order[i], order[j] = j, i
        yield tuple(order)


def _dims(shape: tuple[int, ...]) -> str:
    return "×".join(map(str, shape)) if shape else "() (a single number)"


def hard_coded_size(cases: Sequence[TestCase], passed: Sequence[bool]) -> dict[str, int] | None:
    """{size: value} when the function passed only where those sizes had those values (at least twice) and
    failed wherever one of them had another: the tell of sizes written into the code (range(3), a 3×4 array).
    The fewest sizes that explain it are named: one if one does, else two."""
    passing = [c for c, ok in zip(cases, passed, strict=True) if ok]
    failing = [c for c, ok in zip(cases, passed, strict=True) if not ok]
    if len(passing) < 2 or not failing:
        return None
    fixed = {name: passing[0].dims[name] for name in passing[0].dims
             if all(c.dims.get(name) == passing[0].dims[name] for c in passing)}
    for size in (1, 2):
        for names in itertools.combinations(sorted(fixed), size):
            if all(any(c.dims.get(n) != fixed[n] for n in names) for c in failing):
                return {n: int(fixed[n]) for n in names}
    return None


def fixed_shape(parts: Sequence[Any]) -> tuple[str, tuple[int, ...]] | None:
    """(output, shape) when an output came back with one shape in every test (three at least) while the shape
    expected changed with the test's sizes: its size is fixed in the code (np.zeros((3, 4)))."""
    given: dict[str, set[tuple[int, ...]]] = {}
    wanted: dict[str, set[tuple[int, ...]]] = {}
    counts: Counter[str] = Counter()
    for part in parts:
        for output in part.details.get("outputs", ()):
            given.setdefault(output["name"], set()).add(tuple(output["given_shape"]))
            wanted.setdefault(output["name"], set()).add(tuple(output["expected_shape"]))
            counts[output["name"]] += 1
    for name, shapes in given.items():
        if counts[name] >= 3 and len(shapes) == 1 and len(wanted[name]) > 1:
            shape = shapes.pop()
            if shape:  # a single number every time is a sum, not a fixed size (said by the shape message)
                return name, shape
    return None


def summary(diagnoses: Sequence[tuple[int, CaseDiagnosis]], failed: int) -> dict[str, Any] | None:
    """The mistake seen in most failed tests, said once at the top: {mistake, message, gates, tests}."""
    if not diagnoses or not failed:
        return None
    code, count = Counter(d.code for _, d in diagnoses).most_common(1)[0]
    if count < MOST * failed:
        return None
    chosen = [(i, d) for i, d in diagnoses if d.code == code]
    first = chosen[0][1]
    where = "In every failed test" if count == failed else f"In {count} of the {failed} failed tests"
    message = first.message
    if code == "batch_mean":
        verb = "are" if len(first.outputs) > 1 else "is"
        message = f"{' and '.join(first.outputs)} {verb} N times too small: did you average over the batch? " \
                  "The loss here is summed, so nothing is divided by N."
    if code == "hard_coded_size":  # said across the tests already
        said = message[0].upper() + message[1:] if message.startswith("your ") else message
    else:
        said = f"{where}: {message}"
    return {"mistake": code, "message": said,
            "gates": sorted({g for _, d in chosen for g in d.gates}), "tests": [i for i, _ in chosen]}
