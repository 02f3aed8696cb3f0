"""A corpus entry: a submission's source, the exercise it answers, its expected verdict and named mistake."""

from __future__ import annotations

from dataclasses import dataclass

CORRECT, WRONG = "correct", "wrong"

# The mistakes the code grader names (issue 10, point 5): replayed gate mistakes, then code-typical ones.
GATE_MISTAKES = ("forgot_local_grad", "used_output", "used_preactivation", "relu_wrong_side", "derivative_at_output",
                 "formula_on_input", "no_swap", "transposed", "sign_error", "factor_two")
CODE_MISTAKES = ("batch_mean", "wrong_order", "ignored_upstream", "relu_one_at_zero", "hard_coded_size", "squeezed")
MISTAKE_CODES = GATE_MISTAKES + CODE_MISTAKES

EXERCISES = ("code-affine-backward", "code-relu-backward", "code-sigmoid-backward", "code-three-layer-backward")
# Only the ReLU exercise forbids changing the inputs in place (its prompt says so); the others allow it.
FORBIDS_IN_PLACE = frozenset({"code-relu-backward"})


@dataclass(frozen=True)
class Entry:
    name: str
    exercise: str  # a catalogue id, one of EXERCISES
    code: str
    verdict: str  # CORRECT or WRONG
    mistake: str | None = None  # the mistake the grader should name on its failed tests (WRONG only)
    float32: bool = False  # computes in float32: checked at float32 precision
    big_print: bool = False  # prints more than the sandbox's output cap over a grading run
    in_place: bool = False  # changes an input array in place
    note: str = ""  # what makes it worth having

    def __post_init__(self) -> None:
        assert self.exercise in EXERCISES, self.exercise
        assert self.verdict in (CORRECT, WRONG), self.verdict
        assert self.mistake is None or (self.verdict == WRONG and self.mistake in MISTAKE_CODES), self.mistake


def correct(name: str, exercise: str, code: str, *, float32: bool = False, big_print: bool = False,
            in_place: bool = False, note: str = "") -> Entry:
    return Entry(name, exercise, code, CORRECT, None, float32, big_print, in_place, note)


def wrong(name: str, exercise: str, code: str, mistake: str | None, *, in_place: bool = False,
          note: str = "") -> Entry:
    return Entry(name, exercise, code, WRONG, mistake, in_place=in_place, note=note)
