"""Mistake diagnosis: replay the classic backpropagation mistakes and see which one the student made.

Each mistake is a *variation of one of the engine's gates* (a different local gradient, a loss gradient with
the wrong sign, a product gate that forgot to swap its inputs...). The engine's own backward pass runs with
that gate swapped in, once at each gate where the mistake can happen and once at every such gate at the
same time, and the asked answer is recomputed. The first mistake whose answer matches the student's names
the mistake and the gate(s) where it happened, so the page can highlight them. There is no second engine.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from grader.engine import Array, Gate, unbroadcast
from grader.exercises import Ask, Variant
from grader.exercises.variants import expected_answer
from grader.grading.tolerance import Tolerance

ROUNDING_FIGURES = 2  # the notes round to two significant figures at each step (−0.31, −0.066, −0.053)
CACHE_SIZE = 1024  # variants × asks whose candidate answers are kept (a few kB each)


@dataclass(frozen=True)
class Mistake:
    code: str
    applies: Callable[[Gate], bool]  # at which gates it can happen
    vary: Callable[[Gate], Gate]  # the gate as the student (wrongly) computed it
    explain: str  # plain words; {gate} is the gate's line
    explain_local: str | None = None  # for an ask of the local gradient itself (None: not a local-gradient slip)


def _local(fn: Callable[..., Array]) -> Callable[[Gate], Gate]:
    return lambda gate: replace(gate, local_grad=fn)


def _backward(fn: Callable[..., tuple[Array, ...]]) -> Callable[[Gate], Gate]:
    return lambda gate: replace(gate, backward=fn)


def _is_activation(gate: Gate) -> bool:
    return gate.local_grad is not None


def _derivative_at_output(gate: Gate) -> Gate:
    """g'(h) in place of g'(z): the derivative taken at the gate's output, as if it were the input."""
    def local_grad(out: Array, z: Array, **o: Any) -> Array:
        with np.errstate(over="ignore"):  # exp(exp(z)) overflows for z > 6.6: an answer nobody typed
            return gate.local_grad(gate.forward(out, **o), out, **o)

    return replace(gate, local_grad=local_grad)


def _formula_on_input(gate: Gate) -> Gate:
    """The derivative written in terms of the output (h(1 − h), 1 − h²) with z put in: z(1 − z), 1 − z²."""
    return replace(gate, local_grad=lambda out, z, **o: gate.local_grad(z, z, **o))


def _no_swap(gate: Gate) -> Gate:
    """Each input multiplied by itself instead of by the other input. For matmul, the gate view of the same
    slip: dW[i, j] = W[i, j] * g[j] in place of x[i] * g[j]."""
    if gate.name == "matmul":
        return replace(gate, backward=lambda g, out, a, b: (a * g.sum(axis=1, keepdims=True),
                                                            b * g.sum(axis=0, keepdims=True)))
    return replace(gate, backward=lambda g, out, a, b: (unbroadcast(g * a, a.shape), unbroadcast(g * b, b.shape)))


def _transposed(g: Array, out: Array, a: Array, b: Array) -> tuple[Array, Array]:
    """Each square gradient of the gate comes out transposed. A non-square one cannot be transposed without
    changing its shape (that is a shape error, caught before diagnosis), so it is left as it is: in
    z = x W with a single input row, dW is transposed and dx is not."""
    da, db = g @ b.T, a.T @ g
    square = [d.shape[0] == d.shape[1] for d in (da, db)]
    if not any(square):
        raise ValueError("only a square gradient can be transposed without changing its shape")
    return (da.T if square[0] else da), (db.T if square[1] else db)


def _loss_gate(scale: float, flip: bool) -> Callable[[Gate], Gate]:
    def vary(gate: Gate) -> Gate:
        def backward(g: Array, out: Array, p: Array, t: Array, **options: Any) -> tuple[Array, ...]:
            dp, dt = gate.backward(g, out, p, t, **options)
            return (-dp if flip else dp) * scale, dt

        return replace(gate, backward=backward)

    return vary


