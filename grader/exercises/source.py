"""A definition's YAML text checked with the line of every problem: for the editor's gutter and the API.

`check_source(text)` reads the text once with PyYAML, keeping the composed node tree (every mapping key and
sequence item knows its line and column), validates the document exactly as the service does
(`parse_exercise`: the marshmallow schema, then the graph), and points each error at the line a person would:
a syntax error at PyYAML's problem mark, an unknown key at the key, a wrong value at the value, a missing key
at its parent mapping (line 1 at the top level), a gate's error (unknown op, undefined name, shape mismatch)
at that gate's line. It also reports what PyYAML lets pass: a key written twice (PyYAML silently keeps the
last), and data JSON cannot hold (dates, binary, sets), since definitions are stored as JSON. It never raises.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from grader.exercises.definition import DefinitionError, Exercise, expand_mlp, parse_exercise

MAX_SOURCE_CHARS = 100_000  # the catalogue's largest file is ~2,200 characters; PyYAML reads ~100 kB a second
MAX_VALUES = 100_000  # an alias may repeat a part; expanded beyond this many values it is a "billion laughs"
TOP = "(top level)"  # the path of the document as a whole, as DefinitionError writes it

_JSON_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "seq", "map", "merge")}
_KINDS = {"timestamp": "date", "binary": "binary", "set": "set", "omap": "ordered mapping", "pairs": "pairs"}
_INDEX = re.compile(r"\[(\d+)\]|(\d+)(?=[.\[]|$)")  # '[2]' (DefinitionError) or '2' (dotted JSON paths)


@dataclass(frozen=True)
class SourceError:
    """One problem: `line` and `column` are 1-based (column None: the document as a whole); `path` is the
    definition path DefinitionError uses ('graph[1]', 'inputs.x.shape', '(top level)')."""

    line: int
    column: int | None
    path: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        return f"line {self.line}, {self.path}: {self.message}"


@dataclass
class SourceReport:
    """`document` is the YAML's data (None if the text is not YAML); `exercise` the validated definition
    (None unless `errors` is empty)."""

    document: Any
    exercise: Exercise | None
    errors: list[SourceError]
    root: Node | None = field(default=None, repr=False)  # the composed tree, for locating later errors

    @property
    def ok(self) -> bool:
        return not self.errors

    def locate(self, path: str, *, at_key: bool = False) -> tuple[int, int | None]:
        """(line, column) of a definition path; as far down the path as the text goes (a missing key: its
        parent mapping). `at_key`: the key's own position rather than its value's."""
        return _locate(self.root, path, at_key=at_key)

    def locate_errors(self, lines: Iterable[str]) -> list[SourceError]:
        """DefinitionError's 'path: message' lines, each at its line."""
        located = []
        for text in lines:
            path, sep, message = text.partition(": ")
            if not sep:
                path, message = TOP, text
            line, column = self.locate(self._mlp_gate(path, message) or path,
                                       at_key=message.startswith("unknown key"))
            located.append(SourceError(line, column, path, message))
        return located

    def _mlp_gate(self, path: str, message: str) -> str | None:
        """A gate error of the `mlp` sugar names its expanded line: the path of the layer (or loss) that wrote
        it, found by expanding ever more layers (the line numbers of a shorter mlp do not change)."""
        found = re.search(r"\(expanded line '(.*)'\)$", message)
        if path != "mlp" or not found or not isinstance(self.document, dict):
            return None
        mlp = self.document["mlp"]
        lines = expand_mlp(mlp)
        if found.group(1) not in lines:
            return None
        index = lines.index(found.group(1))
        for k in range(1, len(mlp["layers"]) + 1):
            if index < len(expand_mlp({"input": mlp["input"], "layers": mlp["layers"][:k]})):
                return f"mlp.layers[{k - 1}]"
        return "mlp.loss"


class _Loader(yaml.SafeLoader):
    """yaml.safe_load's loader, as the catalogue's (libyaml's differs on tabs and `key:[...]` in flows)."""

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError) as exc:  # e.g. `2020-13-45` looks like a date but is none
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read {node.value!r} ({exc}); quote it to make it text", node.start_mark) from None


