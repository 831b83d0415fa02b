"""WSGI entry point: `gunicorn wsgi:app`."""

import sys

from config import ConfigurationError
from eta import create_app

try:
    app = create_app()
except ConfigurationError as error:
    # One line for the operator, not a traceback: the fix is in the environment.
    print(f"eta: configuration error: {error}", file=sys.stderr)
    sys.exit(2)