MISTAKES: list[Mistake] = [
    Mistake("forgot_local_grad", _is_activation, _local(lambda out, z, **o: np.ones_like(z)),
            "you passed the gradient through {gate} without multiplying by its local gradient"),
    Mistake("used_output", _is_activation, _local(lambda out, z, **o: out),
            "at {gate} you multiplied by the activation's output instead of its derivative",
            "you gave the activation's output h where its derivative g'(z) belongs"),
    Mistake("used_preactivation", _is_activation, _local(lambda out, z, **o: z),
            "at {gate} you multiplied by the pre-activation z instead of the activation's derivative",
            "you gave the pre-activation z where the activation's derivative g'(z) belongs"),
    Mistake("relu_wrong_side", lambda gate: gate.name in ("relu", "leaky_relu"),
            _local(lambda out, z, alpha=0.0, **o: np.where(z > 0, alpha, 1.0)),
            "at {gate} you let the gradient through where z < 0 and blocked it where z > 0 (the wrong side)",
            "you put the derivative on the wrong side of zero: it is 1 where z > 0 and 0 (or α) where z < 0"),
    Mistake("derivative_at_output", _is_activation, _derivative_at_output,
            "at {gate} you took the derivative at the output h instead of at the input z (g'(h) in place of g'(z))",
            "you took the derivative at the output h instead of at the input z (g'(h) in place of g'(z))"),
    Mistake("formula_on_input", _is_activation, _formula_on_input,
            "at {gate} you put z into the derivative's formula in terms of the output (z(1 − z) or 1 − z² in "
            "place of h(1 − h) or 1 − h², with h the output)",
            "you put z into the derivative's formula in terms of the output (z(1 − z) or 1 − z² in place of "
            "h(1 − h) or 1 − h², with h the output)"),
    Mistake("no_swap", lambda gate: gate.name in ("mul", "matmul"), _no_swap,
            "at {gate} you multiplied by the input itself instead of the other input (the gate swaps them)"),
    Mistake("transposed", lambda gate: gate.name == "matmul", _backward(_transposed),
            "at {gate} the gradient came out transposed (dW = X.T @ G, dX = G @ W.T)"),
    Mistake("sign_error", lambda gate: gate.name in ("half_sse", "mse", "softmax_cross_entropy"),
            _loss_gate(1.0, flip=True),
            "the loss gradient at {gate} has the wrong sign: it is (out − y), not (y − out)"),
    Mistake("factor_two", lambda gate: gate.name == "half_sse", _loss_gate(2.0, flip=False),
            "the loss gradient at {gate} is off by a factor 2: the ½ in ½(out − y)² cancels the 2"),
]


@dataclass
class Diagnosis:
    mistake: str
    gates: list[str]  # node names of the gates where it happened
    message: str
    accepted: bool = False  # the rounding band: credited, and said

    def to_dict(self) -> dict[str, Any]:
        return {"mistake": self.mistake, "gates": self.gates, "message": self.message, "accepted": self.accepted}


Candidate = tuple[str, list[str], str, Array]  # (mistake code, gates, message, the answer under it)


@dataclass(frozen=True)
class _Replayed:
    """The candidates of one variant and ask, kept for the next wrong answer to the same ask."""

    exercise: Any  # the Exercise object they were computed for
    leaves: dict[str, Array]
    upstream: dict[str, Array] | None
    found: tuple[Candidate, ...]
    answers: Array | None  # every candidate's answer stacked along axis 0 (they share the ask's shape)
    early: Array | None  # the answer with intermediate results rounded too early (grad asks)


# (exercise id, version, seed, ask) -> _Replayed. A variant is a pure function of (id, version, seed), but an
# entry is used only for the same Exercise object and the same numbers, so an edited definition or a
# hand-made variant is never diagnosed from stale answers.
_cache: OrderedDict[tuple[Any, ...], _Replayed] = OrderedDict()
_lock = threading.Lock()  # the service may grade in several threads


