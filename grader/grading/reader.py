"""Reading the numbers students type.

Students paste gradients from a notebook, a terminal or their own hand calculation, so the reader is
forgiving about *notation* and strict about *numbers*. It never evaluates the text (no ``eval``, no
``ast.literal_eval``): a regular-expression tokenizer and a small recursive-descent parser build a tree of
numbers, which is then checked for a rectangular shape and turned into a float64 array.

Accepted forms
--------------
Scalars
    ``-0.00262``, ``-2.62e-3``, ``+1.5``, ``.5``, ``1.``, ``1e-3``; a Unicode minus (U+2212) or an en dash /
    hyphen-like dash in place of ``-``; fractions ``1/3``, ``-1/3`` (spaces around ``/`` allowed);
    ``2.62×10^-3`` (also ``x10^``, ``*10^``, ``*10**``, with spaces and a bracketed exponent:
    ``2.62 × 10^(-3)``); numpy's ``np.float64(0.5)`` and ``array(0.5)``.
Lists, vectors, matrices
    Python / JSON lists ``[[1, 2], [3, 4]]`` (tuples' parentheses too); MATLAB ``[1 2; 3 4]`` and
    ``[1, 2; 3, 4]`` (``[1; 2; 3]`` is a 3×1 column); numpy's printed form ``[[0.1 0.2]\\n [0.3 0.4]]`` and
    its ``repr`` ``array([[0.1, 0.2],\\n       [0.3, 0.4]])`` (an optional ``dtype=...`` is ignored);
    bare rows without brackets, one per line or separated by ``;``: ``"1 2\\n3 4"``. A leading label
    (``dW3 = [[...]]``, ``dW3: [[...]]``, ``The gradient of the weights, dW3: [[...]]``) is skipped.
    A single bare line is a flat vector (``"1 2 3"``) or a scalar (``"0.5"``); several bare lines of one
    number each form a column.
Separators
    Entries are separated by commas and/or any whitespace; trailing commas are fine. Inside brackets a
    newline is just whitespace (numpy wraps long rows that way), so MATLAB rows inside brackets need ``;``.
    Only outside brackets does a newline start a new row.

Anything else is an :class:`AnswerFormatError` that says where (row and column of the entry) and what was
expected. NaN, infinities, overflowing numbers, empty input, numpy's abbreviated ``...`` printout and
input over the size caps are format errors too.

Non-text answers (numbers and nested lists decoded from JSON) go through the same checks: ``bool`` and
``None`` are not numbers, ragged lists are errors, and a string inside a list is read as one number (so a
page with one input box per matrix entry can send a list of strings).
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

MAX_DIMS = 4  # "a few dims": gradients of tensors up to 4-D; deeper nesting is surely a typo

# Dashes that students' keyboards, word processors and PDF copies put where a minus belongs. Each maps to
# one character so that character positions in error messages still point into the original text.
_CHAR_FIXES = str.maketrans(
    {
        "\u2212": "-",  # MINUS SIGN
        "\u2013": "-",  # EN DASH
        "\u2012": "-",  # FIGURE DASH
        "\u2010": "-",  # HYPHEN
        "\u2011": "-",  # NON-BREAKING HYPHEN
        "\ufe63": "-",  # SMALL HYPHEN-MINUS
        "\uff0d": "-",  # FULLWIDTH HYPHEN-MINUS
        "\uff0b": "+",  # FULLWIDTH PLUS SIGN
        "\ufeff": " ",  # byte-order mark left by some copy/paste paths
        "\u200b": " ",  # zero-width space
    }
)

# Every character falls into exactly one group, so the tokenizer cannot fail; anything that is not
# punctuation or whitespace becomes a "word" that is classified (number or not) later.
_TOKEN_RE = re.compile(
    r"""
      (?P<nl>\r\n|[\r\n])
    | (?P<ws>[^\S\r\n]+)
    | (?P<open>[\[(])
    | (?P<close>[\])])
    | (?P<punct>[,;/])
    | (?P<word>[^\s\[\](),;/]+)
    """,
    re.VERBOSE,
)
# ASCII digits only: Python's \d and float() also accept other scripts' digits, which we do not want.
_NUMBER = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_NUMBER_RE = re.compile(_NUMBER)
_TIMES_TEN_RE = re.compile(r"([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))[x×*·]10\^\(?([+-]?[0-9]+)\)?")
_NONFINITE_RE = re.compile(r"[+-]?(?:nan|inf|infinity)", re.IGNORECASE)
_WRAPPER_RE = re.compile(r"(?:np\.|numpy\.)?(?:array|asarray|matrix|float(?:16|32|64|128)?)")
_CLOSER = {"[": "]", "(": ")"}
# "dW3 = ...", or "dW3: [[...]]" and the notes' "The gradient of the weights, dW3: [[...]]" before an array: a
# label pasted with the numbers carries none of them, so it is skipped.
_ASSIGNMENT_RE = re.compile(r"\s*(?:[A-Za-z_][A-Za-z0-9_]*\s*=(?!=)|[A-Za-z_][^\[\]()=:\r\n]*?:(?=\s*\[))")
# 2.62 × 10^(-3), 2.62*10**-3, 2.62 x 10^-3: the "times ten to the" forms, with spaces and a bracketed
# exponent, rewritten as 2.62e-3 padded to the same length (so character positions stay true).
_SCIENTIFIC_RE = re.compile(r"(?<![\w.])([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))\s*[x×*·]\s*10\s*(?:\^|\*\*)\s*"
                            r"(?:\(\s*([+-]?[0-9]+)\s*\)|([+-]?[0-9]+)(?![\w.]))")  # 10^2.5 is not one of these


class AnswerFormatError(ValueError):
    """An answer that cannot be read, or has the wrong shape.

    Attributes (all JSON-friendly through :meth:`to_dict`):

    ``message``   plain words for a student, location first: "row 2, column 3: expected a number, found 'abc'".
    ``detail``    the message without the location prefix.
    ``row``, ``column``  1-based position of the offending entry. For a matrix, its row and column; for a
                  flat vector, ``row`` is None and ``column`` is the entry number; for a scalar both are None;
                  for 3-D and deeper, the last two indices (``index`` has them all).
    ``index``     the full 1-based index of the entry, or None.
    ``position``  1-based character position in the typed text, when the error comes from text.
    ``expected``  what was expected ("a number", "3 entries", "a 2×3 matrix"), or None.
    ``found``     what was found instead, or None.
    ``kind``      a short machine-readable code: not_a_number, not_finite, empty, too_large, ragged, brackets,
                  abbreviated, too_deep, shape, transposed, type.
    ``expected_shape``, ``given_shape``  tuples, set for shape errors.
    """

    def __init__(
        self,
        detail: str,
        *,
        kind: str = "format",
        index: tuple[int, ...] | None = None,
        position: int | None = None,
        expected: str | None = None,
        found: str | None = None,
        expected_shape: tuple[int, ...] | None = None,
        given_shape: tuple[int, ...] | None = None,
    ) -> None:
        where = _where(index)
        message = f"{where}: {detail}" if where else detail
        super().__init__(message)
        self.message = message
        self.detail = detail
        self.kind = kind
        self.index = index
        self.row, self.column = _row_column(index)
        self.position = position
        self.expected = expected
        self.found = found
        self.expected_shape = expected_shape
        self.given_shape = given_shape

    def to_dict(self) -> dict[str, Any]:
        return {
            "message": self.message,
            "detail": self.detail,
            "kind": self.kind,
            "row": self.row,
            "column": self.column,
            "index": list(self.index) if self.index is not None else None,
            "position": self.position,
            "expected": self.expected,
            "found": self.found,
            "expected_shape": list(self.expected_shape) if self.expected_shape is not None else None,
            "given_shape": list(self.given_shape) if self.given_shape is not None else None,
        }


def _row_column(index: tuple[int, ...] | None) -> tuple[int | None, int | None]:
    if not index:
        return None, None
    if len(index) == 1:
        return None, index[0]
    return index[-2], index[-1]


def _where(index: tuple[int, ...] | None) -> str:
    if not index:
        return ""
    if len(index) == 1:
        return f"entry {index[0]}"
    if len(index) == 2:
        return f"row {index[0]}, column {index[1]}"
    return "entry [" + ", ".join(map(str, index)) + "]"


def _quote(text: str, limit: int = 24) -> str:
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return f"'{text}'"


class _Leaf:
    """One entry as typed: its value, or the reason it cannot be a value."""

    __slots__ = ("value", "problem", "kind", "position", "found")

    def __init__(
        self,
        value: float | None,
        problem: str | None = None,
        kind: str = "not_a_number",
        position: int | None = None,
        found: str | None = None,
    ) -> None:
        self.value = value
        self.problem = problem
        self.kind = kind
        self.position = position
        self.found = found


def _bad(problem: str, kind: str, position: int | None, found: str | None) -> _Leaf:
    return _Leaf(None, problem, kind, position, found)


def _number_leaf(text: str, position: int | None) -> _Leaf:
    """Classify one word of text as a number (or say why it is not one)."""
    if _NUMBER_RE.fullmatch(text):
        value = float(text)
    elif m := _TIMES_TEN_RE.fullmatch(text):
        value = float(f"{m.group(1)}e{m.group(2)}")
    elif _NONFINITE_RE.fullmatch(text):
        return _bad(f"{_quote(text)} is not a finite number", "not_finite", position, text)
    elif text in ("...", "…"):
        raise AnswerFormatError(
            "the printout is abbreviated with '...'; print the whole array "
            "(for example with np.set_printoptions(threshold=100000)) and paste that",
            kind="abbreviated",
            position=position,
            found=text,
        )
    else:
        return _bad(f"expected a number, found {_quote(text)}", "not_a_number", position, text)
    if not math.isfinite(value):
        return _bad(f"the number {_quote(text)} is too large", "not_finite", position, text)
    return _Leaf(value, position=position)


Node = _Leaf | list  # a list holds Nodes


class _Parser:
    def __init__(self, text: str, max_entries: int) -> None:
        # Positions are 1-based for people.
        self.tokens = [
            (m.lastgroup, m.group(), m.start() + 1) for m in _TOKEN_RE.finditer(text) if m.lastgroup != "ws"
        ]
        self.i = 0
        self.depth = 0
        self.entries = 0
        self.max_entries = max_entries

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def document(self) -> Node:
        while (tok := self.peek()) is not None and tok[0] == "nl":
            self.i += 1
        tok = self.peek()
        nxt = self.tokens[self.i + 1] if self.i + 1 < len(self.tokens) else None
        if tok and tok[0] == "word" and _WRAPPER_RE.fullmatch(tok[1]) and nxt and nxt[1] == "(":
            return self.wrapper(tok)
        rows = [r for r in self.sequence(None, 0) if r]
        if not rows:
            raise AnswerFormatError("the answer is empty", kind="empty", expected="a number")
        if len(rows) == 1:
            row = rows[0]
            return row[0] if len(row) == 1 else row
        return [_row_node(r) for r in rows]

    def wrapper(self, name: tuple[str, str, int]) -> Node:
        """``array(...)`` / ``np.float64(...)`` as numpy's repr prints them: the inside is the value."""
        self.i += 2
        # numpy's repr may add ", dtype=float32"; it says nothing about the values.
        self.tokens[self.i :] = [t for t in self.tokens[self.i :] if not t[1].startswith("dtype=")]
        rows = [r for r in self.sequence(")", name[2] + len(name[1])) if r]
        if len(rows) != 1 or len(rows[0]) != 1:
            raise AnswerFormatError(
                f"expected one number or one list inside {name[1]}(...)",
                kind="brackets",
                position=name[2],
                expected="one array",
            )
        for kind, text, pos in self.tokens[self.i :]:
            if kind != "nl":
                raise AnswerFormatError(
                    f"unexpected {_quote(text)} after the closing ')' of {name[1]}(...)",
                    kind="brackets",
                    position=pos,
                    found=text,
                )
        return rows[0][0]

    def sequence(self, closer: str | None, opened_at: int) -> list[list[Node]]:
        """Entries up to ``closer`` (or the end of the text), split into rows at ';' (and at newlines
        when outside brackets)."""
        rows: list[list[Node]] = [[]]
        after_comma = False
        while True:
            tok = self.peek()
            if tok is None:
                if closer is not None:
                    raise AnswerFormatError(
                        f"the bracket opened at character {opened_at} is never closed: expected {_quote(closer)}",
                        kind="brackets",
                        position=opened_at,
                        expected=closer,
                    )
                return rows
            kind, text, pos = tok
            self.i += 1
            if kind == "close":
                if closer is None:
                    raise AnswerFormatError(
                        f"found {_quote(text)} at character {pos} with no opening bracket before it",
                        kind="brackets",
                        position=pos,
                        found=text,
                    )
                if text != closer:
                    raise AnswerFormatError(
                        f"found {_quote(text)} at character {pos} where {_quote(closer)} was expected "
                        f"to close the bracket opened at character {opened_at}",
                        kind="brackets",
                        position=pos,
                        expected=closer,
                        found=text,
                    )
                return rows
            if kind == "nl" or text == ";":
                # Inside brackets a newline is only a line wrap; outside, it ends a row.
                if (text == ";" or closer is None) and rows[-1]:
                    rows.append([])
                    after_comma = False
                continue
            if text == ",":
                if after_comma or not rows[-1]:
                    rows[-1].append(self.count(_bad("expected a number before ','", "not_a_number", pos, ",")))
                after_comma = True
                continue
            after_comma = False
            if kind == "open":
                rows[-1].append(self.bracket(text, pos))
            else:  # a word, or a '/' with no number before it
                rows[-1].append(self.count(self.entry(kind, text, pos)))

    def bracket(self, opener: str, pos: int) -> Node:
        self.depth += 1
        if self.depth > MAX_DIMS:
            raise AnswerFormatError(
                f"brackets nested more than {MAX_DIMS} deep (at character {pos})",
                kind="too_deep",
                position=pos,
            )
        rows = self.sequence(_CLOSER[opener], pos)
        self.depth -= 1
        if rows and not rows[-1]:
            rows.pop()  # a trailing ';' before the closing bracket
        if len(rows) <= 1:
            return rows[0] if rows else []
        return [_row_node(r) for r in rows]

    def entry(self, kind: str, text: str, pos: int) -> _Leaf:
        """A number, possibly a fraction ``a/b``."""
        if text == "/":
            self.skip_word()
            return _bad("expected a number before '/'", "not_a_number", pos, "/")
        leaf = _number_leaf(text, pos)
        tok = self.peek()
        if tok is None or tok[1] != "/":
            return leaf
        self.i += 1
        den = self.skip_word()
        if leaf.problem is not None:
            return leaf
        if den is None:
            return _bad(f"expected a number after {_quote(text + '/')}", "not_a_number", pos, text + "/")
        den_leaf = _number_leaf(den[1], den[2])
        written = f"{text}/{den[1]}"
        if den_leaf.problem is not None:
            return _bad(f"expected a fraction, found {_quote(written)}", den_leaf.kind, pos, written)
        assert leaf.value is not None and den_leaf.value is not None
        if den_leaf.value == 0:
            return _bad(f"{_quote(written)} divides by zero", "not_finite", pos, written)
        value = leaf.value / den_leaf.value
        if not math.isfinite(value):
            return _bad(f"the number {_quote(written)} is too large", "not_finite", pos, written)
        return _Leaf(value, position=pos)

    def skip_word(self) -> tuple[str, str, int] | None:
        tok = self.peek()
        if tok is not None and tok[0] == "word":
            self.i += 1
            return tok
        return None

    def count(self, leaf: _Leaf) -> _Leaf:
        self.entries += 1
        if self.entries > self.max_entries:
            raise _too_many(self.max_entries)
        return leaf


