"""Variants: a student's own numbers, drawn deterministically from (exercise id, version, seed), and solved.

Degenerate draws are rejected and drawn again from the same generator (bounded), so a variant stays a pure
function of (id, version, seed): a ReLU input within 1e-3 of its kink, or an asked gradient that is exactly
zero (unless `allow_zero`) or so small that it is below the tolerance's atol (a saturated sigmoid or tanh).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from grader.engine import Array, Solution
from grader.exercises.definition import Ask, DefinitionError, Exercise

MAX_DRAWS = 200
KINK_MARGIN = 1e-3
DEFAULT_ATOL = {"numeric": 1e-6, "code": 1e-9}


class DegenerateVariantError(RuntimeError):
    """Every draw of a variant was degenerate: the exercise's random rules need widening."""


@dataclass
class Variant:
    exercise: Exercise
    seed: int
    dims: dict[str, int]
    leaves: dict[str, Array]
    upstream: dict[str, Array] | None
    solution: Solution

    def expected(self, ask: Ask) -> Array:
        """The exact answer to one ask."""
        return expected_answer(self.exercise, self.solution, ask)


@lru_cache(maxsize=4096)
def _id_key(exercise_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(exercise_id.encode(), digest_size=8).digest(), "little")


def generator(exercise: Exercise, seed: int, stream: int = 0) -> np.random.Generator:
    """The random stream of one variant (stream 0) or of one of its test cases (stream 1, 2, ...)."""
    return np.random.Generator(np.random.PCG64([_id_key(exercise.id), exercise.version, seed, stream]))


def draw_dims(specs: dict[str, Any], rng: np.random.Generator) -> dict[str, int]:
    dims = {}
    for name, spec in specs.items():
        if isinstance(spec, int):
            dims[name] = spec
        elif "integers" in spec:
            lo, hi = spec["integers"]
            dims[name] = int(rng.integers(lo, hi + 1))
        else:
            dims[name] = int(rng.choice(spec["choice"]))
    return dims


def draw_tensor(spec: dict[str, Any], dims: dict[str, int], rng: np.random.Generator) -> Array:
    shape = tuple(d if isinstance(d, int) else dims[d] for d in spec["shape"])
    if "value" in spec:
        return np.array(spec["value"], dtype=np.float64).reshape(shape)
    rule = spec["random"]
    for _ in range(MAX_DRAWS):
        x = _draw(rule, shape, rng)
        if not rule.get("nonzero") or np.all(x != 0):
            return x
    raise DegenerateVariantError(f"could not draw nonzero numbers from {rule}")


def _draw(rule: dict[str, Any], shape: tuple[int, ...], rng: np.random.Generator) -> Array:
    if "uniform" in rule:
        x = rng.uniform(*rule["uniform"], size=shape)
    elif "normal" in rule:
        x = rng.normal(*rule["normal"], size=shape)
    elif "integers" in rule:
        lo, hi = rule["integers"]
        x = rng.integers(lo, hi + 1, size=shape).astype(np.float64)
    else:
        x = rng.choice(np.asarray(rule["choice"], dtype=np.float64), size=shape)
    if "decimals" in rule:
        x = np.round(x, rule["decimals"])
    return np.asarray(x, dtype=np.float64)


def draw(exercise: Exercise, rng: np.random.Generator, dims: dict[str, int] | None = None
         ) -> tuple[dict[str, int], dict[str, Array], dict[str, Array] | None, Solution]:
    """One draw of dims, tensors and upstream gradients, solved by the engine (no degeneracy check)."""
    dims = dims if dims is not None else draw_dims(exercise.dims, rng)
    leaves = {name: draw_tensor(spec, dims, rng) for name, spec in exercise.tensors.items()}
    upstream = None
    if exercise.upstream:
        upstream = {name: draw_tensor(spec, dims, rng) for name, spec in exercise.upstream.items()}
    return dims, leaves, upstream, exercise.graph.solve(leaves, upstream)


