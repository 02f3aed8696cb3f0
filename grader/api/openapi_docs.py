"""What the OpenAPI document says beyond the schemas: how to page a list, how to authenticate, and a request
example on the main operations, added in one place as every operation is registered (an apispec plugin), so a
new list or a new operation elsewhere is documented the same way without touching this module.

The docs page (/api/docs, Swagger UI) shows all of it: page/page_size and X-Pagination on every list, the
Authorize button for the bearer token, and each example in the request body's editor.
"""

from __future__ import annotations

from typing import Any

import yaml
from apispec import APISpec, BasePlugin

PAGINATION_HEADER = "X-Pagination"
PAGING_HOW = ("`page` (from 1) and `page_size` in the query; the `X-Pagination` response header holds the "
              "totals as JSON (total, total_pages, first_page, last_page, page, previous_page, next_page). A page "
              "past the last is an empty list.")
PAGING = f"Paginated: {PAGING_HOW}"
PAGINATION_EXAMPLE = ('{"total": 42, "total_pages": 5, "first_page": 1, "last_page": 5, "page": 2, '
                      '"previous_page": 1, "next_page": 3}')
BEARER = ("An API token in every request: `Authorization: Bearer <token>`. Create the first one on the server "
          "(`flask --app wsgi tokens create --user <username> --scopes exercises:read,...`), further ones with "
          "`POST /api/v1/tokens`; the secret is shown once. A missing or bad token is 401, a missing scope 403.")

# Examples that work: the answer to seed-two-layer-w1-22 (fixed numbers, one ask) and to code-relu-backward.
ANSWERS = {"0": "-0.00262270"}
CODE = "def relu_backward(dout, z):\n    return dout * (z > 0)\n"


def _definition_example() -> dict[str, Any]:
    from grader.api.exercises import YAML_EXAMPLE  # the YAML body's example, the same exercise as JSON

    return yaml.safe_load(YAML_EXAMPLE)


# (METHOD, path) -> named request examples. An example is shown only when the body's schema has every one of
# its fields: shapes grow over time (a problem set's `exercises` list), and a stale example would mislead.
EXAMPLES: dict[tuple[str, str], dict[str, dict[str, Any]]] = {
    ("POST", "/api/v1/exercises"): {"definition": {"definition": _definition_example}},
    ("PUT", "/api/v1/exercises/{slug}"): {"definition": {"definition": _definition_example}},
    ("POST", "/api/v1/solve"): {"preview": {"definition": _definition_example, "seed": 7}},
    ("POST", "/api/v1/users"): {
        "student": {"username": "ada", "name": "Ada Lovelace", "email": "ada@example.edu", "role": "student"},
        "with a password": {"username": "tom", "name": "Tom Kilburn", "email": "tom@example.edu",
                            "role": "student", "password": "correct horse battery staple"}},
    ("POST", "/api/v1/courses"): {"course": {"code": "bp101", "title": "Backprop 101"}},
    ("POST", "/api/v1/courses/{course_id}/memberships"): {
        "student": {"username": "ada", "role": "student"},
        "co-instructor": {"username": "tom", "role": "instructor"}},
    ("POST", "/api/v1/courses/{course_id}/assignments"): {
        "problem set": {"title": "Week 3: gates", "due_at": "2026-10-01T23:59:00Z", "late_policy": "penalty",
                        "exercises": [{"exercise": "gate-add", "points": 2, "attempts": 3},
                                      {"exercise": "gate-multiply", "points": 3, "attempts": 3}]},
        "one exercise": {"exercise": "gate-add", "title": "The add gate", "due_at": "2026-10-01T23:59:00Z",
                         "late_policy": "accept"}},
    ("PATCH", "/api/v1/assignments/{assignment_id}"): {
        "new due date": {"due_at": "2026-10-08T23:59:00Z", "late_policy": "accept"},
        "hide": {"visible": False}},
    ("POST", "/api/v1/assignments/{assignment_id}/overrides"): {
        "extension": {"user": "ada", "due_at": "2026-10-03T23:59:00Z"},
        "extra attempts": {"user": "tom", "extra_attempts": 2}},
    ("PUT", "/api/v1/courses/{course_id}/gradebook/{assignment_id}/{username}"): {
        "manual score": {"points": 4, "reason": "graded by hand: the upload failed (ticket 812)"}},
    ("DELETE", "/api/v1/courses/{course_id}/gradebook/{assignment_id}/{username}"): {
        "back to the submissions": {"reason": "the regrade is done"}},
    ("POST", "/api/v1/assignments/{assignment_id}/submissions"): {
        "answers": {"answers": ANSWERS},
        "answers to one exercise of a set": {"exercise": "seed-two-layer-w1-22", "answers": ANSWERS},
        "code": {"code": CODE}},
    ("POST", "/api/v1/assignments/{assignment_id}/precheck"): {"code": {"code": CODE}},
    ("POST", "/api/v1/assignments/{assignment_id}/regrade"): {
        "dry run: a looser tolerance": {"exercise": "gate-multiply", "change": "tolerance",
                                        "tolerance": {"rtol": 0.05}},
        "dry run: the fixed grader, two students": {"students": ["ada", "tom"], "never_lower": True},
        "commit that dry run": {"exercise": "gate-multiply", "change": "tolerance", "tolerance": {"rtol": 0.05},
                                "dry_run": False, "plan": "<the dry run's plan>",
                                "reason": "1% was too tight for this weight"}},
    ("POST", "/api/v1/tokens"): {
        "read-only": {"name": "gradebook export", "scopes": ["courses:read"], "expires_in_days": 30}},
}