def _too_many(max_entries: int) -> AnswerFormatError:
    return AnswerFormatError(
        f"the answer has too many entries (at most {max_entries} are read)",
        kind="too_large",
        expected=f"at most {max_entries} entries",
    )


def _row_node(row: list[Node]) -> Node:
    # "[[1, 2]; [3, 4]]" and "[1 2]\n[3 4]": a row that is one bracketed list is that list.
    if len(row) == 1 and isinstance(row[0], list):
        return row[0]
    return list(row)


def _from_python(obj: Any, depth: int, counter: list[int], max_entries: int) -> Node:
    """Turn numbers / nested lists decoded from JSON into the same tree the text parser builds."""
    if isinstance(obj, (list, tuple)):
        if depth >= MAX_DIMS:
            raise AnswerFormatError(f"lists nested more than {MAX_DIMS} deep", kind="too_deep")
        return [_from_python(x, depth + 1, counter, max_entries) for x in obj]
    counter[0] += 1
    if counter[0] > max_entries:
        raise _too_many(max_entries)
    if isinstance(obj, (bool, np.bool_)):
        return _bad(f"expected a number, found {obj}", "not_a_number", None, str(obj))
    if isinstance(obj, (numbers.Real, np.number)) and not isinstance(obj, np.complexfloating):
        try:
            value = float(obj)
        except (OverflowError, ValueError):
            return _bad(f"the number {_quote(str(obj))} is too large", "not_finite", None, str(obj))
        if not math.isfinite(value):
            return _bad(f"{_quote(str(obj))} is not a finite number", "not_finite", None, str(obj))
        return _Leaf(value)
    if isinstance(obj, str):
        # One typed entry of a grid of input boxes: must be a single number.
        try:
            value_array = read_answer(obj, max_entries=1, max_chars=1000)
        except AnswerFormatError as err:
            return _bad(err.detail, err.kind, None, obj)
        if value_array.ndim != 0:
            return _bad(f"expected a single number, found {_quote(obj)}", "not_a_number", None, obj)
        return _Leaf(float(value_array))
    if obj is None:
        return _bad("expected a number, found nothing", "empty", None, None)
    found = type(obj).__name__
    return _bad(f"expected a number, found {found}", "type", None, found)


