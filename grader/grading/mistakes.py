"""Mistake diagnosis: replay the classic backpropagation mistakes and see which one the student made.

Each mistake is a *variation of one of the engine's gates* (a different local gradient, a loss gradient with
the wrong sign, a product gate that forgot to swap its inputs...). The engine's own backward pass runs with
that gate swapped in, once at each gate where the mistake can happen and once at every such gate at the
same time, and the asked answer is recomputed. The first mistake whose answer matches the student's names
the mistake and the gate(s) where it happened, so the page can highlight them. There is no second engine.

A few mistakes are not a different gate but a different *answer* taken from the engine's own gradients
(ANSWER_MISTAKES): the gradient one gate too early, or the whole answer negated. Messages name gates as the
prompts write them (`describe_gate`: "L = ½Σ(out − y)²", not "half_sse(out, y)").
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from grader.engine import Array, Gate, Step, unbroadcast
from grader.exercises import Ask, Variant
from grader.exercises.variants import expected_answer
from grader.grading.tolerance import Tolerance

ROUNDING_FIGURES = 2  # the notes round to two significant figures at each step (−0.31, −0.066, −0.053)
ROUNDING_BAND = 5.0  # an answer within 5× the tolerance is accepted as rounded too early (rounding_band)
CACHE_SIZE = 1024  # variants × asks whose candidate answers are kept (a few kB each)


Candidate = tuple[str, list[str], str, Array]  # (mistake code, gates, message, the answer under it)


@dataclass(frozen=True)
class Mistake:
    code: str
    applies: Callable[[Gate], bool]  # at which gates it can happen
    vary: Callable[[Gate], Gate]  # the gate as the student (wrongly) computed it
    explain: str  # plain words; {gate} is the gate, or the gates, as the prompts write them (describe_gate)
    explain_local: str | None = None  # for an ask of the local gradient or Jacobian itself (None: not a slip there)
    # Named even when its answer lies within the rounding band of the exact one: a conceptual slip that hides
    # there (the derivative at the output is often 2% off). False: within the band, rounding gets the benefit.
    named_in_band: bool = True


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


def _softmax_diagonal(gate: Gate) -> Gate:
    """Softmax treated as if it acted entry by entry: only the diagonal s(1 − s) of its Jacobian."""
    return replace(gate, backward=lambda g, out, z: (g * out * (1.0 - out),))


def _batch_rows(p: Array) -> float:
    return float(p.shape[0]) if p.ndim > 1 else 1.0  # what softmax_cross_entropy averages over


def _loss_gate(scale: Callable[[Array], float], flip: bool) -> Callable[[Gate], Gate]:
    def vary(gate: Gate) -> Gate:
        def backward(g: Array, out: Array, p: Array, t: Array, **options: Any) -> tuple[Array, ...]:
            dp, dt = gate.backward(g, out, p, t, **options)
            return (-dp if flip else dp) * scale(p), dt

        return replace(gate, backward=backward)

    return vary


MISTAKES: list[Mistake] = [
    Mistake("forgot_local_grad", _is_activation, _local(lambda out, z, **o: np.ones_like(z)),
            "you passed the gradient through {gate} without multiplying by the local gradient"),
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
    Mistake("softmax_diagonal", lambda gate: gate.name == "softmax", _softmax_diagonal,
            "at {gate} you used only the diagonal s_i(1 − s_i) of the softmax Jacobian, as if softmax acted "
            "entry by entry: every output depends on every input, so the off-diagonal terms −s_i s_j count too",
            "you gave only the diagonal of the softmax Jacobian: its off-diagonal entries are −s_i s_j, not 0 "
            "(every output of softmax depends on every input)", named_in_band=False),
    Mistake("ce_no_mean", lambda gate: gate.name == "softmax_cross_entropy", _loss_gate(_batch_rows, flip=False),
            "the loss gradient at {gate} is N times too large: the loss averages over the N rows of the batch, "
            "so its gradient is (s − y)/N, with s the softmax of each row", named_in_band=False),
    Mistake("sign_error", lambda gate: gate.name in ("half_sse", "mse", "softmax_cross_entropy"),
            _loss_gate(lambda p: 1.0, flip=True),
            "the loss gradient at {gate} has the wrong sign: it is the prediction minus the target, not the "
            "target minus the prediction"),
    Mistake("factor_two", lambda gate: gate.name == "half_sse", _loss_gate(lambda p: 2.0, flip=False),
            "the loss gradient at {gate} is off by a factor 2: the ½ cancels the 2 that the square brings down"),
]


def describe_gate(step: Step) -> str:
    """A gate as the prompts write it, with the step's own node names: "L = ½Σ(out − y)²", "z1 = x W1",
    "h = σ(z)". A gate without a notation falls back to its gate line ("z = op(a, b)")."""
    if not step.gate.notation:
        return str(step)
    return step.gate.notation.format(*step.args, out=step.name, **{**step.gate.options, **step.options})


def describe_gates(group: list[Step]) -> str:
    """One gate, or every gate a mistake was replayed at together: "both h1 = σ(z1) and out = σ(z2)"."""
    names = [describe_gate(step) for step in group]
    if len(names) == 1:
        return names[0]
    listed = ", ".join(names[:-1]) + " and " + names[-1]
    return ("both " if len(names) == 2 else "every one of ") + listed


_STOPPED_EARLY = ("you stopped one gate early: this is dL/d{out}, the gradient arriving at {gate}; one more step "
                  "back through that gate gives dL/d{node}")
_NEGATED = ("your answer has the opposite sign of the right one: the gradient given from above ({upstream}) "
            "is used as it is, so look for the step where a minus sign slipped in")


def _stopped_early(variant: Variant, ask: Ask) -> Iterator[Candidate]:
    """dL/dz given for dL/dw, z the output of a gate that consumes w (w1 in z = w1·x): where the shapes match."""
    grads = variant.solution.grads
    for step in variant.exercise.graph.steps:
        if ask.node in step.args and grads[step.name].shape == grads[ask.node].shape:
            message = _STOPPED_EARLY.format(out=step.name, gate=describe_gate(step), node=ask.node)
            yield "stopped_early", [step.name], message, _at(grads[step.name], ask)


def _negated(variant: Variant, ask: Ask) -> Iterator[Candidate]:
    """The whole answer negated, on an exercise with no loss gate (the upstream gradient is given), where no
    loss gradient can have the wrong sign (sign_error)."""
    if variant.upstream and not any(step.gate.kind == "loss" for step in variant.exercise.graph.steps):
        upstream = ", ".join(f"dL/d{node}" for node in variant.upstream)
        yield "negated", [], _NEGATED.format(upstream=upstream), -_at(variant.solution.grads[ask.node], ask)


# Answer-level mistakes (grad asks): candidates computed from the engine's own gradients, not gate variations,
# so not replayable at a gate. Never named within the rounding band (see Mistake.named_in_band).
ANSWER_MISTAKES: dict[str, Callable[[Variant, Ask], Iterator[Candidate]]] = {
    "stopped_early": _stopped_early,
    "negated": _negated,
}
# An answer of these within ROUNDING_BAND × the tolerance of the exact one is credited as rounding, not named
# (a table of how often each mistake is named skips those answers: they are not wrong).
NOT_NAMED_IN_BAND = frozenset({m.code for m in MISTAKES if not m.named_in_band} | set(ANSWER_MISTAKES))


@dataclass
class Diagnosis:
    mistake: str
    gates: list[str]  # node names of the gates where it happened
    message: str
    accepted: bool = False  # the rounding band: credited, and said

    def to_dict(self) -> dict[str, Any]:
        return {"mistake": self.mistake, "gates": self.gates, "message": self.message, "accepted": self.accepted}


@dataclass(frozen=True)
class _Replayed:
    """The candidates of one variant and ask, kept for the next wrong answer to the same ask."""

    exercise: Any  # the Exercise object they were computed for
    leaves: dict[str, Array]
    upstream: dict[str, Array] | None
    found: tuple[Candidate, ...]
    answers: Array | None  # every candidate's answer stacked along axis 0 (they share the ask's shape)
    not_in_band: Array  # per candidate: not named when its answer is within the rounding band of the exact one
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
    not_in_band = np.array([code in NOT_NAMED_IN_BAND for code, *_ in found], dtype=bool)
    entry = _Replayed(exercise, variant.leaves, variant.upstream, found, answers, not_in_band, early)
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
    each at one gate and then at every such gate at once, then ANSWER_MISTAKES. Local-gradient and Jacobian
    asks replay the local-gradient slips (explain_local) at their own gate.
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
    if ask.kind in ("local_grad", "jacobian"):
        step = graph.step_by_name[ask.node]
        z = solution.values[step.args[0]]
        for mistake in MISTAKES:
            if mistake.explain_local and mistake.applies(step.gate):
                gate = _varied(mistake, step.gate)
                if ask.kind == "jacobian":
                    answer = _jacobian(variant, step, gate)
                elif gate.local_grad is not None:
                    answer = _at(gate.local_grad(solution.values[ask.node], z, **step.options), ask)
                else:
                    continue
                yield mistake.code, [ask.node], mistake.explain_local, answer
        return
    if ask.kind != "grad":
        return
    yield from _replay_gates(variant, ask)
    for answer_mistake in ANSWER_MISTAKES.values():
        yield from answer_mistake(variant, ask)


def _jacobian(variant: Variant, step: Step, gate: Gate) -> Array:
    """d step / d its input with the step's gate replaced: row i is the engine's backward pass of the unit
    vector e_i arriving at the step (as variants.jacobian computes the exact one)."""
    solution, out = variant.solution, variant.solution.values[step.name]
    rows = []
    for i in range(out.size):
        unit = np.zeros(out.size)
        unit[i] = 1.0
        grads, _ = variant.exercise.graph.backward(solution.values, solution.local_grads,
                                                   {step.name: unit.reshape(out.shape)}, variations={step.name: gate})
        rows.append(np.ravel(grads[step.args[0]]))
    return np.array(rows)


def _replay_gates(variant: Variant, ask: Ask) -> Iterator[Candidate]:
    """Every gate mistake at each gate where it can happen, then at all of them at once."""
    solution, graph = variant.solution, variant.exercise.graph
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
            yield mistake.code, gates, mistake.explain.format(gate=describe_gates(group)), _at(grads[ask.node], ask)


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
    exact = np.broadcast_to(expected, answers.shape)
    changes = ~np.all(tolerance.close(answers, exact), axis=axes)
    matches = changes & np.all(tolerance.close(np.broadcast_to(given, answers.shape), answers), axis=axes)
    if not matches.any():
        return None
    shy = matches & replayed.not_in_band
    if shy.any():  # within the rounding band these give way to rounding_band (accepted, and said)
        matches &= ~(shy & np.all(tolerance.widened(ROUNDING_BAND).close(answers, exact), axis=axes))
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
                  factor: float = ROUNDING_BAND) -> Diagnosis | None:
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
