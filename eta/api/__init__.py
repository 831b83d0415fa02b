"""The public JSON API under /api/v1 (applications, status, audit log), described by OpenAPI."""

from eta.api import audit as _audit  # noqa: F401  (registers the audit log's routes)
from eta.api.views import blueprint

__all__ = ["blueprint"]
