"""How close a typed number must be to the exact one.

Two ways to say it, chosen per exercise:

- relative/absolute (the default): ``|given − exact| ≤ atol + rtol·|exact|``. The default ``rtol=0.01``
  forgives hand calculations carried to 3 significant figures; ``atol`` only matters near zero, where a
  relative test alone would demand an exact 0.
- significant figures (``sigfigs=s``): an entry is right when it rounds to the same ``s`` significant
  figures as the exact value, or is within half a unit in the ``s``-th significant place of the exact value
  (so ``0.309`` and ``0.3094`` are both right for ``0.30903…`` at 3 figures, ``0.31`` is not). The place is
  taken from the *exact* value so the student cannot loosen the test by writing fewer digits. ``atol`` is
  used only where the exact value is 0 (which has no significant figures); ``rtol`` is not used.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

# Defaults by kind of answer: hand-typed numbers vs numbers computed by student code.
_DEFAULTS: dict[str, tuple[float, float]] = {"numeric": (0.01, 1e-6), "code": (1e-6, 1e-9)}
_SPEC_KEYS = ("rtol", "atol", "sigfigs")
MAX_SIGFIGS = 15  # float64 carries about 15-17 digits; more is not a meaningful request


@dataclass(frozen=True)
class Tolerance:
    rtol: float = 0.01
    atol: float = 1e-6
    sigfigs: int | None = None
    # Multiplies the half-unit band of the sigfigs rule; only widened() changes it.
    band: float = 1.0

    def __post_init__(self) -> None:
        for name in ("rtol", "atol", "band"):
            value = getattr(self, name)
            if not _is_real(value) or not math.isfinite(value) or value < 0:
                raise ValueError(f"tolerance {name} must be a finite number ≥ 0, got {value!r}")
        if self.sigfigs is not None and (
            not _is_int(self.sigfigs) or not 1 <= self.sigfigs <= MAX_SIGFIGS
        ):
            raise ValueError(f"tolerance sigfigs must be a whole number from 1 to {MAX_SIGFIGS}, got {self.sigfigs!r}")

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any] | None, kind: str = "numeric") -> Tolerance:
        """Build from an exercise's ``tolerance:`` mapping: ``{rtol, atol}`` (either or both) or
        ``{sigfigs}`` (optionally with ``atol``). Missing values take the defaults for ``kind``
        ("numeric": rtol 0.01, atol 1e-6; "code": rtol 1e-6, atol 1e-9). Raises ValueError naming the key."""
        if kind not in _DEFAULTS:
            raise ValueError(f"unknown answer kind {kind!r}: expected one of {', '.join(_DEFAULTS)}")
        rtol, atol = _DEFAULTS[kind]
        if spec is None:
            return cls(rtol=rtol, atol=atol)
        if not isinstance(spec, Mapping):
            raise ValueError(f"tolerance must be a mapping with keys {', '.join(_SPEC_KEYS)}, got {spec!r}")
        for key in spec:
            if key not in _SPEC_KEYS:
                raise ValueError(f"unknown tolerance key {key!r}: expected one of {', '.join(_SPEC_KEYS)}")
        if "sigfigs" in spec and "rtol" in spec:
            raise ValueError("tolerance: give either 'sigfigs' or 'rtol', not both")
        for key in ("rtol", "atol"):
            if key in spec:
                value = spec[key]
                if not _is_real(value) or not math.isfinite(value) or value < 0:
                    raise ValueError(f"tolerance {key!r} must be a finite number ≥ 0, got {value!r}")
        if "rtol" in spec and spec["rtol"] >= 1:
            # rtol ≥ 1 would accept 0 for any exact value: surely a percentage written as a number.
            raise ValueError(f"tolerance 'rtol' must be below 1 (0.01 means 1%), got {spec['rtol']!r}")
        sigfigs = spec.get("sigfigs")
        if sigfigs is not None and (not _is_int(sigfigs) or not 1 <= sigfigs <= MAX_SIGFIGS):
            raise ValueError(f"tolerance 'sigfigs' must be a whole number from 1 to {MAX_SIGFIGS}, got {sigfigs!r}")
        return cls(
            rtol=float(spec.get("rtol", rtol)),
            atol=float(spec.get("atol", atol)),
            sigfigs=int(sigfigs) if sigfigs is not None else None,
        )

    def close(self, given: np.ndarray, expected: np.ndarray) -> np.ndarray:
        """Elementwise bool array: is each given entry close enough to the expected one?

        Shapes must be equal (check them with ``reader.check_shape`` first): no broadcasting, so a wrong
        shape can never pass by accident. NaN or infinite entries are never close."""
        a = np.asarray(given, dtype=np.float64)
        b = np.asarray(expected, dtype=np.float64)
        if a.shape != b.shape:
            raise ValueError(f"shapes differ: given {a.shape}, expected {b.shape}")
        with np.errstate(all="ignore"):
            diff = np.abs(a - b)
            ok = self._close_sigfigs(a, b, diff) if self.sigfigs else diff <= self.atol + self.rtol * np.abs(b)
        return ok & np.isfinite(a) & np.isfinite(b)

    def _close_sigfigs(self, a: np.ndarray, b: np.ndarray, diff: np.ndarray) -> np.ndarray:
        assert self.sigfigs is not None
        mag = np.abs(b)
        nonzero = mag > 0
        safe = np.where(nonzero & np.isfinite(mag), mag, 1.0)
        exponent = np.floor(np.log10(safe))
        # log10 can land a hair off at exact powers of ten; fix the decade so 10**e <= |b| < 10**(e+1).
        exponent = np.where(10.0**exponent > safe, exponent - 1, exponent)
        exponent = np.where(10.0 ** (exponent + 1) <= safe, exponent + 1, exponent)
        unit = 10.0 ** (exponent - (self.sigfigs - 1))  # one unit in the last significant place of b
        # A relative hair of slack so that an exact half-unit (0.3095 for 0.309…) is not lost to rounding.
        half = np.where(nonzero, 0.5 * unit * self.band * (1 + 1e-9), 0.0)
        same_rounding = nonzero & (np.round(a / unit) == np.round(b / unit))
        # atol only decides where the exact value is 0 (it has no significant figures); elsewhere it would
        # swamp the rule for small values (1e-6 against 3 figures of 1e-8).
        band = np.where(nonzero, half, self.atol)
        return (diff <= band) | same_rounding

    def widened(self, factor: float) -> Tolerance:
        """A looser tolerance (factor ≥ 1), for the "rounded too early" band: rtol and atol are
        multiplied; with sigfigs, the half-unit band is multiplied instead of dropping figures."""
        if not _is_real(factor) or not math.isfinite(factor) or factor < 1:
            raise ValueError(f"widening factor must be a finite number ≥ 1, got {factor!r}")
        return replace(self, rtol=self.rtol * factor, atol=self.atol * factor, band=self.band * factor)

    def describe(self) -> str:
        """The tolerance in plain words for feedback."""
        if self.sigfigs is not None:
            figures = f"{self.sigfigs} significant figure{'' if self.sigfigs == 1 else 's'}"
            if self.band == 1:
                return f"to {figures}"
            return f"to {figures} (within {_fmt(0.5 * self.band)} units in the last place)"
        if self.rtol == 0 and self.atol == 0:
            return "exactly equal to the exact value"
        if self.rtol == 0:
            return f"within {_fmt(self.atol)} of the exact value"
        percent = self.rtol * 100
        relative = f"{_fmt(percent)}%" if percent >= 0.01 else f"a relative {_fmt(self.rtol)}"
        text = f"within {relative} of the exact value"
        return text + (f" (or {_fmt(self.atol)} absolute)" if self.atol > 0 else "")


def _fmt(x: float) -> str:
    # Up to 6 significant digits, without float noise such as 1.0000000000000002%.
    return f"{x:.6g}"


def _is_real(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _is_int(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))