def check_source(text: str) -> SourceReport:
    """Parse and validate a definition's YAML text; every problem with its line (see the module's doc)."""
    if not isinstance(text, str):
        return _fail(1, None, f"expected YAML text, got {type(text).__name__}")
    if len(text) > MAX_SOURCE_CHARS:
        return _fail(1, None, f"the text is too long: at most {MAX_SOURCE_CHARS} characters")
    try:
        root, document = _parse(text)
    except yaml.MarkedYAMLError as exc:
        return _syntax_error(text, exc)
    except yaml.YAMLError as exc:  # the reader: a character YAML does not allow
        position = getattr(exc, "position", None)
        line = text.count("\n", 0, position) + 1 if isinstance(position, int) else 1
        reason = getattr(exc, "reason", None) or str(exc)
        return _fail(line, None, f"not valid YAML: {reason}")
    except RecursionError:
        return _fail(1, None, "not valid YAML: nested too deeply")
    except _Refused as exc:
        return SourceReport(None, None, [exc.error], None)
    if root is None:
        return _fail(1, None, "the definition is empty: it starts with keys such as `id:`, `title:`, `kind:`")

    errors = _duplicate_keys(root) + _not_json(root)
    if errors:  # marshmallow would read a set as a list or bytes as text, hiding these
        return SourceReport(document, None, errors, root)
    report = SourceReport(document, None, [], root)
    try:
        report.exercise = parse_exercise(document)
    except DefinitionError as exc:
        report.errors = report.locate_errors(exc.errors)
    return report


class _Refused(Exception):
    def __init__(self, error: SourceError):
        self.error = error


def _parse(text: str) -> tuple[Node | None, Any]:
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None, None
        _check_expansion(root)
        return root, loader.construct_document(root)
    finally:
        loader.dispose()


def _check_expansion(root: Node) -> None:
    """Refuse an alias inside its own anchor (a cycle: no JSON holds it) and aliases that expand to more
    than MAX_VALUES values (the tree shares an aliased node; the data, the checks and storage would not)."""
    size: dict[int, int] = {}
    stack: list[tuple[Node, bool]] = [(root, False)]
    open_ids: set[int] = set()
    while stack:
        node, done = stack.pop()
        key = id(node)
        children = _children(node)
        if done:
            open_ids.discard(key)
            size[key] = 1 + sum(size[id(c)] for c in children)
            if size[key] > MAX_VALUES:
                raise _Refused(_at(node, TOP, f"aliases expand the definition beyond {MAX_VALUES} values"))
            continue
        if key in size:
            continue
        if key in open_ids:
            raise _Refused(_at(node, TOP, "an alias refers to the anchor it is inside (a cycle)"))
        open_ids.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in size)


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


def _walk(root: Node) -> Iterable[tuple[str, Node, Node | None]]:
    """(path, node, its key node) of every value, each node once (an aliased part is walked at its anchor)."""
    seen: set[int] = set()
    stack: list[tuple[str, Node, Node | None]] = [(TOP, root, None)]
    while stack:
        path, node, key = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield path, node, key
        if isinstance(node, MappingNode):
            for k, v in reversed(node.value):
                stack.append((_join(path, _key_text(k)), v, k))
        elif isinstance(node, SequenceNode):
            for i, item in reversed(list(enumerate(node.value))):
                stack.append((f"{'' if path == TOP else path}[{i}]", item, None))


def _join(path: str, key: str) -> str:
    return key if path == TOP else f"{path}.{key}"


def _key_text(key: Node) -> str:
    return key.value if isinstance(key, ScalarNode) else "(key)"


def _duplicate_keys(root: Node) -> list[SourceError]:
    errors = []
    for path, node, _ in _walk(root):
        if not isinstance(node, MappingNode):
            continue
        first: dict[tuple[str, str], int] = {}
        for key, _value in node.value:
            if not isinstance(key, ScalarNode) or key.tag.endswith(":merge"):
                continue
            line = key.start_mark.line + 1
            where = (key.tag, key.value)
            if where in first:
                errors.append(_at(key, _join(path, key.value), f"duplicate key '{key.value}': it is also at line "
                                  f"{first[where]}, and YAML would silently keep only this last one"))
            else:
                first[where] = line
    return errors