def make_variant(exercise: Exercise, seed: int) -> Variant:
    """The variant for `seed`: the same numbers every time, never a degenerate draw, never an overflow."""
    rng = generator(exercise, seed)
    reason = ""
    for _ in range(MAX_DRAWS):
        with np.errstate(all="ignore"):  # an overflow is caught below, by its result
            dims, leaves, upstream, solution = draw(exercise, rng)
        overflow = overflowed(solution)
        reason = overflow or degeneracy(exercise, solution)
        # Fixed numbers are the author's choice, degenerate or not; but nobody can type or grade infinity.
        if not reason or (not overflow and not is_random(exercise)):
            return Variant(exercise, seed, dims, leaves, upstream, solution)
        if not is_random(exercise):
            break  # fixed numbers: drawing again cannot help
    raise DegenerateVariantError(f"{exercise.id}: every draw was degenerate ({reason}) for seed {seed}")


def check_drawable(exercise: Exercise, seeds: range = range(3)) -> None:
    """Refuse (DefinitionError) a definition that cannot give students numbers: its draws are all degenerate
    or overflow. Checked when a definition is stored, so students never meet it."""
    for seed in seeds:
        try:
            make_variant(exercise, seed)
        except DegenerateVariantError as exc:
            raise DefinitionError([f"(top level): cannot draw a variant: {exc}"]) from None


def overflowed(solution: Solution) -> str:
    """Why a draw's numbers cannot be shown or graded: a value or gradient that is not finite ('' if none)."""
    for kind, arrays in (("value", solution.values), ("gradient", solution.grads),
                         ("local gradient", solution.local_grads)):
        for name, array in arrays.items():
            if not np.all(np.isfinite(array)):
                return f"the {kind} of {name} overflows (is not finite)"
    return ""


def is_random(exercise: Exercise) -> bool:
    specs = [*exercise.tensors.values(), *(exercise.upstream or {}).values()]
    return bool(exercise.dims) or any("random" in spec for spec in specs)


def degeneracy(exercise: Exercise, solution: Solution) -> str:
    """Why a draw is unfit to grade ('' if it is fine)."""
    graph, values = exercise.graph, solution.values
    for step in graph.steps:
        if step.gate.name in ("relu", "leaky_relu") and np.any(np.abs(values[step.args[0]]) < KINK_MARGIN):
            return f"an input of {step.name} = {step.gate.name}(...) lies within {KINK_MARGIN} of the kink"
    atol = (exercise.tolerance or {}).get("atol", DEFAULT_ATOL[exercise.kind])
    for ask in exercise.asks:
        if ask.kind != "grad":
            continue
        answer = np.abs(expected_answer(exercise, solution, ask))
        if not exercise.allow_zero and np.all(answer == 0):
            return f"the asked gradient of {ask.node} is exactly zero"
        if np.any((answer > 0) & (answer < atol)):
            return f"the asked gradient of {ask.node} is below the tolerance ({atol:g}): a saturated gate"
    return ""


def expected_answer(exercise: Exercise, solution: Solution, ask: Ask) -> Array:
    if ask.kind == "grad":
        full = solution.grads[ask.node]
    elif ask.kind == "value":
        full = solution.values[ask.node]
    elif ask.kind == "local_grad":
        full = solution.local_grads[ask.node]
    else:
        full = jacobian(exercise, solution, ask.node)
    return np.asarray(full[ask.index]) if ask.index is not None else full


def jacobian(exercise: Exercise, solution: Solution, node: str) -> Array:
    """d node / d input of a single-row activation gate, row i = the gate's backward of the unit vector e_i
    (so it is exact for any activation, softmax included, with no formula of its own)."""
    step = exercise.graph.step_by_name[node]
    out, z = solution.values[node], solution.values[step.args[0]]
    n = out.size
    rows = []
    for i in range(n):
        unit = np.zeros(n)
        unit[i] = 1.0
        (dz,) = step.gate.backward(unit.reshape(out.shape), out, z, **step.options)
        rows.append(np.ravel(dz))
    return np.array(rows)
