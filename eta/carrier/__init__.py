"""The carrier room: the verification API for departure control systems and the check-in page."""

from eta.carrier.api import blueprint as api_blueprint
from eta.carrier.service import configure_engine
from eta.carrier.views import blueprint

__all__ = ["api_blueprint", "blueprint", "configure_engine"]
