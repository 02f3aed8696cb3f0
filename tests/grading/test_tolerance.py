"""Tolerance: defaults, spec validation, the rtol/atol and significant-figure rules, describe()."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.grading.tolerance import Tolerance

# The notebook's backward chain, each step rounded by hand, against the exact values.
HAND_ROUNDED = np.array([-0.309, -0.066, -0.053, -0.0131, -0.00262])
EXACT = np.array([-0.30903174, -0.06598789, -0.05279031, -0.01311347, -0.0026226946])


def test_defaults():
    tol = Tolerance()
    assert (tol.rtol, tol.atol, tol.sigfigs) == (0.01, 1e-6, None)
    assert Tolerance.from_spec(None) == tol
    assert Tolerance.from_spec({}) == tol
    code = Tolerance.from_spec(None, kind="code")
    assert (code.rtol, code.atol, code.sigfigs) == (1e-6, 1e-9, None)


def test_notebook_hand_rounded_chain_is_close_under_the_default():
    assert Tolerance().close(HAND_ROUNDED, EXACT).all()
    # -0.053 vs -0.05279 is the loosest step: 0.4% off, well inside 1%.
    assert abs(-0.053 - -0.05279031) / 0.05279031 < 0.005


def test_rtol_atol_rule():
    tol = Tolerance(rtol=0.01, atol=1e-6)
    expected = np.array([1.0, 1.0, 1.0, -2.0, 0.0, 0.0, 0.0])
    given = np.array([1.0099, 1.0101, 0.9899, -2.019, 9e-7, 1.1e-6, -5e-7])
    assert tol.close(given, expected).tolist() == [True, False, False, True, True, False, True]


def test_close_is_elementwise_and_keeps_shape():
    tol = Tolerance()
    result = tol.close(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[1.0, 2.5], [3.0, 4.0]]))
    assert result.dtype == bool
    assert result.tolist() == [[True, False], [True, True]]


def test_nan_and_inf_are_never_close():
    tol = Tolerance()
    given = np.array([np.nan, np.inf, -np.inf, 1.0])
    expected = np.array([np.nan, np.inf, 1.0, np.inf])
    assert not tol.close(given, expected).any()


def test_close_refuses_to_broadcast():
    with pytest.raises(ValueError, match="shapes differ"):
        Tolerance().close(np.array(1.0), np.array([1.0, 1.0]))


def test_overflowing_difference_is_not_close():
    assert not Tolerance().close(np.array(1e308), np.array(-1e308))


# --- significant figures --------------------------------------------------------------------------------


def test_sigfigs_accepts_rounding_and_half_a_unit():
    tol = Tolerance(sigfigs=3)
    exact = np.full(6, 0.30903174)
    given = np.array([0.309, 0.3090317, 0.3094, 0.3086, 0.31, 0.308])
    assert tol.close(given, exact).tolist() == [True, True, True, True, False, False]


def test_sigfigs_place_comes_from_the_exact_value():
    tol = Tolerance(sigfigs=3)
    # 1000 at 3 figures is 1.00e3: a unit in the last place is 10.
    assert tol.close(np.array([1004.0, 996.0, 1006.0, 1e3]), np.full(4, 1000.0)).tolist() == [True, True, False, True]
    # Writing fewer digits does not loosen the test.
    assert not tol.close(np.array(-0.053), np.array(-0.05279031))
    assert tol.close(np.array(-0.0528), np.array(-0.05279031))


def test_sigfigs_rounded_the_same_way_is_close_even_beyond_half_a_unit():
    # A student who gives more figures than asked is right if they round to the same figures:
    # exact 0.3050001 is 0.31 at 2 figures; 0.3149 is also 0.31, though 0.0099 away (> half a unit, 0.005).
    tol = Tolerance(sigfigs=2)
    assert tol.close(np.array(0.3149), np.array(0.3050001))


def test_sigfigs_zero_uses_atol_and_only_zero():
    tol = Tolerance(sigfigs=3, atol=1e-6)
    assert tol.close(np.array([0.0, 5e-7, 2e-6]), np.zeros(3)).tolist() == [True, True, False]
    # away from zero atol does not swamp the figures of a small value
    assert not tol.close(np.array(1.2e-8), np.array(1.0e-8))


def test_sigfigs_exact_powers_of_ten():
    tol = Tolerance(sigfigs=2)
    for e in range(-8, 9):
        b = 10.0**e
        assert tol.close(np.array(1.04 * b), np.array(b)), e
        assert not tol.close(np.array(1.06 * b), np.array(b)), e


def test_sigfigs_notebook_chain():
    assert Tolerance(sigfigs=2).close(HAND_ROUNDED, EXACT).all()
    # -0.053 is only 2 figures of -0.05279: not right to 3 figures.
    assert Tolerance(sigfigs=3).close(HAND_ROUNDED, EXACT).tolist() == [True, True, False, True, True]


@settings(max_examples=100, deadline=None)
@given(
    st.floats(min_value=1e-200, max_value=1e200) | st.floats(min_value=-1e200, max_value=-1e-200),
    st.integers(1, 8),
)
def test_sigfigs_accepts_the_exact_value_rounded(b, s):
    rounded = float(f"{b:.{s - 1}e}")
    tol = Tolerance(sigfigs=s)
    assert tol.close(np.array(rounded), np.array(b))
    assert tol.close(np.array(b), np.array(b))


@settings(max_examples=100, deadline=None)
@given(st.floats(min_value=-1e6, max_value=1e6), st.floats(min_value=0, max_value=0.5))
def test_rtol_rule_matches_its_formula(b, rtol):
    tol = Tolerance(rtol=rtol, atol=1e-6)
    for a in (b * (1 + rtol * 0.99), b * (1 - rtol * 0.99) - 0.0, b + 2 * (1e-6 + rtol * abs(b))):
        assert bool(tol.close(np.array(a), np.array(b))) == (abs(a - b) <= 1e-6 + rtol * abs(b))


# --- from_spec ------------------------------------------------------------------------------------------


def test_from_spec_values():
    assert Tolerance.from_spec({"rtol": 0.05}) == Tolerance(rtol=0.05, atol=1e-6)
    assert Tolerance.from_spec({"atol": 0.001}) == Tolerance(rtol=0.01, atol=0.001)
    assert Tolerance.from_spec({"rtol": 0, "atol": 0}) == Tolerance(rtol=0.0, atol=0.0)
    assert Tolerance.from_spec({"sigfigs": 3}).sigfigs == 3
    assert Tolerance.from_spec({"sigfigs": 3, "atol": 1e-9}).atol == 1e-9
    assert Tolerance.from_spec({"rtol": 1e-3}, kind="code") == Tolerance(rtol=1e-3, atol=1e-9)


@pytest.mark.parametrize(
    ("spec", "named"),
    [
        ({"rtol": -0.01}, "'rtol'"),
        ({"atol": -1}, "'atol'"),
        ({"rtol": float("nan")}, "'rtol'"),
        ({"atol": float("inf")}, "'atol'"),
        ({"rtol": "1%"}, "'rtol'"),
        ({"rtol": True}, "'rtol'"),
        ({"rtol": 1}, "'rtol'"),
        ({"rtol": 5}, "'rtol'"),
        ({"sigfigs": 0}, "'sigfigs'"),
        ({"sigfigs": 2.5}, "'sigfigs'"),
        ({"sigfigs": 16}, "'sigfigs'"),
        ({"sigfigs": True}, "'sigfigs'"),
        ({"rtl": 0.01}, "'rtl'"),
        ({"rtol": 0.01, "relative": 1}, "'relative'"),
        ({"sigfigs": 3, "rtol": 0.01}, "'sigfigs'"),
    ],
)
def test_from_spec_rejects_bad_specs_naming_the_key(spec, named):
    with pytest.raises(ValueError) as info:
        Tolerance.from_spec(spec)
    assert named in str(info.value)


def test_from_spec_rejects_non_mappings_and_unknown_kinds():
    with pytest.raises(ValueError, match="mapping"):
        Tolerance.from_spec([0.01])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown answer kind 'text'"):
        Tolerance.from_spec(None, kind="text")


def test_constructor_validates_too():
    with pytest.raises(ValueError):
        Tolerance(rtol=-1)
    with pytest.raises(ValueError):
        Tolerance(sigfigs=0)


# --- widened, describe ----------------------------------------------------------------------------------


def test_widened():
    wide = Tolerance().widened(5)
    assert (wide.rtol, wide.atol) == pytest.approx((0.05, 5e-6))
    assert wide.close(np.array(1.04), np.array(1.0))
    assert not Tolerance().close(np.array(1.04), np.array(1.0))
    assert Tolerance().widened(1) == Tolerance()
    with pytest.raises(ValueError):
        Tolerance().widened(0.5)
    with pytest.raises(ValueError):
        Tolerance().widened(math.inf)


def test_widened_sigfigs_widens_the_band():
    tol = Tolerance(sigfigs=3)
    wide = tol.widened(4)
    assert wide.sigfigs == 3
    exact = np.array(0.30903174)
    assert not tol.close(np.array(0.3105), exact)
    assert wide.close(np.array(0.3105), exact)  # within 2 units in the last place
    assert not wide.close(np.array(0.3115), exact)


@pytest.mark.parametrize(
    ("tol", "words"),
    [
        (Tolerance(), "within 1% of the exact value (or 1e-06 absolute)"),
        (Tolerance(rtol=0.05, atol=0), "within 5% of the exact value"),
        (Tolerance(rtol=0.005), "within 0.5% of the exact value (or 1e-06 absolute)"),
        (Tolerance.from_spec(None, kind="code"), "within a relative 1e-06 of the exact value (or 1e-09 absolute)"),
        (Tolerance(rtol=0, atol=0.001), "within 0.001 of the exact value"),
        (Tolerance(rtol=0, atol=0), "exactly equal to the exact value"),
        (Tolerance(sigfigs=3), "to 3 significant figures"),
        (Tolerance(sigfigs=1), "to 1 significant figure"),
        (Tolerance(sigfigs=3).widened(4), "to 3 significant figures (within 2 units in the last place)"),
        (Tolerance().widened(3), "within 3% of the exact value (or 3e-06 absolute)"),
    ],
)
def test_describe(tol, words):
    assert tol.describe() == words
