// The definition editor: CodeMirror 6 over a plain <textarea data-editor="yaml">, bundled by `make static`
// into grader/static/vendor/codemirror/editor.js. Progressive enhancement only: without this script the
// textarea is posted as is, and with it every change is copied back into the textarea, so the form posts
// what the editor shows.
//
// Contract with the page (all optional but the textarea):
//   <label for="definition">…</label>               the editor's accessible name
//   <textarea id="definition" name="definition" data-editor="yaml"
//             data-validate-url="/…/validate" data-csrf="TOKEN">…</textarea>
//   <ul id="definition-errors" aria-live="polite">   one <li> per error, click to go to its line
//   <p id="definition-status">                       "No errors", "2 errors", or why checking failed
//   <script type="application/json" id="editor-vocabulary">{"keys": {...}, "ops": [...]}</script>
// The validate endpoint takes {"source": text} and answers {"ok": bool, "errors": [{line, column, path,
// message}]} (line 1-based, column 1-based or null).

import { EditorView, basicSetup } from "codemirror";
import { EditorState } from "@codemirror/state";
import { keymap } from "@codemirror/view";
import { indentWithTab } from "@codemirror/commands";
import { yaml } from "@codemirror/lang-yaml";
import { lintGutter, setDiagnostics } from "@codemirror/lint";
import { definitionCompletions } from "./completion.js";

const VALIDATE_DELAY_MS = 400;

function readVocabulary() {
  const block = document.getElementById("editor-vocabulary");
  if (!block) return { keys: {}, ops: [] };
  try {
    return JSON.parse(block.textContent);
  } catch (error) {
    console.warn("editor-vocabulary is not valid JSON; completion is off", error);
    return { keys: {}, ops: [] };
  }
}

function labelText(textarea) {
  const label = textarea.id && document.querySelector(`label[for="${CSS.escape(textarea.id)}"]`);
  return (label && label.textContent.trim()) || textarea.getAttribute("aria-label") || "Definition (YAML)";
}

// The span a diagnostic underlines: the line's text from its first non-blank character (from the
// column where the server gives one), so the marker sits on the line a person would point at.
function diagnosticRange(doc, error) {
  const number = Math.min(Math.max(Number(error.line) || 1, 1), doc.lines);
  const line = doc.line(number);
  const indent = line.text.length - line.text.trimStart().length;
  const start = Number(error.column) > 0 ? Number(error.column) - 1 : indent;
  return { from: line.from + Math.min(start, line.length), to: line.to };
}

function describe(error) {
  const where = error.line ? `line ${error.line}` : "";
  return { where, path: error.path || "", message: String(error.message || "invalid") };
}

