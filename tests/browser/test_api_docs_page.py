"""The API docs page (/api/docs, vendored Swagger UI) in real headless Chromium under the service's CSP: it
loads nothing from outside 127.0.0.1, logs no console error (the `page` fixture fails the test on one), shows
every operation of the OpenAPI document with its request body example, takes a bearer token and runs a
paginated list for real (the X-Pagination header in the answer)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from grader.models import SCOPES, ApiToken, Course, Membership, User, db
from tests.browser.conftest import SCREENSHOTS, screenshot

METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture
def requests_seen(page) -> list[str]:
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url))
    return seen


def instructor_token(live_server) -> str:
    with live_server.app.app_context():
        user = db.session.scalar(select(User).where(User.username == "docs-reader"))
        if user is None:
            user = User(username="docs-reader", name="Docs Reader", role="instructor", password_hash="!")
            course = db.session.scalar(select(Course).where(Course.code == "bp101"))
            db.session.add_all([user, Membership(user=user, course=course, role="instructor")])
        token, secret = ApiToken.issue(user, list(SCOPES), name="docs page")
        db.session.add(token)
        db.session.commit()
    return secret


def operation_count(live_server) -> int:
    spec = live_server.app.test_client().get("/api/openapi.json").get_json()
    return sum(method in METHODS for item in spec["paths"].values() for method in item)


def operation(page, method: str, path: str):
    """The operation's block (Swagger UI marks each with its method's class and shows the path as text)."""
    return page.locator(f".opblock.opblock-{method}").filter(
        has=page.locator(".opblock-summary-path", has_text=path).filter(has_not_text=path + "/")).first


def test_the_docs_page_shows_every_operation_offline(live_server, page, requests_seen):
    page.goto(f"{live_server.url}/api/docs")
    page.locator(".opblock").first.wait_for()
    assert page.locator(".opblock").count() == operation_count(live_server)
    assert page.locator(".info .title").inner_text().startswith("Gradgate")
    assert "Paging." in page.locator(".info .description").inner_text()
    # the tag groups of the document, and the no-JavaScript list one click away
    for tag in ("exercises", "courses", "submissions", "tokens"):
        assert page.locator(f"#operations-tag-{tag}").is_visible(), tag
    assert page.get_by_role("link", name="the plain list (no JavaScript)").get_attribute("href") == "/api/docs/plain"
    outside = [url for url in requests_seen if not url.startswith("data:")
               and urlsplit(url).hostname != "127.0.0.1"]
    assert requests_seen and not outside, outside
    screenshot(page, "api-docs")


def test_request_bodies_show_their_examples(live_server, page, requests_seen):
    page.goto(f"{live_server.url}/api/docs")
    for method, path, text in [
        ("post", "/api/v1/tokens", "gradebook export"),
        ("post", "/api/v1/assignments/{assignment_id}/submissions", "-0.00262270"),
        ("post", "/api/v1/courses/{course_id}/assignments", "gate-add"),
        ("post", "/api/v1/exercises", "my-add-gate"),
    ]:
        block = operation(page, method, path)
        block.locator(".opblock-summary-control").click()
        body = block.locator(".opblock-section-request-body")
        body.wait_for()
        assert "application/json" in body.inner_text()
        assert text in body.locator(".body-param__example, .microlight, pre").first.inner_text(), (path, text)
        if path == "/api/v1/tokens":
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            block.screenshot(path=str(SCREENSHOTS / "api-docs-token-body.png"))
    screenshot(page, "api-docs-request-bodies")
    assert all(urlsplit(url).hostname == "127.0.0.1" for url in requests_seen if not url.startswith("data:"))


def test_try_a_paginated_list_with_a_bearer_token(live_server, page, requests_seen):
    secret = instructor_token(live_server)
    page.goto(f"{live_server.url}/api/docs")
    page.locator(".btn.authorize").first.click()
    dialog = page.locator(".dialog-ux")
    assert "bearerAuth" in dialog.inner_text() and "Bearer" in dialog.inner_text()
    dialog.locator("input[type=text], input[type=password]").first.fill(secret)
    dialog.locator("button.authorize").click()
    dialog.locator("button.btn-done").click()

    block = operation(page, "get", "/api/v1/courses")
    block.locator(".opblock-summary-control").click()
    parameters = block.locator(".parameters").inner_text()
    assert "page_size" in parameters and "items per page, 1 to 100" in parameters
    assert "X-Pagination" in block.locator(".responses-wrapper").inner_text()
    block.locator(".try-out__btn").click()
    block.locator("tr[data-param-name=page_size] input").fill("1")
    block.locator(".execute").click()
    live = block.locator(".responses-wrapper .live-responses-table")
    live.wait_for()
    assert live.locator("tbody .response-col_status").first.inner_text().strip() == "200"
    headers = live.locator("tbody .response-col_description").first.inner_text()
    assert "x-pagination" in headers.lower() and '"page_size"' not in headers  # the real header, from the server
    assert '"total": 1' in headers or '"total":1' in headers, headers
    screenshot(page, "api-docs-try-it")
    sent = [url for url in requests_seen if "/api/v1/courses" in url]
    assert sent and all(url.startswith(live_server.url) for url in sent) and "page_size=1" in sent[-1]
    assert all(urlsplit(url).hostname == "127.0.0.1" for url in requests_seen if not url.startswith("data:"))


def test_without_javascript_the_page_shows_the_plain_table(live_server, chromium_browser):
    context = chromium_browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/api/docs")
        table = page.locator("table.plain-ops")
        assert table.is_visible()
        assert table.locator("tr").count() == operation_count(live_server) + 1  # and the header row
        assert "POST /api/v1/tokens" in " ".join(table.inner_text().split())
        page.get_by_role("link", name="the plain list (no JavaScript)").click()
        assert page.url.endswith("/api/docs/plain") and page.locator("table.plain-ops").is_visible()
    finally:
        context.close()