def _materialise(node: Node, index: tuple[int, ...]) -> tuple[tuple[int, ...], Any]:
    """Check every entry and the rectangular shape; return (shape, nested floats).

    Errors come in reading order, each naming the entry's 1-based index."""
    if isinstance(node, _Leaf):
        if node.problem is not None:
            raise AnswerFormatError(
                node.problem,
                kind=node.kind,
                index=index or None,
                position=node.position,
                expected="a number",
                found=node.found,
            )
        return (), node.value
    if not node:
        raise AnswerFormatError(
            "empty brackets: expected at least one number", kind="empty", index=index or None, expected="a number"
        )
    shapes = []
    values = []
    for k, child in enumerate(node, start=1):
        shape, value = _materialise(child, (*index, k))
        shapes.append(shape)
        values.append(value)
    first = shapes[0]
    for k, shape in enumerate(shapes[1:], start=2):
        if shape != first:
            raise _ragged(index, k, shape, first)
    return (len(node), *first), values


def _describe_part(shape: tuple[int, ...]) -> str:
    if not shape:
        return "a single number"
    if len(shape) == 1:
        return f"{shape[0]} entr{'y' if shape[0] == 1 else 'ies'}"
    return "a block of shape " + "×".join(map(str, shape))


def _ragged(index: tuple[int, ...], k: int, shape: tuple[int, ...], first: tuple[int, ...]) -> AnswerFormatError:
    if index:
        label, first_label = _where((*index, k)), _where((*index, 1))
    elif len(first) == 1:
        label, first_label = f"row {k}", "row 1"
    else:
        label, first_label = f"entry {k}", "entry 1"
    err = AnswerFormatError(
        f"{label} has {_describe_part(shape)}, but {first_label} has {_describe_part(first)}; "
        "all rows must be the same length",
        kind="ragged",
        index=(*index, k) if index else None,
        expected=_describe_part(first),
        found=_describe_part(shape),
    )
    if not index:
        # A whole top-level row is at fault: name the row, no column.
        err.row, err.column = k, None
    return err


