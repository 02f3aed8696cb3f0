"""Entry point for gunicorn and `flask --app wsgi`.

Production settings unless GRADGATE_CONFIG says otherwise (`make run` sets development), so a server started
as `gunicorn wsgi:app` never runs with debug on by accident."""

import os
import sys

from grader import ConfigError, create_app

try:
    app = create_app(os.environ.get("GRADGATE_CONFIG", "production"))
except ConfigError as exc:  # one line, not a traceback, for a setting the operator can fix
    print(f"gradgate: {exc}", file=sys.stderr)
    raise SystemExit(3) from None  # gunicorn's "worker failed to boot": it stops instead of respawning
