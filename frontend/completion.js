// Completion for exercise definitions: keys (by the dotted path of their parent, worked out from the
// indentation, as a person reads YAML), the fixed choices of some values (`kind: `), and op names after
// `name = ` in `graph:` lines.
//
// The vocabulary comes from the page (grader/exercises/vocabulary.py writes it):
//   {"keys": {"": [top-level keys], "function": [...], "ask[]": [keys of each item of ask], "inputs.*": [...]},
//    "values": {"kind": ["code", "numeric"], "mlp.loss": [...]}, "ops": [...]}
// "[]" marks the items of a list, "*" a mapping under any name the author chooses (`inputs: {x: ...}`).

const LINE = /^(\s*)((?:-\s+)*)(.*)$/; // indentation, list dashes, the rest
const KEY = /^["']?([A-Za-z_][\w-]*)["']?\s*:(?:\s+(.*))?$/; // `key:` and what follows it on the line
const TYPING_KEY = /^(\s*)(-\s+)?([A-Za-z_][\w-]*)?$/; // a key being typed at the start of a line
const TYPING_VALUE = /^(\s*)(-\s+)?([A-Za-z_][\w-]*)\s*:\s+(\w*)$/; // `kind: num`
const TYPING_OP = /^(\s*)-\s+["']?[A-Za-z_]\w*\s*=\s*([A-Za-z_]\w*)?$/; // `  - h = sig`

function isBlankOrComment(text) {
  const trimmed = text.trim();
  return trimmed === "" || trimmed.startsWith("#");
}

// Whether the value after `key:` lets keys follow on the lines below: nothing (or a comment) does; a
// block scalar (`|`, `>`) or any other value does not.
function opensMapping(value) {
  return value === undefined || value === "" || value.startsWith("#");
}

/**
 * The dotted path of the mapping in which a key starts at `column` of line `lineNumber` (1-based): ""
 * for the top level, null where no key can be typed (in a block scalar such as `prompt: |`). `listItem`:
 * the line is a list item whose dash is at `column`; the keys of `ask:`'s items have the path "ask[]".
 */
export function parentPath(doc, lineNumber, column, listItem = false) {
  const path = [];
  let limit = column; // the parent's key starts left of this column...
  let list = listItem; // ...or at it, when the lines below are the items of a list (`key:` then `- ...`)
  const hold = (key) => path.unshift(list ? `${key}[]` : key);
  for (let n = lineNumber - 1; n >= 1 && (limit > 0 || list); n--) {
    const text = doc.line(n).text;
    if (isBlankOrComment(text)) continue;
    const [, indent, dashes, rest] = LINE.exec(text);
    const dashColumn = indent.length;
    const keyColumn = dashColumn + dashes.length;
    const key = KEY.exec(rest);
    if (dashColumn > limit) continue; // deeper: not a parent
    if (dashColumn === limit) {
      if (!list || dashes) continue; // a sibling, or another item of the same list
      // YAML lets a list's dashes stand at its key's column: this key holds the list.
      if (!key || !opensMapping(key[2])) return null;
      hold(key[1]);
      list = false;
      continue;
    }
    if (keyColumn < limit) {
      if (!key || !opensMapping(key[2])) return null; // a value or a block scalar holds what is below
      hold(key[1]);
    }
    // A list item's own keys start at keyColumn; what holds the list is at or left of its dash.
    list = Boolean(dashes);
    limit = list ? dashColumn : keyColumn;
  }
  return path.join(".");
}

// table[path], where a name the author chose may stand for "*" (inputs.x.random -> inputs.*.random).
function lookUp(table, path) {
  if (!table) return null;
  if (Object.prototype.hasOwnProperty.call(table, path)) return table[path];
  const parts = path.split(".");
  for (let i = parts.length - 1; i >= 0; i--) {
    const wildcard = parts.slice(0, i).concat("*", parts.slice(i + 1)).join(".");
    if (Object.prototype.hasOwnProperty.call(table, wildcard)) return table[wildcard];
  }
  return null;
}

// The top-level keys already written, so they are not offered twice.
function topLevelKeys(doc, skipLine) {
  const seen = new Set();
  for (let n = 1; n <= doc.lines; n++) {
    if (n === skipLine) continue;
    const match = /^([A-Za-z_][\w-]*)\s*:/.exec(doc.line(n).text);
    if (match) seen.add(match[1]);
  }
  return seen;
}

// The path of the mapping a key on this line belongs to: `indent` and `dash` as TYPING_* matched them.
function pathAt(doc, lineNumber, indent, dash) {
  return indent.length === 0 && !dash ? "" : parentPath(doc, lineNumber, indent.length, Boolean(dash));
}

/** A CodeMirror completion source over `vocabulary` (see the top of this file). */
export function definitionCompletions(vocabulary) {
  const ops = (vocabulary.ops || []).map((op) => ({ label: op, type: "function", detail: "op" }));
  return (context) => {
    const { state, pos } = context;
    const line = state.doc.lineAt(pos);
    const before = line.text.slice(0, pos - line.from);
    const result = (word, options, validFor) =>
      (word || context.explicit) && options.length ? { from: pos - word.length, options, validFor } : null;

    const op = TYPING_OP.exec(before);
    if (op) {
      if (parentPath(state.doc, line.number, op[1].length, true) !== "graph[]") return null;
      return result(op[2] || "", ops, /^\w*$/);
    }

    const value = TYPING_VALUE.exec(before);
    if (value) {
      const parent = pathAt(state.doc, line.number, value[1], value[2]);
      if (parent === null) return null;
      const choices = lookUp(vocabulary.values, parent ? `${parent}.${value[3]}` : value[3]) || [];
      return result(value[4], choices.map((choice) => ({ label: choice, type: "enum" })), /^\w*$/);
    }

    const key = TYPING_KEY.exec(before);
    if (!key) return null;
    const path = pathAt(state.doc, line.number, key[1], key[2]);
    if (path === null) return null;
    const taken = path === "" ? topLevelKeys(state.doc, line.number) : new Set();
    const options = (lookUp(vocabulary.keys, path) || []).filter((name) => !taken.has(name))
      .map((name) => ({ label: name, apply: `${name}: `, type: "property", detail: path || "top level" }));
    return result(key[3] || "", options, /^[\w-]*$/);
  };
}
