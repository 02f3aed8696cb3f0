"""The definition editor (grader/static/vendor/codemirror/editor.js, built from frontend/ by `make static`) in
real headless Chromium, on a fixture page served with the service's Content-Security-Policy by a small local
server whose validate endpoint finds unknown ops and keys the way the service reports them (line, column,
path, message). Checks: the textarea becomes an editor and follows every change, errors land in the gutter on
their line and in the list, completion offers ops and keys, network failures are reported, and a submit
posts what the editor shows. Screenshots go to artifacts/screenshots/."""

from __future__ import annotations

import difflib
import html
import json
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from grader.engine.gates import GATES
from grader.headers import CONTENT_SECURITY_POLICY
from tests.browser.conftest import _chromium_problem, screenshot

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "grader" / "static"
BUNDLE = STATIC / "vendor" / "codemirror" / "editor.js"
FIXTURE = Path(__file__).with_name("fixtures") / "editor.html"
OPS = sorted(GATES)
VOCABULARY = {  # as grader/exercises/vocabulary.py writes it: "[]" the items of a list, "*" any name
    "keys": {
        "": ["allow_zero", "ask", "dims", "follow_through", "function", "graph", "id", "inputs", "kind", "params",
             "prompt", "tests", "title", "upstream", "version"],
        "ask[]": ["grad", "index", "label"],
        "function": ["args", "name", "returns", "solution", "starter", "wrong"],
        "function.wrong[]": ["code", "expect"],
        "inputs.*": ["random", "shape", "value"],
        "inputs.*.random": ["choice", "decimals", "normal", "uniform"],
    },
    "values": {"kind": ["code", "numeric"]},
    "ops": OPS,
}
SOURCE = """id: two-gates
title: "Two gates"
kind: numeric
inputs:
  x: {shape: [1, 2], random: {uniform: [0.1, 1.0]}}
params:
  W: {shape: [2, 1], random: {uniform: [-1.0, 1.0]}}
graph:
  - z = matmul(x, W)
  - out = sigmoid(z)

function:
  name: f
ask:
  - {grad: W, label: "dL/dW"}
prompt: |
  The gradient of $L$ with respect to $W$.
"""
BLANK_GRAPH_LINE = 11  # the empty line after the graph (1-based)
GATE_LINE = re.compile(r"^(\s*-\s*)(\w+)\s*=\s*(\w+)\(")
TOP_KEY = re.compile(r"^([A-Za-z_]\w*)\s*:")


