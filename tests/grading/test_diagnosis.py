"""Mistake diagnosis: one example per mistake (naming the mistake and the gate), and the table the issue asks
for: every numeric catalogue exercise × 100 seeds × every mistake that changes the answer beyond tolerance.

Run with `-s` to see the table; it is also written to artifacts/diagnosis-table.txt.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from grader.exercises import load_catalogue, make_variant
from grader.grading.mistakes import (
    ANSWER_MISTAKES,
    MISTAKES,
    NOT_NAMED_IN_BAND,
    ROUNDING_BAND,
    candidates,
    rounded_early,
)
from grader.grading.numeric import grade_answers
from grader.grading.result import CORRECT, INCORRECT
from grader.grading.tolerance import Tolerance

ROOT = Path(__file__).resolve().parents[2]
SEEDS = range(100)
MISTAKE_MIN = 0.95  # per mistake, over every exercise
CELL_MIN = 0.90  # per exercise × mistake, where there are at least CELL_CASES cases
CELL_CASES = 20
FALSE_DIAGNOSIS_MAX = 0.01
RANDOM_KINDS = (0, 1)  # one random wrong answer of each kind per ask and seed


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue(ROOT / "exercises")


def sig(z: float) -> float:
    return 1.0 / (1.0 + np.exp(-z))


# --- one example per mistake, worked by hand on the notes' 2-2-1 network (seed-two-layer-w1-22) ----------
# x = [0.1, 0.2], W1 = [[0.3, 0.4], [0.5, 0.6]], W2 = [[0.7], [0.8]], y = 1, L = ½(out − y)²; the ask is
# dL/dW1_22 = (out − y) · σ'(z2) · W2_21 · σ'(z1_2) · x_2.

X2, W1_22, W2_21 = 0.2, 0.6, 0.8
Z1 = np.array([0.1 * 0.3 + 0.2 * 0.5, 0.1 * 0.4 + 0.2 * 0.6])
H1 = sig(Z1)
Z2 = float(H1 @ [0.7, 0.8])
OUT = sig(Z2)
D_OUT, D_SIG2, D_SIG1 = OUT - 1.0, OUT * (1 - OUT), H1[1] * (1 - H1[1])
EXACT_W1_22 = D_OUT * D_SIG2 * W2_21 * D_SIG1 * X2

TWO_LAYER_EXAMPLES = [
    # (mistake, gates, the student's answer worked by hand, words the message must contain)
    ("sign_error", ["L"], -EXACT_W1_22, "wrong sign"),
    ("factor_two", ["L"], 2 * EXACT_W1_22, "factor 2"),
    ("forgot_local_grad", ["out"], D_OUT * W2_21 * D_SIG1 * X2, "out = σ(z2)"),
    ("used_output", ["out"], D_OUT * OUT * W2_21 * D_SIG1 * X2, "out = σ(z2)"),
    ("used_output", ["h1"], D_OUT * D_SIG2 * W2_21 * H1[1] * X2, "h1 = σ(z1)"),
    ("used_preactivation", ["out"], D_OUT * Z2 * W2_21 * D_SIG1 * X2, "out = σ(z2)"),
    ("used_preactivation", ["h1"], D_OUT * D_SIG2 * W2_21 * Z1[1] * X2, "h1 = σ(z1)"),
    # no swap at z1 = matmul(x, W1): the weight W1_22 where the input x_2 belongs
    ("no_swap", ["z1"], D_OUT * D_SIG2 * W2_21 * D_SIG1 * W1_22, "z1 = x W1"),
    # no swap at z2 = matmul(h1, W2): h1_2 where the weight W2_21 belongs
    ("no_swap", ["z2"], D_OUT * D_SIG2 * H1[1] * D_SIG1 * X2, "z2 = h1 W2"),
]


def diagnosis_of(variant, answers, ask=0):
    part = grade_answers(variant, answers).parts[ask]
    return part, part.diagnosis


def test_exact_by_hand_is_the_engines_answer(catalogue):
    v = make_variant(catalogue["seed-two-layer-w1-22"], 0)
    assert v.expected(v.exercise.asks[0]) == pytest.approx(EXACT_W1_22, rel=1e-12)


@pytest.mark.parametrize(("mistake", "gates", "answer", "words"), TWO_LAYER_EXAMPLES,
                         ids=[f"{m}@{','.join(g)}" for m, g, _, _ in TWO_LAYER_EXAMPLES])
def test_mistake_example_names_mistake_and_gate(catalogue, mistake, gates, answer, words):
    v = make_variant(catalogue["seed-two-layer-w1-22"], 0)
    typed = f"{answer:.3g}"  # as a student would type it
    part, diagnosis = diagnosis_of(v, {0: typed})
    assert part.status == INCORRECT and part.score == 0.0
    assert diagnosis is not None, f"{mistake}: no diagnosis for {typed}"
    assert (diagnosis["mistake"], diagnosis["gates"], diagnosis["accepted"]) == (mistake, gates, False)
    assert words in diagnosis["message"]
    assert diagnosis["message"] in part.message  # shown to the student


def test_relu_wrong_side_on_a_leaky_relu_layer(catalogue):
    v = make_variant(catalogue["leaky-relu-layer"], 0)
    z, g = v.solution.values["z"], v.upstream["h"]
    assert (z < 0).any() and (z > 0).any()  # both sides, or it would be the same as forgetting the gradient
    wrong_side = g * np.where(z > 0, 0.1, 1.0)  # alpha = 0.1 on the wrong side of zero
    part, diagnosis = diagnosis_of(v, {1: wrong_side.tolist()}, ask=1)
    assert part.status != CORRECT
    assert (diagnosis["mistake"], diagnosis["gates"]) == ("relu_wrong_side", ["h"])
    assert "wrong side" in diagnosis["message"]


@pytest.mark.parametrize(("ask", "gate"), [(0, "z1"), (2, "z3")])
def test_transposed_square_weight_gradient(catalogue, ask, gate):
    v = make_variant(catalogue["seed-three-layer-matrix"], 0)
    exact = v.expected(v.exercise.asks[ask])
    assert exact.shape[0] == exact.shape[1]
    part, diagnosis = diagnosis_of(v, {ask: exact.T.tolist()}, ask=ask)
    assert part.status in (INCORRECT, "partial")  # the diagonal is still right
    assert (diagnosis["mistake"], diagnosis["gates"]) == ("transposed", [gate])
    layer = {"z1": "z1 = x W1", "z3": "z3 = h2 W3"}[gate]
    assert "transposed" in diagnosis["message"] and layer in diagnosis["message"]


def test_used_output_in_a_local_gradient_ask(catalogue):
    v = make_variant(catalogue["gate-sigmoid"], 0)  # z = -2.1
    part, diagnosis = diagnosis_of(v, {1: f"{sig(-2.1):.4f}"}, ask=1)  # σ(z) in place of σ(z)(1 − σ(z))
    assert (diagnosis["mistake"], diagnosis["gates"]) == ("used_output", ["h"])


def test_exact_and_within_tolerance_answers_get_no_diagnosis(catalogue):
    v = make_variant(catalogue["seed-two-layer-w1-22"], 0)
    for typed in (EXACT_W1_22, f"{EXACT_W1_22:.3g}", EXACT_W1_22 * 1.009, EXACT_W1_22 * 0.991):
        part, diagnosis = diagnosis_of(v, {0: typed})
        assert (part.status, diagnosis) == (CORRECT, None)
        assert "mistake" not in part.message and "wrong" not in part.message


def test_rounded_too_early_is_accepted_within_the_band_and_said(catalogue):
    v = make_variant(catalogue["seed-chain-w1-22"], 0)
    part, diagnosis = diagnosis_of(v, {4: "-0.00270"}, ask=4)  # 3% off: outside 1%, inside the 5% band
    assert (part.status, part.score) == (CORRECT, 1.0)
    assert (diagnosis["mistake"], diagnosis["accepted"]) == ("rounded_early", True)
    assert "rounded intermediate results too early" in part.message


def test_a_wrong_answer_matching_no_mistake_gets_no_diagnosis(catalogue):
    v = make_variant(catalogue["seed-two-layer-w1-22"], 0)
    part, diagnosis = diagnosis_of(v, {0: "0.123"})
    assert (part.status, diagnosis) == (INCORRECT, None)


# --- the mistakes without a loss gate to blame, worked by hand ------------------------------------------

def softmax_rows(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_stopped_early_gives_the_gradient_of_the_consuming_gate(catalogue):
    v = make_variant(catalogue["gate-multiply"], 0)  # z = w·x, dL/dz given
    w, x, g = (float(a) for a in (v.leaves["w"], v.leaves["x"], v.upstream["z"]))
    assert abs(x - 1) > 0.2 and abs(w - 1) > 0.2  # dL/dz is then no near-miss of dL/dw or dL/dx
    for ask in (0, 1):  # dL/dz given for dL/dw, then for dL/dx
        part, diagnosis = diagnosis_of(v, {0: g * x, 1: g * w, ask: g}, ask=ask)
        assert (part.status, part.score) == (INCORRECT, 0.0)
        assert (diagnosis["mistake"], diagnosis["gates"]) == ("stopped_early", ["z"])
        assert "dL/dz" in diagnosis["message"] and "z = w·x" in diagnosis["message"]


def test_stopped_early_on_a_layer_where_the_shapes_match(catalogue):
    v = make_variant(catalogue["softmax-cross-entropy"], 0)  # x 2×2, W 2×3, z = x W 2×3: dL/dz for dL/dW
    dz = (softmax_rows(v.solution.values["z"]) - v.leaves["y"]) / 2
    part, diagnosis = diagnosis_of(v, {2: dz.tolist()}, ask=2)
    assert part.status != CORRECT
    assert (diagnosis["mistake"], diagnosis["gates"]) == ("stopped_early", ["z"])
    assert "z = x W" in diagnosis["message"] and "dL/dW" in diagnosis["message"]


def test_negated_answer_on_an_upstream_exercise(catalogue):
    v = make_variant(catalogue["gate-sigmoid"], 0)  # h = σ(z), dL/dh given: dL/dz = dL/dh · σ(z)(1 − σ(z))
    z, g = float(v.leaves["z"]), float(v.upstream["h"])
    part, diagnosis = diagnosis_of(v, {2: f"{-g * sig(z) * (1 - sig(z)):.4g}"}, ask=2)
    assert (part.status, part.score) == (INCORRECT, 0.0)
    assert (diagnosis["mistake"], diagnosis["gates"]) == ("negated", [])
    assert "opposite sign" in diagnosis["message"] and "dL/dh" in diagnosis["message"]


def test_negated_is_not_offered_where_a_loss_gate_is_to_blame(catalogue):
    v = make_variant(catalogue["seed-two-layer-w1-22"], 0)
    assert not [c for c, *_ in candidates(v, v.exercise.asks[0]) if c == "negated"]
    assert diagnosis_of(v, {0: -EXACT_W1_22})[1]["mistake"] == "sign_error"


def test_softmax_jacobian_with_only_its_diagonal(catalogue):
    v = make_variant(catalogue["jacobian-softmax"], 0)
    s = softmax_rows(v.leaves["z"])[0]
    exact = np.diag(s) - np.outer(s, s)
    assert np.allclose(v.expected(v.exercise.asks[1]), exact, rtol=1e-12)
    part, diagnosis = diagnosis_of(v, {1: np.diag(s * (1 - s)).round(4).tolist()}, ask=1)
    assert part.status != CORRECT and part.score < 0.5  # the diagonal alone: 3 of 9 entries
    assert (diagnosis["mistake"], diagnosis["gates"]) == ("softmax_diagonal", ["s"])
    assert "only the diagonal" in diagnosis["message"]
    # the same slip carried on to dL/dz = dL/ds J: dL/ds ⊙ s(1 − s)
    g = v.upstream["s"][0]
    part, diagnosis = diagnosis_of(v, {2: [(g * s * (1 - s)).round(4).tolist()]}, ask=2)
    assert (diagnosis["mistake"], diagnosis["gates"]) == ("softmax_diagonal", ["s"])
    assert "s = softmax(z)" in diagnosis["message"]


def test_local_gradient_slips_are_named_in_a_jacobian_ask(catalogue):
    v = make_variant(catalogue["jacobian-sigmoid-layer"], 0)  # dh/dz = diag(σ'(z)); σ(z) given for σ'(z)
    h = sig(v.solution.values["z"][0])
    part, diagnosis = diagnosis_of(v, {1: np.diag(h).round(4).tolist()}, ask=1)
    assert part.status != CORRECT
    assert (diagnosis["mistake"], diagnosis["gates"]) == ("used_output", ["h"])


@pytest.mark.parametrize("ask", [1, 2])
def test_cross_entropy_gradient_without_the_mean(catalogue, ask):
    v = make_variant(catalogue["softmax-cross-entropy"], 0)
    x, y = v.leaves["x"], v.leaves["y"]
    no_mean = softmax_rows(x @ v.leaves["W"]) - y  # (s − y) without the 1/N, N = 2 rows
    answer = no_mean if ask == 1 else x.T @ no_mean
    part, diagnosis = diagnosis_of(v, {ask: answer.round(5).tolist()}, ask=ask)
    assert (part.status, part.score) == (INCORRECT, 0.0)
    assert (diagnosis["mistake"], diagnosis["gates"]) == ("ce_no_mean", ["L"])
    assert "N times too large" in diagnosis["message"] and "log softmax(z)" in diagnosis["message"]


def with_leaves(variant, **leaves):
    """The same exercise with some numbers changed (and solved again)."""
    from grader.exercises import Variant

    changed = {**variant.leaves, **{k: np.array(float(x)) for k, x in leaves.items()}}
    return Variant(variant.exercise, variant.seed, variant.dims, changed, variant.upstream,
                   variant.exercise.graph.solve(changed, variant.upstream))


def test_new_mistakes_give_way_to_the_rounding_band(catalogue):
    # z = w·x with x = 1.03: dL/dz is 3% off dL/dw, inside the 5% band: accepted as rounding, not named.
    v = with_leaves(make_variant(catalogue["gate-multiply"], 0), x=1.03)
    g = float(v.upstream["z"])
    part, diagnosis = diagnosis_of(v, {0: g}, ask=0)
    assert (part.status, part.score, diagnosis["mistake"], diagnosis["accepted"]) == (CORRECT, 1.0, "rounded_early",
                                                                                      True)
    far = with_leaves(v, x=1.3)  # 30% off: named
    assert diagnosis_of(far, {0: g}, ask=0)[1]["mistake"] == "stopped_early"


def test_new_candidates_within_the_band_are_never_named(catalogue):
    # Over the catalogue: every candidate of a band-yielding mistake that lies within the band is credited.
    band_cases = 0
    for exercise in (e for e in catalogue.values() if e.kind == "numeric"):
        tolerance = Tolerance.from_spec(exercise.tolerance, "numeric").widened(ROUNDING_BAND)
        for seed in range(30):
            v = make_variant(exercise, seed)
            for i, ask in enumerate(exercise.asks):
                exact = v.expected(ask)
                for code, _, _, answer in candidates(v, ask):
                    if code in NOT_NAMED_IN_BAND and np.all(tolerance.close(answer, exact)):
                        band_cases += 1
                        part = grade_answers(v, {i: answer.tolist()}).parts[i]
                        named = part.diagnosis and not part.diagnosis["accepted"] and part.diagnosis["mistake"]
                        assert named not in NOT_NAMED_IN_BAND, (exercise.id, seed, code)
                        if not named:  # (an older mistake that gives the same answer is still named in the band)
                            assert (part.status, part.score) == (CORRECT, 1.0), (exercise.id, seed, code)
    assert band_cases > 100  # mostly answers a mistake leaves unchanged (an add gate passes dL/dz on as it is)


# --- the table --------------------------------------------------------------------------------------------

@dataclass
class Cell:
    cases: int = 0
    named: int = 0  # the diagnosis names the replayed mistake
    equivalent: int = 0  # it names another mistake that gives the very same answer here

    @property
    def hits(self) -> int:
        return self.named + self.equivalent


@dataclass
class Table:
    cells: dict[tuple[str, str], Cell] = field(default_factory=lambda: defaultdict(Cell))
    exact_cases: int = 0
    exact_failures: list[str] = field(default_factory=list)
    random_cases: int = 0
    random_diagnosed: int = 0
    random_by_mistake: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    random_examples: list[str] = field(default_factory=list)


def same_answer(a: np.ndarray, b: np.ndarray) -> bool:
    """Two mistakes give the same number (to rounding), so no grader could tell them apart from the answer."""
    return np.allclose(a, b, rtol=1e-9, atol=1e-12)


def random_wrong(exact: np.ndarray, rng: np.random.Generator, kind: int) -> np.ndarray:
    """Kind 0: each entry times a random factor in [−3, 3] at least 0.2 away from 1. Kind 1: random numbers
    of the answer's magnitude, either sign, not all within 20% of the exact entries (an answer within 5% is
    accepted by the rounding band: it is not a wrong answer)."""
    while True:
        if kind == 0:
            factor = rng.uniform(-3.0, 3.0, exact.shape)
            while np.any(near := np.abs(factor - 1.0) < 0.2):
                factor = np.where(near, rng.uniform(-3.0, 3.0, exact.shape), factor)
            return exact * factor
        scale = np.max(np.abs(exact)) or 1.0
        wrong = rng.uniform(-1.0, 1.0, exact.shape) * scale * 10.0 ** rng.uniform(-0.5, 0.5, exact.shape)
        if not np.all(np.abs(wrong - exact) <= 0.2 * np.abs(exact)):
            return wrong


@pytest.fixture(scope="module")
def table(catalogue) -> Table:
    table = Table()
    rng = np.random.default_rng(20260401)
    for exercise in catalogue.values():
        if exercise.kind != "numeric":
            continue
        tolerance = Tolerance.from_spec(exercise.tolerance, "numeric")
        band = tolerance.widened(ROUNDING_BAND)
        for seed in SEEDS:
            v = make_variant(exercise, seed)
            exact = {i: v.expected(ask) for i, ask in enumerate(exercise.asks)}
            typed = {i: e.tolist() for i, e in exact.items()}

            result = grade_answers(v, typed)
            table.exact_cases += 1
            if result.score != 1.0 or any(p.diagnosis or p.status != CORRECT for p in result.parts):
                table.exact_failures.append(f"{exercise.id} seed {seed}: {result.message}")

            for i, ask in enumerate(exercise.asks):
                found = candidates(v, ask)
                replays = [(code, answer) for code, _, _, answer in found]
                if ask.kind == "grad":
                    replays.append(("rounded_early", rounded_early(v, ask)))
                for code, answer in replays:
                    if answer.shape != exact[i].shape or np.all(tolerance.close(answer, exact[i])):
                        continue  # this mistake does not change the answer here: nothing to diagnose
                    if code in NOT_NAMED_IN_BAND and np.all(band.close(answer, exact[i])):
                        continue  # accepted as rounding (test_new_mistakes_give_way_to_the_rounding_band)
                    part = grade_answers(v, {**typed, i: answer.tolist()}).parts[i]
                    cell = table.cells[(exercise.id, code)]
                    cell.cases += 1
                    named = part.diagnosis and part.diagnosis["mistake"]
                    if named == code:
                        cell.named += 1
                    elif named:
                        # Two mistakes can give the same number: used_preactivation and used_output at an
                        # identity gate or a ReLU whose inputs are all positive, relu_wrong_side and
                        # forgot_local_grad where every z < 0, a sign error and a no-swap where W = −x.
                        # Naming either is right. "Equivalent" means the diagnosed mistake's own answer
                        # equals this one (to 1e-9), not merely within tolerance of it: the diagnosis is
                        # always within tolerance of the student's answer, so that would count anything.
                        gates = part.diagnosis["gates"]
                        other = [a for c, g, _, a in found if c == named and g == gates]
                        if other and same_answer(other[0], answer):
                            cell.equivalent += 1

                for kind in RANDOM_KINDS:
                    wrong = random_wrong(exact[i], rng, kind)
                    part = grade_answers(v, {**typed, i: wrong.tolist()}).parts[i]
                    table.random_cases += 1
                    if part.diagnosis is not None:
                        table.random_diagnosed += 1
                        table.random_by_mistake[part.diagnosis["mistake"]] += 1
                        if len(table.random_examples) < 10:
                            table.random_examples.append(
                                f"{exercise.id} seed {seed} ask {i}: {wrong.tolist()} -> {part.diagnosis['mistake']}")
    report = render(table)
    print("\n" + report)
    (ROOT / "artifacts").mkdir(exist_ok=True)
    (ROOT / "artifacts" / "diagnosis-table.txt").write_text(report + "\n", encoding="utf-8")
    return table


def per_mistake(table: Table) -> dict[str, Cell]:
    totals: dict[str, Cell] = defaultdict(Cell)
    for (_, code), cell in table.cells.items():
        total = totals[code]
        total.cases += cell.cases
        total.named += cell.named
        total.equivalent += cell.equivalent
    return totals


def render(table: Table) -> str:
    def pct(cell: Cell) -> str:
        return f"{cell.hits:>5} / {cell.cases:<5} {cell.hits / cell.cases:7.1%}  (named {cell.named}, " \
               f"equivalent {cell.equivalent})"

    lines = [f"Diagnosis of replayed mistakes: numeric catalogue × {len(SEEDS)} seeds "
             "(hits = the diagnosis names the mistake, or one giving the very same answer)", ""]
    width = max(len(e) for e, _ in table.cells) + 2
    for (exercise_id, code), cell in sorted(table.cells.items()):
        lines.append(f"{exercise_id:<{width}}{code:<20}{pct(cell)}")
    lines += ["", "Per mistake, over every exercise:"]
    for code, cell in sorted(per_mistake(table).items()):
        lines.append(f"{'':<{width}}{code:<20}{pct(cell)}")
    rate = table.random_diagnosed / table.random_cases
    lines += ["", f"Exact answers: {table.exact_cases - len(table.exact_failures)} / {table.exact_cases} "
                  "scored 1 with no mistake message",
              f"Random wrong answers: {table.random_diagnosed} / {table.random_cases} given a (false) "
              f"diagnosis = {rate:.3%}",
              "  by mistake: " + ", ".join(f"{k} {n}" for k, n in sorted(table.random_by_mistake.items()))]
    lines += [f"  e.g. {e}" for e in table.random_examples]
    return "\n".join(lines)


def test_table_covers_every_mistake(table):
    modelled = {m.code for m in MISTAKES} | set(ANSWER_MISTAKES) | {"rounded_early"}
    assert set(per_mistake(table)) == modelled, "a mistake never changes an answer in the catalogue"
    assert all(cell.cases >= 100 for cell in per_mistake(table).values())


def test_each_mistake_is_named_at_least_95_percent_overall(table):
    low = {code: f"{cell.hits}/{cell.cases}" for code, cell in per_mistake(table).items()
           if cell.hits < MISTAKE_MIN * cell.cases}
    assert not low


def test_each_exercise_and_mistake_cell_at_least_90_percent(table):
    low = {key: f"{cell.hits}/{cell.cases}" for key, cell in table.cells.items()
           if cell.cases >= CELL_CASES and cell.hits < CELL_MIN * cell.cases}
    assert not low


def test_rounded_too_early_is_accepted_or_named(table):
    # a hit is the band's acceptance or the diagnosis 'rounded_early': both name it
    cells = [cell for (_, code), cell in table.cells.items() if code == "rounded_early"]
    assert sum(c.named for c in cells) >= MISTAKE_MIN * sum(c.cases for c in cells)


def test_exact_answer_always_scores_1_without_a_mistake_message(catalogue, table):
    numeric = [e for e in catalogue.values() if e.kind == "numeric"]
    assert len(numeric) >= 17 and table.exact_cases == len(SEEDS) * len(numeric)
    assert table.exact_failures == []


def test_random_wrong_answers_are_rarely_diagnosed(table):
    assert table.random_cases > 10_000
    assert table.random_diagnosed <= FALSE_DIAGNOSIS_MAX * table.random_cases, table.random_examples


# --- the candidate cache ----------------------------------------------------------------------------------

def test_cached_candidates_are_not_used_for_other_numbers(catalogue):
    from grader.exercises import Variant

    v = make_variant(catalogue["seed-two-layer-w1-22"], 0)
    ask = v.exercise.asks[0]
    assert diagnosis_of(v, {0: -EXACT_W1_22})[1]["mistake"] == "sign_error"  # fills the cache
    leaves = {**v.leaves, "x": np.array([[0.3, -0.7]])}  # same id, version and seed; other numbers
    other = Variant(v.exercise, v.seed, v.dims, leaves, None, v.exercise.graph.solve(leaves))
    exact = float(other.expected(ask))
    assert abs(exact - EXACT_W1_22) > 0.1 * abs(EXACT_W1_22)
    part, diagnosis = diagnosis_of(other, {0: -exact})
    assert (part.status, diagnosis["mistake"]) == (INCORRECT, "sign_error")
    assert diagnosis_of(other, {0: -EXACT_W1_22})[1] is None  # the first variant's sign error


def test_cached_answers_are_read_only_copies(catalogue):
    v = make_variant(catalogue["jacobian-sigmoid-layer"], 0)
    h = v.solution.values["h"]
    found = candidates(v, v.exercise.asks[0])  # used_output's local gradient is the gate's output h itself
    used_output = [answer for code, _, _, answer in found if code == "used_output"]
    assert used_output and np.array_equal(used_output[0], h)
    assert not any(answer.flags.writeable for *_, answer in found)
    assert h.flags.writeable  # the variant's own array is not frozen
