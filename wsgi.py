"""Entry point for gunicorn and `flask --app wsgi`.

Production settings unless GRADGATE_CONFIG says otherwise (`make run` sets development), so a server started
as `gunicorn wsgi:app` never runs with debug on by accident."""

import os

from grader import create_app

app = create_app(os.environ.get("GRADGATE_CONFIG", "production"))