def fake_validate(source: str) -> list[dict]:
    """Unknown ops in gate lines and unknown top-level keys, with the line and path the service reports."""
    errors, gate = [], -1
    for number, text in enumerate(source.splitlines(), start=1):
        if (gate_line := GATE_LINE.match(text)):
            gate += 1
            prefix, _, op = gate_line.groups()
            if op not in GATES:
                close = difflib.get_close_matches(op, OPS, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                errors.append({"line": number, "column": text.index(op) + 1, "path": f"graph[{gate}]",
                               "message": f"unknown op '{op}'{hint}"})
        elif (key := TOP_KEY.match(text)) and key.group(1) not in VOCABULARY["keys"][""]:
            errors.append({"line": number, "column": None, "path": key.group(1), "message": "unknown key"})
    return errors


@dataclass
class FixtureServer:
    url: str
    validations: list[dict] = field(default_factory=list)  # {"body": ..., "csrf": ...} per POST /validate
    saved: list[dict] = field(default_factory=list)  # the form bodies posted to /save


@pytest.fixture(scope="module")
def fixture_server() -> Iterator[FixtureServer]:
    state = FixtureServer(url="")
    page_template = FIXTURE.read_text()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # keep the test output clean
            pass

        def reply(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Content-Security-Policy", CONTENT_SECURITY_POLICY.format(frame_ancestors="'self'"))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            url = urlsplit(self.path)
            if url.path == "/page":
                validate = parse_qs(url.query).get("validate", ["/validate"])[0]
                page = (page_template.replace("__VALIDATE_URL__", html.escape(validate))
                        .replace("__SOURCE__", html.escape(SOURCE))
                        .replace("__VOCABULARY__", json.dumps(VOCABULARY)))
                self.reply(200, page.encode(), "text/html; charset=utf-8")
            elif url.path == "/favicon.ico":
                self.reply(204, b"", "image/x-icon")
            elif url.path.startswith("/static/") and (file := STATIC / url.path.removeprefix("/static/")).is_file():
                assert file.resolve().is_relative_to(STATIC)
                kind = {".js": "text/javascript", ".css": "text/css", ".woff2": "font/woff2"}.get(file.suffix)
                self.reply(200, file.read_bytes(), kind or "application/octet-stream")
            else:
                self.reply(404, b"not found", "text/plain")

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.path == "/validate":
                payload = json.loads(body)
                state.validations.append({"body": payload, "csrf": self.headers.get("X-CSRFToken"),
                                          "type": self.headers.get("Content-Type")})
                errors = fake_validate(payload["source"])
                self.reply(200, json.dumps({"ok": not errors, "errors": errors}).encode(), "application/json")
            elif self.path == "/validate-500":
                self.reply(500, b"<h1>Internal Server Error</h1>", "text/html")
            elif self.path == "/validate-down":
                self.close_connection = True  # no answer at all: the browser sees a network error
            elif self.path == "/save":
                state.saved.append({k: v[0] for k, v in parse_qs(body.decode()).items()})
                self.reply(200, b"saved", "text/plain")
            else:
                self.reply(404, b"not found", "text/plain")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_port}"
    try:
        yield state
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def chromium(fixture_server, chromium_browser):
    """conftest's Chromium (one per process: a second sync Playwright in the same worker fails)."""
    problem = _chromium_problem() or (None if BUNDLE.exists() else f"{BUNDLE} is missing: make static")
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the browser tests: {problem}")
        pytest.skip(problem)
    return chromium_browser


def expect(locator):
    from playwright.sync_api import expect  # imported late, as in conftest: without it the tests skip or fail

    return expect(locator)


@dataclass
class EditorPage:
    page: object
    errors: list[str]  # console errors and uncaught exceptions


@pytest.fixture
def editor(chromium, fixture_server, request) -> Iterator[EditorPage]:
    """The fixture page with the editor mounted and the first check (of the valid source) answered."""
    context = chromium.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(f"pageerror: {error}"))
    validate = getattr(request, "param", "/validate")
    page.goto(f"{fixture_server.url}/page?validate={validate}")
    page.wait_for_selector("#definition[data-editor-ready=true]", state="attached")
    yield EditorPage(page, errors)
    context.close()


def textarea_value(page) -> str:
    return page.locator("#definition").input_value()


def put_cursor(page, line: int, column: int = 0) -> None:
    """Test setup only: place the cursor (what follows is typed with the keyboard)."""
    page.evaluate("""([line, column]) => {
        const view = document.getElementById("definition").editor.view;
        view.dispatch({selection: {anchor: view.state.doc.line(line).from + column}});
        view.focus();
    }""", [line, column])


def current_line(page) -> str:
    return page.evaluate("""() => {
        const state = document.getElementById("definition").editor.view.state;
        const head = state.selection.main.head, line = state.doc.lineAt(head);
        return line.text.slice(0, head - line.from) + "|" + line.text.slice(head - line.from);
    }""")


def cursor_line(page) -> int:
    return page.evaluate("""() => {
        const state = document.getElementById("definition").editor.view.state;
        return state.doc.lineAt(state.selection.main.head).number;
    }""")


def new_line(page, text: str) -> None:
    """Enter, then `text` typed at the start of the new line (whatever indentation CodeMirror put there)."""
    page.keyboard.press("Enter")
    page.keyboard.press("Shift+Home")
    page.keyboard.type(text)


def completion_labels(page) -> list[str]:
    try:
        page.wait_for_selector(".cm-tooltip-autocomplete li", timeout=5_000)
    except Exception as error:  # say where the cursor was, not only that nothing showed
        raise AssertionError(f"no completions at {current_line(page)!r}") from error
    return page.locator(".cm-tooltip-autocomplete li .cm-completionLabel").all_inner_texts()


