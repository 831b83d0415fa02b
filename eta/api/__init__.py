"""The public JSON API under /api/v1 (applications, verification), described by OpenAPI."""

from eta.api.views import blueprint

__all__ = ["blueprint"]
