"""The traveller's room: the start page, the application journey, answers to officers, status,
review requests."""

from eta.traveller.information import blueprint as information_blueprint
from eta.traveller.review import blueprint as review_blueprint
from eta.traveller.views import blueprint

__all__ = ["blueprint", "information_blueprint", "review_blueprint"]