def accept_completion(page) -> None:
    page.wait_for_timeout(150)  # CodeMirror ignores Enter for 75 ms after the list opens
    page.keyboard.press("Enter")
    page.wait_for_selector(".cm-tooltip-autocomplete", state="detached")


def gutter_marker_lines(page) -> list[int]:
    """The line numbers beside which the lint gutter shows an error marker (matched by vertical position)."""
    return page.evaluate("""() => {
        const numbers = [...document.querySelectorAll(".cm-lineNumbers .cm-gutterElement")]
            .filter(e => /^\\d+$/.test(e.textContent));
        return [...document.querySelectorAll(".cm-gutter-lint .cm-lint-marker-error")].map(marker => {
            const top = marker.closest(".cm-gutterElement").getBoundingClientRect().top;
            const row = numbers.find(e => Math.abs(e.getBoundingClientRect().top - top) < 2);
            return row ? Number(row.textContent) : -1;
        });
    }""")


def underlined_lines(page) -> list[int]:
    return page.evaluate("""() => [...document.querySelectorAll(".cm-content .cm-line")]
        .map((line, i) => line.querySelector(".cm-lintRange-error") ? i + 1 : 0).filter(Boolean)""")


def test_the_textarea_becomes_an_editor_that_it_follows(editor, fixture_server):
    page = editor.page
    assert page.locator("#definition").is_hidden()
    content = page.locator(".cm-editor .cm-content")
    assert content.get_attribute("aria-label") == "Definition (YAML)"  # from <label for="definition">
    assert page.locator(".cm-editor .cm-line").first.inner_text() == "id: two-gates"
    assert page.locator("#typeset .katex").count() == 1  # the page's KaTeX ran, and left the editor alone:
    assert page.evaluate("document.getElementById('definition').editor.view.state.doc.toString()") == SOURCE
    assert page.locator(".cm-gutter-lint").count() == 1 and page.locator(".cm-lineNumbers").count() == 1
    assert page.locator(".cm-editor .cm-line").first.locator("span").count() > 0  # the key is highlighted
    expect(page.locator("#definition-status")).to_have_text("No errors")
    first = fixture_server.validations[-1]
    assert first["body"] == {"source": SOURCE} and first["csrf"] == "TOKEN-123"
    assert first["type"] == "application/json"

    put_cursor(page, 2, len('title: "Two gates'))
    page.keyboard.type(", renamed")
    assert 'title: "Two gates, renamed"' in textarea_value(page)
    page.wait_for_timeout(300)  # the completion check after the last key is over (an Escape would close it)
    page.keyboard.press("Escape")  # then Tab leaves the editor: keyboard users are not trapped
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Save"
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/save$"))
    posted = fixture_server.saved[-1]["definition"].replace("\r\n", "\n")  # forms send CRLF line ends
    assert posted == SOURCE.replace("Two gates", "Two gates, renamed")
    assert not editor.errors


def test_a_validation_error_shows_in_the_gutter_and_the_list_and_leads_to_its_line(editor, fixture_server):
    page = editor.page
    expect(page.locator("#definition-status")).to_have_text("No errors")
    checks = len(fixture_server.validations)
    put_cursor(page, 10, len("  - out = sigmo"))
    page.keyboard.press("Delete")  # sigmoid -> sigmod, one keystroke
    assert "  - out = sigmod(z)" in textarea_value(page)
    item = page.locator("#definition-errors li")
    item.wait_for()
    assert item.count() == 1
    assert item.inner_text() == "line 10, graph[1]: unknown op 'sigmod' (did you mean 'sigmoid'?)"
    assert item.locator("code").inner_text() == "graph[1]"
    assert page.locator("#definition-status").inner_text() == "1 error"
    assert page.locator("#definition").get_attribute("data-validation") == "errors"  # for pages' own tests
    assert page.locator(".cm-content").get_attribute("aria-invalid") == "true"
    assert page.locator(".cm-content").get_attribute("aria-describedby") == "definition-errors"
    assert gutter_marker_lines(page) == [10]
    assert underlined_lines(page) == [10]
    assert len(fixture_server.validations) == checks + 1  # one check per pause in typing, not per key
    screenshot(page, "editor-widget-error")

    put_cursor(page, 1)
    item.click()
    assert cursor_line(page) == 10

    put_cursor(page, 10, len("  - out = sigmo"))
    page.keyboard.type("i")  # fixed: the list empties and the status says so
    expect(page.locator("#definition-status")).to_have_text("No errors")
    assert page.locator("#definition-errors li").count() == 0
    assert gutter_marker_lines(page) == []
    assert page.locator(".cm-content").get_attribute("aria-invalid") is None
    assert not editor.errors


