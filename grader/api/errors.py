"""JSON errors under /api: `{"code", "message", "errors": {field: [messages]}}` with the HTTP status.

`code` is a short machine-readable word (not_found, validation_error, no_attempts_left, ...); `errors` maps a
field path (dotted, e.g. `answers.0`, `definition.graph[2]`) to its messages and is `{}` when no field is to
blame. A 422 about an exercise definition (paths under `definition`) also has `lines`: each message with its
path and, when the definition was sent as YAML text, its line and column there (null for JSON bodies). Pages
outside /api keep Flask's own error pages.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, has_request_context, jsonify, request
from marshmallow import Schema, fields
from werkzeug.exceptions import HTTPException

from grader.exercises import DefinitionError
from grader.exercises.source import TOP, SourceReport
from grader.service import ServiceError

CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
    409: "conflict", 413: "too_large", 415: "unsupported_media_type", 422: "validation_error",
    429: "too_many_requests", 500: "internal_error", 503: "unavailable",
}


class ErrorLineSchema(Schema):
    path = fields.String(required=True, metadata={"description": "the field path, as a key of `errors`"})
    line = fields.Integer(required=True, allow_none=True, metadata={
        "description": "1-based line in the YAML text sent (null: the definition was sent as JSON)"})
    column = fields.Integer(required=True, allow_none=True, metadata={"description": "1-based column, or null"})
    message = fields.String(required=True)


class ErrorSchema(Schema):
    """The error body of every /api response with a 4xx or 5xx status."""

    code = fields.String(required=True, metadata={"description": "machine-readable reason, e.g. not_found"})
    message = fields.String(required=True, metadata={"description": "what went wrong, in words"})
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), required=True,
                         metadata={"description": "messages per field path (empty when no field is to blame)"})
    lines = fields.List(fields.Nested(ErrorLineSchema), metadata={
        "description": "only for an invalid exercise definition: every message of `errors` with its line"})


def in_api() -> bool:
    return request.path == "/api" or request.path.startswith("/api/")


def flatten(messages: Any, path: str = "") -> dict[str, list[str]]:
    """marshmallow/webargs nested messages as {dotted path: [messages]}."""
    out: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, sub in messages.items():
            name = "body" if key == "_schema" and not path else (path if key == "_schema" else
                                                                  f"{path}.{key}" if path else str(key))
            for k, v in flatten(sub, name).items():
                out.setdefault(k, []).extend(v)
    elif isinstance(messages, list | tuple):
        for item in messages:
            for k, v in flatten(item, path).items():
                out.setdefault(k, []).extend(v)
    else:
        out.setdefault(path or "body", []).append(str(messages))
    return out


def webargs_errors(messages: Any) -> dict[str, list[str]]:
    """Drop webargs' location level ({"json": {...}, "query": {...}}): field names are what a client knows."""
    if not isinstance(messages, dict):
        return flatten(messages)
    out: dict[str, list[str]] = {}
    for location, sub in messages.items():
        prefix = "" if isinstance(sub, dict) else ("body" if location in ("json", "form") else str(location))
        for k, v in flatten(sub, prefix).items():
            out.setdefault(k, []).extend(v)
    return out


def definition_key(path: str, prefix: str = "definition") -> str:
    """A definition path ('graph[1]', '(top level)') as a key of `errors` ('definition.graph[1]', 'definition')."""
    return prefix if path == TOP else prefix + path if path.startswith("[") else f"{prefix}.{path}"


def definition_errors(exc: DefinitionError, prefix: str = "definition") -> dict[str, list[str]]:
    """DefinitionError's 'path: message' lines as {prefix.path: [messages]}."""
    out: dict[str, list[str]] = {}
    for line in exc.errors:
        path, sep, message = line.partition(": ")
        if not sep:
            path, message = TOP, line
        out.setdefault(definition_key(path, prefix), []).append(message)
    return out


_SOURCE = "gradgate.definition_source"  # in the request's environ: g outlives a request inside a test's app context


def remember_source(report: SourceReport) -> None:
    """The YAML text this request's definition came from: the error handlers put each error at its line."""
    request.environ[_SOURCE] = report


def definition_lines(errors: dict[str, list[str]]) -> list[dict[str, Any]] | None:
    """`lines` for errors about a definition (None when no path is under `definition`): the YAML report's
    own errors as they are, or else each path located in the YAML text (line null for a JSON body)."""
    if not any(_definition_path(key) is not None for key in errors):
        return None
    source: SourceReport | None = request.environ.get(_SOURCE) if has_request_context() else None
    if source is not None and source.errors:  # the text itself was refused: its errors are these
        return [{"path": definition_key(e.path), "line": e.line, "column": e.column, "message": e.message}
                for e in source.errors]
    lines = []
    for key, messages in errors.items():
        path = _definition_path(key)
        for message in messages:
            line, column = (None, None)
            if source is not None and path is not None:
                line, column = source.locate(path, at_key=message.startswith("unknown key"))
            lines.append({"path": key, "line": line, "column": column, "message": message})
    return lines


def _definition_path(key: str) -> str | None:
    if key == "definition":
        return TOP
    if key.startswith(("definition.", "definition[")):
        return key.removeprefix("definition").removeprefix(".")
    return None


def error_response(status: int, code: str, message: str, errors: dict[str, list[str]] | None = None,
                   headers: dict[str, str] | None = None) -> Response:
    body: dict[str, Any] = {"code": code, "message": message, "errors": errors or {}}
    lines = definition_lines(errors or {}) if status == 422 else None
    if lines is not None:
        body["lines"] = lines
    response = jsonify(body)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="gradgate"'
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def handle_http_exception(error: HTTPException) -> Response | HTTPException:
    if not in_api():
        return error  # Flask renders its own page
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    errors = data.get("errors")
    if errors is None and "messages" in data:
        errors = webargs_errors(data["messages"])
    if status == 413 and not errors:
        limit = current_app.config.get("MAX_CONTENT_LENGTH")
        errors = {"body": [f"at most {limit} bytes" if limit else "too large"]}
    message = data.get("message") or _message(status, error, errors)
    headers = dict(data.get("headers") or {})
    valid_methods = getattr(error, "valid_methods", None)
    if status == 405 and valid_methods:
        headers["Allow"] = ", ".join(valid_methods)
    return error_response(status, data.get("code") or CODES.get(status, "error"), message, errors, headers)


def _message(status: int, error: HTTPException, errors: dict | None) -> str:
    if status == 422 and errors:
        return "invalid input: " + ", ".join(sorted(errors))
    if status == 400 and errors:
        return "bad request: " + ", ".join(sorted(errors))
    if status == 413:
        return "the request body is too large"
    return (error.description or error.name).strip()


def handle_service_error(error: ServiceError) -> Response:
    return error_response(error.status, error.code, error.message, error.errors, error.headers)


def handle_definition_error(error: DefinitionError) -> Response:
    return error_response(422, "invalid_definition", "the exercise definition is invalid",
                          definition_errors(error))


def init_errors(blueprint: Blueprint) -> None:
    """ServiceError and DefinitionError raised by an API view; HTTP errors are the Api's (app-wide)."""
    blueprint.register_error_handler(ServiceError, handle_service_error)
    blueprint.register_error_handler(DefinitionError, handle_definition_error)