def read_answer(
    raw: str | int | float | list, *, max_entries: int = 10_000, max_chars: int = 200_000
) -> np.ndarray:
    """Read a typed answer into a float64 array: shape () for a scalar, (n,) for a flat vector, (r, c) for a
    matrix, up to :data:`MAX_DIMS` dimensions. Raises :class:`AnswerFormatError` and nothing else."""
    if isinstance(raw, str):
        if len(raw) > max_chars:
            raise AnswerFormatError(
                f"the answer is too long ({len(raw)} characters; at most {max_chars} are read)",
                kind="too_large",
                expected=f"at most {max_chars} characters",
            )
        text = raw.translate(_CHAR_FIXES)
        if m := _ASSIGNMENT_RE.match(text):
            text = " " * m.end() + text[m.end() :]  # blank it out so character positions stay true
        text = _SCIENTIFIC_RE.sub(_as_e_notation, text)
        node = _Parser(text, max_entries).document()
    elif raw is None:
        raise AnswerFormatError("no answer was given", kind="empty", expected="a number")
    elif isinstance(raw, np.ndarray):
        node = _from_python(raw.tolist(), 0, [0], max_entries)
    elif isinstance(raw, Sequence) and not isinstance(raw, (bytes, bytearray)):
        node = _from_python(raw, 0, [0], max_entries)
    else:
        node = _from_python(raw, 0, [0], max_entries)
    shape, values = _materialise(node, ())
    if len(shape) > MAX_DIMS:
        raise AnswerFormatError(f"the answer has more than {MAX_DIMS} dimensions", kind="too_deep")
    return np.array(values, dtype=np.float64)


