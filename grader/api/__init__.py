"""REST API v1 (flask-smorest): thin views over grader.service, token auth, JSON errors.

OpenAPI 3 at /api/openapi.json (paging, auth and examples added by openapi_docs). The docs page at /api/docs is
Swagger UI, vendored in static/vendor/swagger-ui by `make static` and started by static/api-docs.js (no CDN, no
inline script: it works offline under the strict CSP); /api/docs/plain is the same list without JavaScript.
Every route needs `Authorization: Bearer <token>`; errors are `{"code", "message", "errors"}`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from html import escape
from typing import Any

from flask import Flask, Response, request, url_for
from flask_smorest import Api
from werkzeug.exceptions import HTTPException

from grader.api import errors, openapi_docs

_NON_FINITE = object()
_PARAM = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


class GradgateApi(Api):
    ERROR_SCHEMA = errors.ErrorSchema

    def handle_http_exception(self, error: HTTPException) -> Any:  # type: ignore[override]
        return errors.handle_http_exception(error)

    def _register_pagination_header(self) -> None:
        # A header's value is text: document it as a string holding JSON (flask-smorest says "object").
        self.spec.components.header("PAGINATION", openapi_docs.pagination_header(), lazy=True)


# Arrays and objects inside each other: an exercise definition or an answer needs under 10. Deeper bodies are
# refused before any view sees them: past ~900 levels Python's parser raises RecursionError (a 500), and
# anything walking the value recursively (marshmallow, the stores) would too.
MAX_JSON_DEPTH = 64
TOO_DEEP = f"arrays and objects nest more than {MAX_JSON_DEPTH} deep: send a flatter body"


def _bad_values(value: Any) -> dict[str, str]:
    """Path -> problem for what JSON parsers accept but the service must not store: NaN and Infinity, text no
    database keeps (NUL bytes, lone UTF-16 surrogates), and nesting deeper than MAX_JSON_DEPTH (reported
    alone, at the first path too deep). Walks with a stack, never recursion, whatever the depth."""
    found: dict[str, str] = {}
    stack: list[tuple[str, Any, int]] = [("", value, 0)]
    while stack:
        path, value, depth = stack.pop()
        if value is _NON_FINITE:
            found[path or "body"] = "NaN and Infinity are not allowed: send a finite number"
        elif isinstance(value, str):
            if _bad_text(value):
                found[path or "body"] = "text must not contain NUL bytes or lone surrogates"
        elif isinstance(value, (dict, list)):
            if depth == MAX_JSON_DEPTH:
                return {path or "body": TOO_DEEP}
            if isinstance(value, dict):
                for k, v in value.items():
                    stack += [(f"{path}.(key)" if path else "(key)", k, depth),
                              (f"{path}.{k}" if path else str(k), v, depth + 1)]
            else:
                stack += [(f"{path}.{i}" if path else str(i), v, depth + 1) for i, v in enumerate(value)]
    return found


def _bad_text(text: str) -> bool:
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _finite_float(text: str) -> float | object:
    number = float(text)
    return number if math.isfinite(number) else _NON_FINITE  # 1e999 overflows to inf


def _too_deep() -> Response:
    return errors.error_response(400, "malformed_json", f"the body is not accepted: {TOO_DEEP}",
                                 {"body": [TOO_DEEP]})


def check_json_body() -> Response | None:
    """Reject, under /api, JSON that Python's parser accepts but JSON does not (NaN, Infinity) or that
    overflows to infinity, text no database keeps (NUL, lone surrogates), naming the fields; malformed JSON is
    a 400 too. Runs before any view, on every request: a JSON body nested too deep is a 400 everywhere (the
    pages' JSON endpoints too), whatever else is left to the view outside /api."""
    in_api = errors.in_api()
    if in_api and (_bad_text(request.path) or any(_bad_text(v) for v in request.args.values())):
        return errors.error_response(400, "bad_request", "the address must not contain NUL bytes",
                                     {"path": ["NUL bytes are not allowed"]})
    if request.method in ("GET", "HEAD", "OPTIONS", "DELETE") or not request.is_json:
        return None
    raw = request.get_data(cache=True)  # 413 above MAX_CONTENT_LENGTH
    if not raw:
        return None
    try:
        data = json.loads(raw, parse_constant=lambda _: _NON_FINITE, parse_float=_finite_float)
    except RecursionError:  # the C parser's own guard, past ~900 levels
        return _too_deep()
    except (ValueError, UnicodeDecodeError) as exc:
        if not in_api:
            return None  # the page's view answers malformed JSON in its own words
        return errors.error_response(400, "malformed_json", f"the body is not valid JSON: {exc}",
                                     {"body": ["not valid JSON"]})
    bad = _bad_values(data)
    if TOO_DEEP in bad.values():
        return _too_deep()
    if bad and in_api:
        return errors.error_response(400, "malformed_json", "the body has values that cannot be stored: "
                                     + ", ".join(sorted(bad)), {p: [problem] for p, problem in bad.items()})
    return None


def query_names(api: Api) -> dict[tuple[str, str], set[str]]:
    """(URL rule, METHOD) -> the query arguments the document declares for it."""
    names: dict[tuple[str, str], set[str]] = {}
    for path, item in api.spec.to_dict().get("paths", {}).items():
        shared = [p for p in item.get("parameters", []) if p.get("in") == "query"]
        for method, op in item.items():
            if method == "parameters":
                continue
            params = shared + [p for p in op.get("parameters", []) if p.get("in") == "query"]
            names[(path, method.upper())] = {p["name"] for p in params}
    return names


def reject_unknown_query(api: Api) -> Callable[[], Response | None]:
    """Unknown query arguments are refused like unknown body fields (webargs would silently drop them)."""
    known: dict[tuple[str, str], set[str]] = {}

    def check() -> Response | None:
        if not request.args or request.url_rule is None or not errors.in_api():
            return None
        if not known:
            known.update(query_names(api))
        path = _PARAM.sub(r"{\1}", request.url_rule.rule)
        allowed = known.get((path, request.method))
        if allowed is None:
            return None
        unknown = sorted(set(request.args) - allowed)
        if unknown:
            return errors.error_response(422, "validation_error", "unknown query arguments: " + ", ".join(unknown),
                                         {name: ["Unknown field."] for name in unknown})
        return None

    return check


def operations_table(api: Api) -> str:
    """Every operation of the document in one HTML table: method, path, what it does, its responses."""
    rows = []
    for path, item in api.spec.to_dict().get("paths", {}).items():
        for method, op in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            codes = ", ".join(str(c) for c in op.get("responses", {}))
            summary = op.get("summary", "") + (" " + op["description"] if op.get("description") else "")
            rows.append(f"<tr><td><code>{method.upper()}</code></td><td><code>{escape(path)}</code></td>"
                        f"<td>{escape(summary.strip())}</td><td>{escape(codes)}</td></tr>")
    return ("<table class='plain-ops'><tr><th>method</th><th>path</th><th>what</th><th>responses</th></tr>"
            + "".join(rows) + "</table>")


PLAIN_INTRO = ("<p>Every route needs <code>Authorization: Bearer &lt;token&gt;</code>. Errors are JSON "
               "<code>{code, message, errors}</code>. Paginated lists take <code>page</code> and "
               "<code>page_size</code> and answer an <code>X-Pagination</code> header. The full document: "
               "<a href='/api/openapi.json'>/api/openapi.json</a>.</p>")


def plain_docs_page(api: Api) -> str:
    """/api/docs/plain: the operations without JavaScript (also inside /api/docs's <noscript>)."""
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Gradgate API v1</title>"
            "<link rel='icon' href='data:,'>"
            f"<link rel='stylesheet' href='{url_for('static', filename='api-docs.css')}'></head><body class='plain'>"
            f"<h1>Gradgate REST API v1</h1>{PLAIN_INTRO}<p>The interactive page: <a href='/api/docs'>/api/docs</a>."
            f"</p>{operations_table(api)}</body></html>")