def _replayed(variant: Variant, ask: Ask) -> _Replayed:
    exercise = variant.exercise
    key = (exercise.id, exercise.version, variant.seed, ask)
    with _lock:
        entry = _cache.get(key)
        if (entry is not None and entry.exercise is exercise and _same_numbers(entry.leaves, variant.leaves)
                and _same_numbers(entry.upstream, variant.upstream)):
            _cache.move_to_end(key)
            return entry
    found = tuple((code, gates, message, _frozen(answer)) for code, gates, message, answer in _replay(variant, ask))
    shapes = {answer.shape for *_, answer in found}
    answers = np.stack([answer for *_, answer in found]) if len(shapes) == 1 else None
    early = _frozen(_replay_rounded(variant, ask)) if ask.kind == "grad" else None
    entry = _Replayed(exercise, variant.leaves, variant.upstream, found, answers, early)
    with _lock:
        _cache[key] = entry
        if len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return entry


def _frozen(answer: Array) -> Array:
    """A read-only copy: cached answers are shared by every later diagnosis of the ask, and an answer can be
    the variant's own array (a local gradient replaced by the activation's output is that output)."""
    answer = np.array(answer, dtype=np.float64)
    answer.flags.writeable = False
    return answer


def candidates(variant: Variant, ask: Ask) -> tuple[Candidate, ...]:
    """(mistake code, gates, message, the answer under that mistake) for every mistake that could apply,
    each at one gate and then at every such gate at once. Local-gradient and value asks have their own.
    Computed once per variant and ask and kept in a small LRU cache: they take up to ~25 backward passes."""
    return _replayed(variant, ask).found


def _same_numbers(a: dict[str, Array] | None, b: dict[str, Array] | None) -> bool:
    if a is b:
        return True
    if a is None or b is None or a.keys() != b.keys():
        return False
    return all(x is b[k] or np.array_equal(x, b[k]) for k, x in a.items())


def _replay(variant: Variant, ask: Ask) -> Iterator[Candidate]:
    exercise, solution = variant.exercise, variant.solution
    graph = exercise.graph
    if ask.kind == "local_grad":
        step = graph.step_by_name[ask.node]
        z = solution.values[step.args[0]]
        for mistake in MISTAKES:
            if mistake.explain_local and mistake.applies(step.gate):
                local = mistake.vary(step.gate).local_grad(solution.values[ask.node], z, **step.options)
                yield mistake.code, [ask.node], mistake.explain_local, _at(local, ask)
        return
    if ask.kind != "grad":
        return
    for mistake in MISTAKES:
        steps = [s for s in graph.steps if mistake.applies(s.gate)]
        groups = [[s] for s in steps] + ([steps] if len(steps) > 1 else [])
        for group in groups:
            variations = {s.name: _varied(mistake, s.gate) for s in group}
            try:
                grads, _ = graph.backward(solution.values, solution.local_grads, variant.upstream,
                                          variations=variations)
            except ValueError:
                continue  # the mistake cannot produce an answer of this shape
            gates = [s.name for s in group]
            where = str(group[0]) if len(group) == 1 else "every " + group[0].gate.name + " gate"
            yield mistake.code, gates, mistake.explain.format(gate=where), _at(grads[ask.node], ask)


# (mistake code, id(gate)) -> (gate, the gate as varied by the mistake): a gate's variation is a pure function of
# the gate, and graphs share the engine's GATES, so each is built once (dataclasses.replace is not free).
_variations: dict[tuple[str, int], tuple[Gate, Gate]] = {}


def _varied(mistake: Mistake, gate: Gate) -> Gate:
    key = (mistake.code, id(gate))
    entry = _variations.get(key)
    if entry is None or entry[0] is not gate:
        entry = _variations[key] = (gate, mistake.vary(gate))
    return entry[1]


def rounded_early(variant: Variant, ask: Ask) -> Array:
    """The answer when every intermediate gradient is rounded to ROUNDING_FIGURES significant figures
    (kept with the ask's candidates: every wrong answer that no mistake explains is compared with it)."""
    if ask.kind != "grad":
        return expected_answer(variant.exercise, variant.solution, ask)
    return _replayed(variant, ask).early


