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
    production = app.config["ETA_ENV"] == "production"

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "no-referrer")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(self), geolocation=(), microphone=()")
        if production:
            headers.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
        # Pages may hold personal data: never cached by shared caches or the back-forward cache
        # of a shared computer, unless a view said otherwise (static files, public keys).
        if "Cache-Control" not in headers and not request.path.startswith("/static/"):
            headers["Cache-Control"] = "no-store"
        return response