def docs_page(api: Api) -> str:
    """Swagger UI on the OpenAPI document; its start-up is a static file (the CSP allows no inline script).
    Without JavaScript the <noscript> shows the plain table instead."""
    vendor = "vendor/swagger-ui/"
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Gradgate API v1</title>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'><link rel='icon' href='data:,'>"
            f"<link rel='stylesheet' href='{url_for('static', filename=vendor + 'swagger-ui.css')}'>"
            f"<link rel='stylesheet' href='{url_for('static', filename='api-docs.css')}'></head><body>"
            "<p class='docs-links'>Gradgate REST API v1: <a href='/api/docs/plain'>the plain list (no JavaScript)"
            "</a> · <a href='/api/openapi.json'>the OpenAPI document</a></p>"
            f"<noscript><div class='plain'>{PLAIN_INTRO}{operations_table(api)}</div></noscript>"
            f"<div id='swagger-ui' data-spec-url='{url_for('api-docs.openapi_json')}'></div>"
            f"<script src='{url_for('static', filename=vendor + 'swagger-ui-bundle.js')}'></script>"
            f"<script src='{url_for('static', filename='api-docs.js')}'></script></body></html>")


def init_api(app: Flask) -> Api:
    from grader.api import authoring, bench, courses, exercises, gradebook, jobs, regrade, roster, submissions, tokens
    from grader.api import statistics as set_statistics
    from grader.extensions import csrf

    for key, value in {
        "API_TITLE": "Gradgate", "API_VERSION": "v1", "OPENAPI_VERSION": "3.0.3", "OPENAPI_URL_PREFIX": "/api",
        "OPENAPI_JSON_PATH": "openapi.json",
    }.items():
        app.config.setdefault(key, value)
    app.config.setdefault("API_SPEC_OPTIONS", openapi_docs.spec_options())
    api = GradgateApi(app, spec_kwargs={"extra_plugins": [openapi_docs.DocsPlugin()]})
    blueprints = [exercises.blp, authoring.blp, courses.blp, gradebook.blp, roster.blp, submissions.blp, tokens.blp,
                  jobs.blp, set_statistics.blp, regrade.blp]
    if app.config.get("BENCH_FLOOR"):
        blueprints.append(bench.blp)
    for blp in blueprints:
        csrf.exempt(blp)  # token auth: no cookies, so no cross-site forgery
        api.register_blueprint(blp)
    app.before_request(check_json_body)
    app.before_request(reject_unknown_query(api))
    app.add_url_rule("/api/docs", "api_docs", lambda: Response(docs_page(api), mimetype="text/html"))
    app.add_url_rule("/api/docs/plain", "api_docs_plain", lambda: Response(plain_docs_page(api), mimetype="text/html"))
    return api