def _replay_rounded(variant: Variant, ask: Ask) -> Array:
    solution = variant.solution
    grads, _ = variant.exercise.graph.backward(solution.values, solution.local_grads, variant.upstream,
                                               transform=_round_sigfigs)
    return _at(grads[ask.node], ask)


def _round_sigfigs(x: Array, figures: int = ROUNDING_FIGURES) -> Array:
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(divide="ignore"):
        magnitude = np.where(x != 0, np.floor(np.log10(np.abs(np.where(x != 0, x, 1.0)))), 0.0)
    scale = 10.0 ** (figures - 1 - magnitude)
    return np.round(x * scale) / scale


def _at(full: Array, ask: Ask) -> Array:
    return np.asarray(full[ask.index]) if ask.index is not None else np.asarray(full)


def diagnose(variant: Variant, ask: Ask, given: Array, expected: Array, tolerance: Tolerance) -> Diagnosis | None:
    """The mistake that explains a wrong answer, or None. Only mistakes that change the answer beyond the
    tolerance are considered, so a correct answer never gets a mistake message. When several mistakes match
    within the tolerance, the closest one is named (on a tie, the first in MISTAKES order, one gate first)."""
    replayed = _replayed(variant, ask)
    answers = replayed.answers
    if answers is None or answers.shape[1:] != expected.shape:
        return None  # no mistake gives an answer of this shape
    axes = tuple(range(1, answers.ndim))
    changes = ~np.all(tolerance.close(answers, np.broadcast_to(expected, answers.shape)), axis=axes)
    matches = changes & np.all(tolerance.close(np.broadcast_to(given, answers.shape), answers), axis=axes)
    if not matches.any():
        return None
    distance = _distance(given, answers, tolerance, axes)
    best = int(np.argmin(np.where(matches, distance, np.inf)))
    early = replayed.early
    if early is not None and np.all(tolerance.close(given, early)) and (
            _distance(given, early[None], tolerance, axes) <= distance[best]).all():
        return None  # the early-rounded chain explains it as well: a slip of rounding (rounding_band), not this
    code, gates, message, _ = replayed.found[best]
    return Diagnosis(code, list(gates), message[0].upper() + message[1:] + ".")


def _from_given_numbers(variant: Variant, node: str) -> bool:
    step = variant.exercise.graph.step_by_name.get(node)
    return step is not None and all(arg in variant.leaves for arg in step.args)


def _distance(given: Array, answers: Array, tolerance: Tolerance, axes: tuple[int, ...]) -> Array:
    """How far `given` is from each stacked answer, relative to its size (atol as a floor)."""
    with np.errstate(all="ignore"):
        return np.max(np.abs(given - answers) / (np.abs(answers) + tolerance.atol + 1e-300), axis=axes, initial=0.0)


def rounding_band(variant: Variant, ask: Ask, given: Array, expected: Array, tolerance: Tolerance,
                  factor: float = 5.0) -> Diagnosis | None:
    """Intermediate results rounded too early: accepted within a band `factor` times wider, and said;
    beyond the band, diagnosed when the answer matches the early-rounded chain."""
    if ask.kind == "value" and _from_given_numbers(variant, ask.node):
        return None  # one gate applied to the numbers shown: there was nothing in between to round
    wide = tolerance.widened(factor)
    if np.all(wide.close(given, expected)):
        return Diagnosis("rounded_early", [], "Accepted, but it is only within a wider band: you probably rounded "
                         "intermediate results too early. Keep at least 4 significant figures until the end.",
                         accepted=True)
    if ask.kind == "grad":
        early = rounded_early(variant, ask)
        if not np.all(tolerance.close(early, expected)) and np.all(tolerance.close(given, early)):
            return Diagnosis("rounded_early", [], "You rounded intermediate results too early: rounding each step "
                             "to two figures gives exactly your answer. Keep at least 4 significant figures.")
    return None
