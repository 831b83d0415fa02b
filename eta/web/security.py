"""Security headers on every response: CSP, framing, sniffing, referrer, no caching."""

from __future__ import annotations

from flask import Flask, Response, request

# Everything is served by eta itself (no CDN): scripts, styles and fonts only from 'self'.
# blob:/data: images let the check-in page show a scanned QR; camera access for the scanner.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'wasm-unsafe-eval'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def init_app(app: Flask) -> None:
    """Add the security headers to every response the app sends."""
    defaults = [
        ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "no-referrer"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Permissions-Policy", "camera=(self), geolocation=(), microphone=()"),
    ]
    if app.config["ETA_ENV"] == "production":
        defaults.append(("Strict-Transport-Security", "max-age=63072000; includeSubDomains"))

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        headers = response.headers
        # One pass over the few headers a view set, rather than a look-up per default: this
        # runs on every response, the carrier API's included.
        present = {name.lower() for name in headers.keys()}  # noqa: SIM118  (Headers, not dict)
        headers.extend([pair for pair in defaults if pair[0].lower() not in present])
        # Pages may hold personal data: never cached by shared caches or the back-forward cache
        # of a shared computer, unless a view said otherwise (static files, public keys).
        if "cache-control" not in present and not request.path.startswith("/static/"):
            headers["Cache-Control"] = "no-store"
        return response
