"""REST API v1 (flask-smorest): thin views over grader.service, token auth, JSON errors.

OpenAPI 3 at /api/openapi.json, a docs page at /api/docs (rendered here from the spec: no CDN, works offline).
Every route needs `Authorization: Bearer <token>`; errors are `{"code", "message", "errors"}`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from html import escape
from typing import Any

from flask import Flask, Response, request
from flask_smorest import Api
from werkzeug.exceptions import HTTPException

from grader.api import errors

_NON_FINITE = object()
_PARAM = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


class GradgateApi(Api):
    ERROR_SCHEMA = errors.ErrorSchema

    def handle_http_exception(self, error: HTTPException) -> Any:  # type: ignore[override]
        return errors.handle_http_exception(error)

    def _register_pagination_header(self) -> None:
        # A header's value is text: document it as a string holding JSON (flask-smorest says "object").
        self.spec.components.header("PAGINATION", {
            "description": "pagination as JSON: total, total_pages, first_page, last_page, page, previous_page, "
                           "next_page", "schema": {"type": "string"}}, lazy=True)


def _bad_values(value: Any, path: str = "") -> dict[str, str]:
    """Path -> problem for what JSON parsers accept but the service must not store: NaN and Infinity, and
    text no database keeps (NUL bytes, lone UTF-16 surrogates)."""
    if value is _NON_FINITE:
        return {path or "body": "NaN and Infinity are not allowed: send a finite number"}
    if isinstance(value, str):
        return {path or "body": "text must not contain NUL bytes or lone surrogates"} if _bad_text(value) else {}
    if isinstance(value, dict):
        found = {}
        for k, v in value.items():
            found |= _bad_values(k, f"{path}.(key)" if path else "(key)") | _bad_values(
                v, f"{path}.{k}" if path else str(k))
        return found
    if isinstance(value, list):
        found = {}
        for i, v in enumerate(value):
            found |= _bad_values(v, f"{path}.{i}" if path else str(i))
        return found
    return {}


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


def check_json_body() -> Response | None:
    """Reject, under /api, JSON that Python's parser accepts but JSON does not (NaN, Infinity) or that
    overflows to infinity, and text no database keeps (NUL, lone surrogates), naming the fields; malformed
    JSON is a 400 too. Runs before any view."""
    if not errors.in_api():
        return None
    if _bad_text(request.path) or any(_bad_text(v) for v in request.args.values()):
        return errors.error_response(400, "bad_request", "the address must not contain NUL bytes",
                                     {"path": ["NUL bytes are not allowed"]})
    if request.method in ("GET", "HEAD", "OPTIONS", "DELETE") or not request.is_json:
        return None
    raw = request.get_data(cache=True)  # 413 above MAX_CONTENT_LENGTH
    if not raw:
        return None
    try:
        data = json.loads(raw, parse_constant=lambda _: _NON_FINITE, parse_float=_finite_float)
    except (ValueError, UnicodeDecodeError) as exc:
        return errors.error_response(400, "malformed_json", f"the body is not valid JSON: {exc}",
                                     {"body": ["not valid JSON"]})
    bad = _bad_values(data)
    if bad:
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


def docs_page(api: Api) -> str:
    spec = api.spec.to_dict()
    rows = []
    for path, item in spec.get("paths", {}).items():
        for method, op in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            codes = ", ".join(str(c) for c in op.get("responses", {}))
            summary = op.get("summary", "") + (" " + op["description"] if op.get("description") else "")
            rows.append(f"<tr><td><code>{method.upper()}</code></td><td><code>{escape(path)}</code></td>"
                        f"<td>{escape(summary.strip())}</td><td>{escape(codes)}</td></tr>")
    return ("<!doctype html><html><head><meta charset='utf-8'><title>Gradgate API v1</title>"
            "<style>body{font-family:sans-serif;margin:2em}td{padding:.3em .6em;vertical-align:top;"
            "border-bottom:1px solid #ddd}</style></head><body><h1>Gradgate REST API v1</h1>"
            "<p>Every route needs <code>Authorization: Bearer &lt;token&gt;</code>. Errors are JSON "
            "<code>{code, message, errors}</code>. The full document: <a href='/api/openapi.json'>"
            "/api/openapi.json</a>.</p><table><tr><th>method</th><th>path</th><th>what</th><th>responses</th></tr>"
            + "".join(rows) + "</table></body></html>")


def init_api(app: Flask) -> Api:
    from grader.api import authoring, bench, courses, exercises, roster, submissions, tokens
    from grader.extensions import csrf

    for key, value in {
        "API_TITLE": "Gradgate", "API_VERSION": "v1", "OPENAPI_VERSION": "3.0.3", "OPENAPI_URL_PREFIX": "/api",
        "OPENAPI_JSON_PATH": "openapi.json", "PAGINATION_PAGE_SIZE": 20, "PAGINATION_MAX_PAGE_SIZE": 100,
    }.items():
        app.config.setdefault(key, value)
    app.config.setdefault("API_SPEC_OPTIONS", {
        "info": {"description": "Auto-graded backpropagation exercises. Token auth (Bearer); JSON errors "
                                "{code, message, errors}; lists paginated with page/page_size (X-Pagination)."},
        "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearerAuth": []}],
    })
    api = GradgateApi(app)
    blueprints = [exercises.blp, authoring.blp, courses.blp, roster.blp, submissions.blp, tokens.blp]
    if app.config.get("BENCH_FLOOR"):
        blueprints.append(bench.blp)
    for blp in blueprints:
        csrf.exempt(blp)  # token auth: no cookies, so no cross-site forgery
        api.register_blueprint(blp)
    app.before_request(check_json_body)
    app.before_request(reject_unknown_query(api))
    app.add_url_rule("/api/docs", "api_docs", lambda: Response(docs_page(api), mimetype="text/html"))
    return api