def _not_json(root: Node) -> list[SourceError]:
    """Values JSON cannot hold (definitions are stored as JSON): a date, binary data, a set, ..."""
    errors = []
    for path, node, key in _walk(root):
        if node.tag not in _JSON_TAGS:
            kind = _KINDS.get(node.tag.rsplit(":", 1)[-1], node.tag)
            hint = "; quote it to make it text" if isinstance(node, ScalarNode) else ""
            errors.append(_at(node, path, f"a {kind} value is not allowed here (only text, numbers, true/false, "
                                          f"null, lists and mappings){hint}"))
        if key is not None and key.tag not in _JSON_TAGS:
            errors.append(_at(key, path, "a key must be text"))
    return errors


def _syntax_error(text: str, exc: yaml.MarkedYAMLError) -> SourceReport:
    mark = exc.problem_mark or exc.context_mark
    if mark is None:
        return _fail(1, None, f"not valid YAML: {exc.problem or exc}")
    lines = text.split("\n")
    line, column = min(mark.line, len(lines) - 1), mark.column  # libyaml may mark past the last line
    if line < mark.line:
        column = len(lines[line])
    line_text = lines[line]
    if "\t" in line_text[: column + 1] and not line_text[:column].strip(" \t"):
        return _fail(line + 1, column + 1, "a tab in the indentation: YAML indents with spaces only")
    opened = exc.context_mark
    if exc.context and "flow" in exc.context and opened is not None and opened.line < line:
        # An unclosed [ or {: the line a person would point at is the one with the bracket, not where the
        # parser gave up (often the next key, lines further on).
        bracket = "[" if "sequence" in exc.context else "{"
        return _fail(opened.line + 1, opened.column + 1, f"not valid YAML: this {bracket} is never closed "
                     f"({exc.problem or 'cannot read this'} at line {line + 1})")
    message = f"not valid YAML: {exc.problem or 'cannot read this'}"
    if exc.context and exc.context_mark is not None and exc.context_mark.line < line:
        message += f" ({exc.context} that starts at line {exc.context_mark.line + 1})"
    elif exc.context:
        message += f" ({exc.context})"
    return _fail(line + 1, column + 1, message)


def _fail(line: int, column: int | None, message: str, path: str = TOP) -> SourceReport:
    return SourceReport(None, None, [SourceError(line, column, path, message)], None)


def _at(node: Node, path: str, message: str) -> SourceError:
    return SourceError(node.start_mark.line + 1, node.start_mark.column + 1, path, message)


def _locate(root: Node | None, path: str, *, at_key: bool) -> tuple[int, int | None]:
    """Walk the tree along a path ('a.b[2].c', or JSON's 'a.b.2.c'); keys may themselves hold dots, so at a
    mapping the longest key that starts the rest of the path wins (the last of duplicates: YAML's value)."""
    if root is None or path in (TOP, ""):
        return 1, None
    node, key_node, rest = root, None, path
    while rest:
        rest = rest.removeprefix(".")
        if isinstance(node, MappingNode):
            match = _match_key(node, rest)
            if match is None:
                break
            key_node, node, used = match
        elif isinstance(node, SequenceNode):
            found = _INDEX.match(rest)
            if found is None or int(found.group(1) or found.group(2)) >= len(node.value):
                break
            key_node, node, used = None, node.value[int(found.group(1) or found.group(2))], found.end()
        else:
            break
        rest = rest[used:]
    if node is root:
        return 1, None
    target = key_node if key_node is not None and (at_key or not isinstance(node, ScalarNode)) else node
    return target.start_mark.line + 1, target.start_mark.column + 1


def _match_key(node: MappingNode, rest: str) -> tuple[Node, Node, int] | None:
    best = None
    for key, value in node.value:
        name = _key_text(key) if isinstance(key, ScalarNode) else None
        if name is None:
            continue
        index = f"[{name}]"  # an int key, which DefinitionError writes as an index
        for written in (name, index):
            fits = rest.startswith(written) and rest[len(written):][:1] in ("", ".", "[")
            if fits and (best is None or len(written) >= best[2]):
                best = (key, value, len(written))
    return best
