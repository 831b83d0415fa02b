"""The traveller's room: the start page, the application journey, and status checks."""

from eta.traveller.views import blueprint

__all__ = ["blueprint"]