class DocsPlugin(BasePlugin):
    """Adds paging, the bearer scheme's description and request examples to the document."""

    def init_spec(self, spec: APISpec) -> None:
        self.spec = spec

    def operation_helper(self, path: str | None = None, operations: dict | None = None, **kwargs: Any) -> None:
        for method, operation in (operations or {}).items():
            if _paginated(operation):
                _document_paging(operation)
            examples = EXAMPLES.get((method.upper(), path or ""))
            content = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if examples and content is not None:
                fields = self._fields(content.get("schema"))
                shown = {name: {"summary": name, "value": _value(example)} for name, example in examples.items()
                         if fields is None or set(example) <= fields}
                if shown:
                    content["examples"] = shown

    def _fields(self, schema: Any) -> set[str] | None:
        """The body's top-level field names, or None when they cannot be told (then every example shows)."""
        name = schema.get("$ref", "").rsplit("/", 1)[-1] if isinstance(schema, dict) else schema
        if isinstance(schema, dict) and "properties" in schema:
            return set(schema["properties"])
        registered = self.spec.components.schemas.get(name) if isinstance(name, str) else None
        return set(registered.get("properties", {})) if registered else None


def _value(example: dict[str, Any]) -> dict[str, Any]:
    return {key: value() if callable(value) else value for key, value in example.items()}


def _paginated(operation: dict[str, Any]) -> bool:
    return any(PAGINATION_HEADER in response.get("headers", {})
               for response in operation.get("responses", {}).values() if isinstance(response, dict))


def _document_paging(operation: dict[str, Any]) -> None:
    for parameter in operation.get("parameters", []):
        schema = parameter.get("schema", {}) if isinstance(parameter, dict) else {}
        if parameter.get("in") != "query":
            continue
        if parameter.get("name") == "page":
            parameter.setdefault("description", f"the page to return, from 1 (default {schema.get('default')})")
        elif parameter.get("name") == "page_size":
            parameter.setdefault("description", f"items per page, {schema.get('minimum')} to "
                                                f"{schema.get('maximum')} (default {schema.get('default')})")
    description = operation.get("description", "")
    if PAGING not in description:
        operation["description"] = f"{description}\n\n{PAGING}".strip()


def spec_options() -> dict[str, Any]:
    """API_SPEC_OPTIONS: the document's info, the bearer scheme and the header paging uses."""
    return {
        "info": {"description": "Auto-graded backpropagation exercises.\n\n"
                                f"**Authentication.** {BEARER}\n\n"
                                "**Paging.** A list that can grow long is paginated (its description says so): "
                                f"{PAGING_HOW}\n\n"
                                "**Errors** are JSON `{code, message, errors}`, `errors` naming each field."},
        "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer",
                                                          "bearerFormat": "opaque token", "description": BEARER}}},
        "security": [{"bearerAuth": []}],
    }


def pagination_header() -> dict[str, Any]:
    """The X-Pagination header: text holding JSON (flask-smorest calls it an object)."""
    return {"description": "the list's totals as JSON: total, total_pages, first_page, last_page, page, "
                           "previous_page, next_page; a key that does not apply is left out (no previous_page "
                           "on the first page, no next_page on the last, only the totals for an empty list)",
            "schema": {"type": "string", "example": PAGINATION_EXAMPLE}}
