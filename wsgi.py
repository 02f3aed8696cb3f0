"""Entry point for gunicorn and `flask --app wsgi`."""

from grader import create_app

app = create_app()
