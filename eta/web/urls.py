"""Absolute links that leave the site (emails, API answers): built from ETA_PUBLIC_URL only.

The request's Host header is the client's to choose; a link built from it would let anyone have
eta email a traveller a link to their own site. So no absolute link is ever built from the
request: not in a view, not in a job.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app


def public_url(endpoint: str, **values: Any) -> str:
    """The absolute URL of ``endpoint`` (a full endpoint name) under ETA_PUBLIC_URL."""
    base = urlsplit(str(current_app.config["ETA_PUBLIC_URL"]))
    adapter = current_app.url_map.bind(
        base.netloc, script_name=base.path or "/", url_scheme=base.scheme
    )
    return adapter.build(endpoint, values, force_external=True)