function plural(count, word) {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

class DefinitionEditor {
  constructor(textarea, vocabulary) {
    this.textarea = textarea;
    this.url = textarea.dataset.validateUrl || "";
    this.csrf = textarea.dataset.csrf || "";
    this.list = textarea.id ? document.getElementById(`${textarea.id}-errors`) : null;
    this.status = textarea.id ? document.getElementById(`${textarea.id}-status`) : null;
    this.timer = null;
    this.request = null; // the AbortController of the check in flight

    const describedBy = [...new Set([...(textarea.getAttribute("aria-describedby") || "").split(/\s+/),
      this.list && this.list.id].filter(Boolean))].join(" ");
    const contentAttributes = { "aria-label": labelText(textarea) };
    if (describedBy) contentAttributes["aria-describedby"] = describedBy;

    const complete = definitionCompletions(vocabulary); // one source: CodeMirror tracks it by identity
    this.view = new EditorView({
      state: EditorState.create({
        doc: textarea.value,
        extensions: [
          basicSetup,
          keymap.of([indentWithTab]), // Esc then Tab still leaves the editor (CodeMirror's tab focus mode)
          yaml(),
          lintGutter(),
          EditorState.languageData.of(() => [{ autocomplete: complete }]),
          EditorView.contentAttributes.of(contentAttributes),
          EditorView.updateListener.of((update) => { if (update.docChanged) this.changed(); }),
          EditorView.theme({
            "&": { border: "1px solid #8a8f98", borderRadius: "4px", fontSize: "0.95rem", backgroundColor: "#fff" },
            "&.cm-focused": { outline: "2px solid #1a5fb4", outlineOffset: "1px" },
            ".cm-scroller": { minHeight: "18em", maxHeight: "70vh", fontFamily: "ui-monospace, monospace" },
          }),
        ],
      }),
    });
    textarea.hidden = true;
    textarea.style.display = "none"; // also where the page's CSS gives textareas a display of their own
    textarea.insertAdjacentElement("afterend", this.view.dom);
    textarea.dataset.editorReady = "true";

    // A form reset puts the textarea back to what the page was served with; the editor follows.
    if (textarea.form) {
      textarea.form.addEventListener("reset", () => setTimeout(() => this.replaceText(textarea.value), 0));
    }
    if (this.url) this.validate(); // errors of what the page was served with show at once
  }

  replaceText(text) {
    this.view.dispatch({ changes: { from: 0, to: this.view.state.doc.length, insert: text } });
  }

  changed() {
    this.textarea.value = this.view.state.doc.toString();
    this.textarea.dispatchEvent(new Event("input", { bubbles: true }));
    if (!this.url) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.validate(), VALIDATE_DELAY_MS);
  }

  async validate() {
    if (this.request) this.request.abort(); // only the newest text's answer matters
    const request = (this.request = new AbortController());
    const doc = this.view.state.doc;
    this.textarea.dataset.validation = "pending";
    let answer;
    try {
      const response = await fetch(this.url, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": this.csrf },
        body: JSON.stringify({ source: doc.toString() }),
        credentials: "same-origin",
        signal: request.signal,
      });
      answer = await response.json().catch(() => null);
      if (!answer || !Array.isArray(answer.errors)) {
        this.failed(`the server answered ${response.status} ${response.statusText}`.trim());
        return;
      }
    } catch (error) {
      if (request.signal.aborted) return;
      this.failed("the server could not be reached");
      return;
    } finally {
      if (this.request === request) this.request = null;
    }
    if (request.signal.aborted || this.view.state.doc !== doc) return; // the text changed meanwhile
    this.show(answer.errors);
  }

  failed(why) {
    this.textarea.dataset.validation = "failed";
    this.setStatus(`Could not check the definition: ${why}. Saving checks it again.`);
  }

  setStatus(text) {
    if (this.status) this.status.textContent = text;
  }

  show(errors) {
    const doc = this.view.state.doc;
    const diagnostics = errors.map((error) => {
      const { path, message } = describe(error);
      return { ...diagnosticRange(doc, error), severity: "error", message: path ? `${path}: ${message}` : message };
    });
    this.view.dispatch(setDiagnostics(this.view.state, diagnostics));
    this.textarea.dataset.validation = errors.length ? "errors" : "ok";
    // Set by hand, not through contentAttributes: CodeMirror keeps attributes it did not set itself.
    if (errors.length) this.view.contentDOM.setAttribute("aria-invalid", "true");
    else this.view.contentDOM.removeAttribute("aria-invalid");
    this.setStatus(errors.length ? plural(errors.length, "error") : "No errors");
    if (this.list) this.list.replaceChildren(...errors.map((error) => this.listItem(error)));
  }

  // "line 7, <code>graph[1]</code>: unknown op …"; the line is a link, and a click anywhere on the item
  // puts the cursor on that line.
  listItem(error) {
    const { where, path, message } = describe(error);
    const item = document.createElement("li");
    const target = error.line ? document.createElement("a") : document.createElement("span");
    target.textContent = where;
    if (error.line) {
      target.href = `#${this.textarea.id}`;
      item.addEventListener("click", (event) => { event.preventDefault(); this.goTo(error); });
    }
    item.append(target);
    if (path) {
      const code = document.createElement("code");
      code.textContent = path;
      item.append(where ? ", " : "", code);
    }
    item.append(`${where || path ? ": " : ""}${message}`);
    item.dataset.line = error.line || "";
    return item;
  }

  goTo(error) {
    const { from } = diagnosticRange(this.view.state.doc, error);
    this.view.dispatch({ selection: { anchor: from }, scrollIntoView: true });
    this.view.focus();
  }
}

function start() {
  const areas = document.querySelectorAll('textarea[data-editor="yaml"]');
  if (areas.length === 0) return;
  const vocabulary = readVocabulary();
  areas.forEach((textarea) => {
    if (!textarea.dataset.editorReady) textarea.editor = new DefinitionEditor(textarea, vocabulary);
  });
}

// On DOMContentLoaded, not as soon as this deferred script runs: the page's own script (app.js, loaded
// before this one) typesets $math$ in #main then, and must find the textarea (which it skips), not the
// editor's lines, whose text KaTeX would otherwise replace inside the document being edited.
if (document.readyState === "complete") start();
else {
  document.addEventListener("DOMContentLoaded", start);
  window.addEventListener("load", start); // in case this script was added after DOMContentLoaded
}