def _as_e_notation(match: re.Match[str]) -> str:
    mantissa, exponent = match.group(1), match.group(2) or match.group(3)
    return f"{mantissa}e{exponent}".ljust(len(match.group(0)))


# --- shapes -------------------------------------------------------------------------------------------------


def describe_shape(shape: tuple[int, ...]) -> str:
    """Shape in words: "a single number", "a list of 3 numbers", "a 2×3 matrix"."""
    if len(shape) == 0:
        return "a single number"
    if len(shape) == 1:
        return f"a list of {shape[0]} number{'' if shape[0] == 1 else 's'}"
    if len(shape) == 2:
        return f"a {shape[0]}×{shape[1]} matrix"
    return "an array of shape " + "×".join(map(str, shape))


def _squeezed(shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(n for n in shape if n != 1)


def check_shape(value: np.ndarray, expected_shape: tuple[int, ...]) -> np.ndarray:
    """Return ``value`` with ``expected_shape``, or raise :class:`AnswerFormatError` (kind "shape" or
    "transposed") carrying ``expected_shape`` and ``given_shape``.

    Reshaping is done only where the student cannot have meant anything else: the same entries in the
    same order, differing only in how many size-1 axes were written around a scalar or a vector.
    Concretely (shapes of at most 2 axes, at most one axis longer than 1, different numbers of axes):

    - a scalar for (1,) or (1, 1), and [[x]] or [x] for a scalar;
    - a flat vector of n for (1, n) or (n, 1), and a (1, n) or (n, 1) matrix for a flat vector of n.

    Never accepted: a (1, n) row for an (n, 1) column or the other way round (same number of axes, so it is
    a transposition and is reported as one), a flat list of r·c entries for an r×c matrix, broadcasting.
    A non-square matrix given with its two axes swapped is reported as "this looks transposed".
    """
    value = np.asarray(value, dtype=np.float64)
    expected = tuple(int(n) for n in expected_shape)
    given = tuple(value.shape)
    if given == expected:
        return value
    core = _squeezed(given)
    scalar_or_vector = len(core) <= 1 and len(given) <= 2 and len(expected) <= 2
    if scalar_or_vector and core == _squeezed(expected) and len(given) != len(expected):
        return value.reshape(expected)
    wanted, got = describe_shape(expected), describe_shape(given)
    if len(given) == 2 and len(expected) == 2 and given == expected[::-1]:
        raise AnswerFormatError(
            f"this looks transposed: expected {expected[0]}×{expected[1]}, got {given[0]}×{given[1]}",
            kind="transposed",
            expected=wanted,
            found=got,
            expected_shape=expected,
            given_shape=given,
        )
    detail = f"expected {wanted}, got {got}"
    if len(given) == 1 and len(expected) >= 2 and value.size == math.prod(expected):
        # Almost certainly the right numbers with the row structure lost: say how to write rows.
        detail += "; separate the rows with ';' or write one bracketed list per row"
    raise AnswerFormatError(
        detail, kind="shape", expected=wanted, found=got, expected_shape=expected, given_shape=given
    )