def test_completion_offers_ops_in_graph_lines_and_keys_by_their_parent(editor):
    page = editor.page
    put_cursor(page, BLANK_GRAPH_LINE)
    page.keyboard.type("  - h = sig")
    assert "sigmoid" in completion_labels(page)
    screenshot(page, "editor-widget-completion")
    accept_completion(page)
    assert "\n  - h = sigmoid\n" in textarea_value(page)

    put_cursor(page, 13, len("  name: f"))  # under `function:`: its own keys
    new_line(page, "  sta")
    assert completion_labels(page) == ["starter"]
    accept_completion(page)
    assert "  name: f\n  starter: \n" in textarea_value(page)

    new_line(page, "  wrong:")
    new_line(page, "  - co")  # YAML lets a list start at its key's column
    assert completion_labels(page) == ["code"]  # the items of function.wrong
    accept_completion(page)
    new_line(page, "  ")
    page.keyboard.press("Tab")  # Tab indents the line (by two spaces): to the item's keys
    page.keyboard.type("exp")
    assert completion_labels(page) == ["expect"]
    accept_completion(page)
    assert "\n  starter: \n  wrong:\n  - code: \n    expect: \nask:" in textarea_value(page)

    put_cursor(page, 5, len("  x: {shape: [1, 2], random: {uniform: [0.1, 1.0]}}"))
    new_line(page, "  y:")
    new_line(page, "    sh")
    assert completion_labels(page) == ["shape"]  # inputs.y: the vocabulary's "inputs.*"
    accept_completion(page)
    new_line(page, "    random:")
    new_line(page, "      un")
    assert completion_labels(page) == ["uniform"]  # inputs.*.random
    page.keyboard.press("Escape")

    put_cursor(page, 3, len("kind: numeric"))
    for _ in "numeric":
        page.keyboard.press("Backspace")
    page.keyboard.type("co")
    assert completion_labels(page) == ["code"]  # the choices of kind
    accept_completion(page)
    assert "\nkind: code\n" in textarea_value(page)

    page.keyboard.press("Control+End")  # the empty last line, column 0: top-level keys
    page.keyboard.type("follo")
    assert completion_labels(page) == ["follow_through"]
    accept_completion(page)
    assert textarea_value(page).endswith("\nfollow_through: ")

    page.keyboard.press("Enter")
    page.keyboard.type("ti")  # `title` is already there, so it is not offered again
    page.wait_for_timeout(300)
    assert page.locator(".cm-tooltip-autocomplete").count() == 0
    assert not editor.errors


@pytest.mark.parametrize(("editor", "why"), [
    ("/validate-500", "Could not check the definition: the server answered 500"),
    ("/validate-down", "Could not check the definition: the server could not be reached."),
], indirect=["editor"])
def test_a_check_that_fails_says_so_and_keeps_the_text(editor, why):
    page = editor.page
    expect(page.locator("#definition-status")).to_have_text(re.compile("^" + re.escape(why)))
    page.keyboard.press("Control+End")
    put_cursor(page, 1, len("id: two-gates"))
    page.keyboard.type("-2")
    assert textarea_value(page).startswith("id: two-gates-2\n")
    assert page.locator("#definition-errors li").count() == 0
    # The browser logs the failed request itself; nothing else may go wrong.
    assert all("Failed to load resource" in e for e in editor.errors), editor.errors
