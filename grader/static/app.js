// Gradgate student pages: progressive enhancement only. Every form works without this file.
(function () {
  "use strict";

  // Math: $$display$$ and $inline$ in the prompt, the labels and the feedback, rendered by the vendored KaTeX.
  function renderMath() {
    if (typeof window.renderMathInElement !== "function") return;
    window.renderMathInElement(document.getElementById("main") || document.body, {
      delimiters: [
        { left: "$$", right: "$$", display: true },
        { left: "$", right: "$", display: false },
      ],
      ignoredTags: ["script", "noscript", "style", "textarea", "pre", "code", "option"],
      throwOnError: false,
    });
  }

  // Code editor: Tab inserts four spaces, Shift+Tab outdents. Esc then Tab leaves the editor, so keyboard
  // users are never trapped (the page says so next to the editor).
  function setUpEditor(area) {
    var escaped = false;
    area.addEventListener("keydown", function (event) {
      if (event.key === "Escape") { escaped = true; return; }
      if (event.key !== "Tab" || escaped || event.ctrlKey || event.altKey || event.metaKey) {
        if (event.key !== "Shift") escaped = false;
        return;
      }
      event.preventDefault();
      var text = area.value, start = area.selectionStart, end = area.selectionEnd;
      var lineStart = text.lastIndexOf("\n", start - 1) + 1;
      if (!event.shiftKey && start === end) {
        area.setRangeText("    ", start, end, "end");
      } else {
        // Indent or outdent every line the selection touches.
        var block = text.slice(lineStart, end);
        var lines = block.split("\n");
        var changed = lines.map(function (line) {
          return event.shiftKey ? line.replace(/^ {1,4}/, "") : "    " + line;
        });
        var first = changed[0].length - lines[0].length;
        area.setRangeText(changed.join("\n"), lineStart, end, "preserve");
        var newEnd = lineStart + changed.join("\n").length;
        area.selectionStart = Math.max(lineStart, start + first);
        area.selectionEnd = start === end ? area.selectionStart : newEnd;
      }
      area.dispatchEvent(new Event("input", { bubbles: true }));
    });
    area.addEventListener("blur", function () { escaped = false; });
  }

  // Grids: arrow keys move between cells (left/right only at the ends of the text, so editing still works).
  function setUpGrid(table) {
    table.addEventListener("keydown", function (event) {
      var input = event.target;
      if (!input.classList || !input.classList.contains("cell")) return;
      var r = Number(input.dataset.row), c = Number(input.dataset.col);
      var atStart = input.selectionStart === 0 && input.selectionEnd === 0;
      var atEnd = input.selectionStart === input.value.length;
      if (event.key === "ArrowUp") r -= 1;
      else if (event.key === "ArrowDown") r += 1;
      else if (event.key === "ArrowLeft" && atStart) c -= 1;
      else if (event.key === "ArrowRight" && atEnd) c += 1;
      else return;
      var next = table.querySelector('input.cell[data-row="' + r + '"][data-col="' + c + '"]');
      if (next) { event.preventDefault(); next.focus(); next.select(); }
    });
  }

  // Paste box and grid: whichever the student edited last is what is sent (the hidden source-<ask> field,
  // read by the server; without this script a non-empty paste box wins, as the page says). A paste is shown in
  // the grid when it fits the ask's shape; one that does not fit clears the grid and says why, so the grid
  // never shows numbers that are not what will be graded.
  var PLAIN = /^[\s\[\](),;0-9eE.+\-\u2212]*$/;
  var NUMBER = /[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/g;

  function numbersIn(text) { return text.replace(/\u2212/g, "-").match(NUMBER) || []; }

  // The paste's rows: MATLAB's `;`, else the innermost brackets ([[1, 2], [3, 4]], numpy's printout), else
  // its lines; one row when none of these.
  function rowsOf(text) {
    var parts;
    if (text.indexOf(";") >= 0) parts = text.split(";");
    else if (/[\[(][^\[\]()]*[\[(]/.test(text)) parts = text.match(/[\[(][^\[\]()]*[\])]/g) || [];
    else parts = text.split("\n");
    return parts.map(numbersIn).filter(function (row) { return row.length; });
  }

  function say(ask, text, warn) {
    var status = document.getElementById("paste-status-" + ask);
    if (!status) return;
    status.textContent = text;
    status.hidden = !text;
    status.classList.toggle("warn", Boolean(warn));
  }

  function shapeWords(rows, cols, ndim) {
    return ndim === 1 ? "a list of " + cols + " numbers" : "a " + rows + "\u00d7" + cols + " matrix";
  }

  function setSource(ask, value) {
    var field = document.querySelector('input.source[data-ask="' + ask + '"]');
    if (field) field.value = value;
  }

  function previewPaste(area) {
    var ask = area.dataset.ask;
    var table = document.querySelector('table.grid[data-ask="' + ask + '"]');
    if (!table) return;
    setSource(ask, "paste");
    area.classList.remove("unused");
    var cells = table.querySelectorAll("input.cell");
    var text = area.value.replace(/^\s*\w+\s*=\s*/, "").replace(/array\(/g, "(").replace(/,?\s*dtype=\w+/g, "");
    if (!text.trim()) { say(ask, ""); return; }
    var rows = Number(table.dataset.rows), cols = Number(table.dataset.cols), ndim = Number(table.dataset.ndim);
    var want = shapeWords(rows, cols, ndim);
    function clear(why) {
      cells.forEach(function (cell) { cell.value = ""; });
      say(ask, why + " The boxes above were cleared; the paste is what will be submitted.", true);
    }
    if (!PLAIN.test(text)) {
      clear("This paste has more than numbers and brackets, so it cannot be shown in the boxes: it is read when you submit.");
      return;
    }
    var found = rowsOf(text), flat = numbersIn(text);
    var fits = ndim === 1 ? flat.length === cols
      : (found.length === rows && found.every(function (row) { return row.length === cols; }))
        || (rows === 1 && flat.length === cols);
    if (!fits) {
      var got = found.length > 1 && found.every(function (row) { return row.length === found[0].length; })
        ? found.length + " rows of " + found[0].length + " numbers"
        : found.length > 1 ? found.length + " rows of different lengths"
          : flat.length + " number" + (flat.length === 1 ? "" : "s") + " in one row";
      clear("This paste has " + got + "; the answer is " + want + ".");
      return;
    }
    cells.forEach(function (cell) {
      cell.value = flat[Number(cell.dataset.row) * cols + Number(cell.dataset.col)];
    });
    say(ask, "Shown in the boxes above. Whichever you edit last, the boxes or this paste, is what is submitted.");
  }

  function gridEdited(table) {
    var ask = table.dataset.ask;
    setSource(ask, "grid");
    var area = document.getElementById("paste-" + ask);
    if (area && area.value.trim()) {
      area.classList.add("unused");
      say(ask, "You edited the boxes after pasting: the boxes are what will be submitted, not this paste.", true);
    }
  }

  // Check on the example: the result is put under the buttons without leaving the page (the button also
  // works without this script: it posts the form to the check's own address). Nothing is stored.
  function setUpPrecheck(button) {
    var form = button.form, target = document.getElementById("precheck");
    if (!form || !target || !window.fetch) return;
    var label = button.textContent;
    button.addEventListener("click", function (event) {
      event.preventDefault();
      button.disabled = true;
      button.textContent = "Checking\u2026";
      var data = new FormData(form);
      fetch(button.formAction, { method: "POST", body: data, credentials: "same-origin",
                                 headers: { "X-Requested-With": "fetch" } })
        .then(function (response) {
          if (!response.headers.get("X-Precheck")) throw new Error("not a check result");
          return response.text();
        })
        .then(function (html) {
          target.innerHTML = html;
          var result = document.getElementById("precheck-result");
          if (result) result.focus();
        })
        .catch(function () {
          // Signed out, a stale form, the network: post the form as without the script, so the page says why.
          form.action = button.formAction;
          form.submit();
        })
        .finally(function () { button.disabled = false; button.textContent = label; });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    renderMath();
    document.querySelectorAll("textarea.code-editor").forEach(setUpEditor);
    document.querySelectorAll("table.grid").forEach(function (table) {
      setUpGrid(table);
      table.addEventListener("input", function () { gridEdited(table); });
    });
    document.querySelectorAll("textarea.paste").forEach(function (area) {
      area.addEventListener("input", function () { previewPaste(area); });
    });
    var precheck = document.getElementById("precheck-button");
    if (precheck) setUpPrecheck(precheck);
    var feedback = document.getElementById("feedback");
    if (feedback && window.location.hash === "") feedback.focus({ preventScroll: true });
  });
})();
