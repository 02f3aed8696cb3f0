// Completion for exercise definitions: keys (by the dotted path of their parent, worked out from the
// indentation, as a person reads YAML) and op names after `name = ` in `graph:` lines.
//
// The vocabulary comes from the page: {"keys": {"": [top-level keys], "function": [...], ...}, "ops": [...]}.
// A parent path may name a map of the author's own names with "*" ("inputs.*" for `inputs: {x: {shape: ...}}`).

const KEY_LINE = /^(\s*)((?:-\s+)*)(.*)$/; // indentation, list dashes, the rest
const KEY = /^["']?([A-Za-z_][\w-]*)["']?\s*:(?:\s+(.*))?$/; // `key:` and what follows it on the line
const TYPING_KEY = /^(\s*)(-\s+)?([A-Za-z_][\w-]*)?$/; // the start of a line, up to the cursor
const TYPING_OP = /^(\s*)-\s+["']?[A-Za-z_]\w*\s*=\s*([A-Za-z_]\w*)?$/; // `  - h = sig`

function isBlankOrComment(text) {
  const trimmed = text.trim();
  return trimmed === "" || trimmed.startsWith("#");
}

// What a line's value after `key:` says about the lines indented under it: a mapping or list follows
// ("" or a comment), a block scalar (`|`, `>`: no keys inside), or a scalar value.
function opensBlock(value) {
  if (value === undefined || value === "" || value.startsWith("#")) return "block";
  if (/^[|>][-+0-9]*\s*(#.*)?$/.test(value)) return "scalar-block";
  return "value";
}

/**
 * The dotted path of the mapping whose key starts at column `column` of line `lineNumber` (1-based),
 * "" for the top level, or null where no key can be typed (inside a block scalar such as `prompt: |`).
 * List items are transparent: the keys of `ask:`'s items have the parent path "ask". `listItem`: the
 * line is an item (`- ...`) whose dash is at `column`.
 */
export function parentPath(doc, lineNumber, column, listItem = false) {
  const path = [];
  let limit = column; // the parent's key starts left of this column...
  let list = listItem; // ...or at it, when the lines below are the items of a list (`key:` then `- ...`)
  for (let n = lineNumber - 1; n >= 1 && (limit > 0 || list); n--) {
    const text = doc.line(n).text;
    if (isBlankOrComment(text)) continue;
    const [, indent, dashes, rest] = KEY_LINE.exec(text);
    const dashColumn = indent.length;
    const keyColumn = dashColumn + dashes.length;
    const key = KEY.exec(rest);
    if (dashColumn > limit) continue; // deeper: not a parent
    if (dashColumn === limit) {
      if (!list || dashes) continue; // a sibling, or another item of the same list
      // YAML lets a list's dashes stand at its key's column: this key holds the list.
      if (!key || opensBlock(key[2]) !== "block") return null;
      path.unshift(key[1]);
      list = false;
      continue;
    }
    if (keyColumn < limit) {
      if (!key || opensBlock(key[2]) !== "block") return null; // a value or a block scalar holds what is below
      path.unshift(key[1]);
    }
    // A list item's own keys start at keyColumn; what holds the list is at or left of its dash.
    list = Boolean(dashes);
    limit = list ? dashColumn : keyColumn;
  }
  return path.join(".");
}

function keysFor(vocabulary, path) {
  const keys = vocabulary.keys || {};
  if (Object.prototype.hasOwnProperty.call(keys, path)) return keys[path];
  // The author's own names (inputs.x, params.W1) stand for "*".
  const parts = path.split(".");
  for (let i = parts.length - 1; i >= 0; i--) {
    const wildcard = parts.slice(0, i).concat("*", parts.slice(i + 1)).join(".");
    if (Object.prototype.hasOwnProperty.call(keys, wildcard)) return keys[wildcard];
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

/** A CodeMirror completion source over `vocabulary` (see the top of this file). */
export function definitionCompletions(vocabulary) {
  const ops = (vocabulary.ops || []).map((op) => ({ label: op, type: "function", detail: "op" }));
  return (context) => {
    const { state, pos } = context;
    const line = state.doc.lineAt(pos);
    const before = line.text.slice(0, pos - line.from);

    const op = TYPING_OP.exec(before);
    if (op) {
      if (parentPath(state.doc, line.number, op[1].length, true) !== "graph") return null;
      const word = op[2] || "";
      if (!word && !context.explicit) return null;
      return { from: pos - word.length, options: ops, validFor: /^\w*$/ };
    }

    const typing = TYPING_KEY.exec(before);
    if (!typing) return null;
    const word = typing[3] || "";
    if (!word && !context.explicit) return null;
    // Where the key starts, or for a list item (`  - gr`) its dash: what holds the item is left of it.
    const column = typing[1].length;
    const path = column === 0 && !typing[2] ? "" : parentPath(state.doc, line.number, column, Boolean(typing[2]));
    if (path === null) return null;
    const keys = keysFor(vocabulary, path);
    if (!keys || keys.length === 0) return null;
    const taken = path === "" ? topLevelKeys(state.doc, line.number) : new Set();
    const options = keys.filter((key) => !taken.has(key))
      .map((key) => ({ label: key, apply: `${key}: `, type: "property", detail: path || "top level" }));
    return { from: pos - word.length, options, validFor: /^[\w-]*$/ };
  };
}
