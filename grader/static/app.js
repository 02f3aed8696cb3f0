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

  // Paste box: a preview in the grid when the text is plainly numbers in brackets (numpy, lists, MATLAB).
  // The server reads the paste box itself (it wins over the grid); this only shows what it will see.
  var PLAIN = /^[\s\[\](),;0-9eE.+\-\u2212]*$/;
  function previewPaste(area) {
    var table = document.querySelector('table.grid[data-ask="' + area.dataset.ask + '"]');
    if (!table) return;
    var text = area.value.replace(/^\s*\w+\s*=\s*/, "").replace(/array\(/g, "(").replace(/,?\s*dtype=\w+/g, "");
    if (!text.trim() || !PLAIN.test(text)) return;
    var numbers = text.replace(/\u2212/g, "-").match(/[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/g) || [];
    var rows = Number(table.dataset.rows), cols = Number(table.dataset.cols);
    if (numbers.length !== rows * cols) return;
    table.querySelectorAll("input.cell").forEach(function (cell) {
      cell.value = numbers[Number(cell.dataset.row) * cols + Number(cell.dataset.col)];
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    renderMath();
    document.querySelectorAll("textarea.code-editor").forEach(setUpEditor);
    document.querySelectorAll("table.grid").forEach(setUpGrid);
    document.querySelectorAll("textarea.paste").forEach(function (area) {
      area.addEventListener("input", function () { previewPaste(area); });
    });
    var feedback = document.getElementById("feedback");
    if (feedback && window.location.hash === "") feedback.focus({ preventScroll: true });
  });
})();
