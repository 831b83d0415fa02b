"""Public, unauthenticated pages and documents: keys, revocations, verification, downloads."""

from eta.public.views import blueprint

__all__ = ["blueprint"]
