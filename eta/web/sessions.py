"""Cookie sessions for the pages; none for the JSON API, whose callers authenticate otherwise."""

from __future__ import annotations

from flask import Flask, Request, Response
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin

# Carriers send API keys and travellers' programs send their details in the body (SPEC §4):
# no request under this prefix carries a session cookie, and no response should set one.
API_PREFIX = "/api/"


class PageSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, skipped under :data:`API_PREFIX`.

    The carrier API is check-in's hot path: reading and verifying a cookie that is never
    there, then deciding not to set one, was a measurable share of each verification. An API
    request gets an empty session that is never saved, so code that touches the session
    (the language choice, say) behaves as for a first visit.
    """

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        """An empty session for API requests, else the cookie's."""
        if request.path.startswith(API_PREFIX):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        """Set the cookie for pages; never for API requests."""
        from flask import request

        if request.path.startswith(API_PREFIX):
            return
        super().save_session(app, session, response)
