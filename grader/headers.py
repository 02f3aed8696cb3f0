"""Security headers on every response, and what they allow.

The pages load nothing from elsewhere (KaTeX and its fonts are served from static/) and run no inline
script, so the policy can be strict; inline styles stay allowed because KaTeX positions its output with
style attributes and the graph's SVG carries its own <style>. `frame-ancestors` decides who may frame the
pages: only this site by default (an LMS that embeds the pages needs its origin added).
"""

from __future__ import annotations

from flask import Flask, Response, current_app

CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                           "img-src 'self' data:; font-src 'self' data:; object-src 'none'; base-uri 'self'; "
                           "form-action 'self'; frame-ancestors {frame_ancestors}")


def add_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")  # a student's upload is never run as a script
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY.format(
        frame_ancestors=current_app.config["FRAME_ANCESTORS"]))
    return response


def init_headers(app: Flask) -> None:
    app.after_request(add_security_headers)
