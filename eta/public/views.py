"""Public views: the JWKS, the signed revocation list, the verify page and signed downloads."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, current_app, json, render_template, request
from flask_babel import format_date, format_datetime, get_locale
from flask_babel import gettext as _

from eta import authorisations
from eta.countries import country_name_in
from eta.extensions import configured_limit, db, limiter
from eta.issuance.qr import qr_png, qr_svg
from eta.issuance.tokens import VerificationResult
from eta.public import statistics
from eta.public.forms import VerifyForm
from eta.public.openapi import JWKS_MEDIA_TYPE
from eta.web.i18n import localise_digits

blueprint = Blueprint("public", __name__)

# Verifiers poll these; a short max-age keeps a new key or revocation close to immediate while
# letting CDNs and carriers' HTTP caches absorb the load (ETags make revalidation cheap).
JWKS_MAX_AGE = 300
REVOCATIONS_MAX_AGE = 60
_GENUINE = frozenset({"ok", "not_yet_valid", "expired", "revoked"})


def _cacheable(body: bytes, mimetype: str, max_age: int) -> Response:
    """A public response with CORS open, a max-age, and an ETag answered with 304."""
    response = Response(body, mimetype=mimetype)
    response.set_etag(hashlib.sha256(body).hexdigest()[:32])
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Expose-Headers"] = "ETag"
    response.headers["Vary"] = "Accept-Encoding"
    response.make_conditional(request)  # turns it into a 304 when the ETag matches
    return response


@blueprint.after_request
def open_cors_preflight(response: Response) -> Response:
    """Let any site's scripts ask for the public keys and list (If-None-Match included)."""
    if request.method == "OPTIONS" and request.endpoint in {"public.jwks", "public.revocations"}:
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Allow-Methods"] = "GET"
        response.headers["Access-Control-Allow-Headers"] = "If-None-Match"
        response.headers["Access-Control-Max-Age"] = "86400"
    return response


@blueprint.get("/favicon.ico")
def favicon() -> Response:
    """The service's icon, where browsers look for it whatever the page says."""
    return _cacheable(_icon(), "image/vnd.microsoft.icon", 86400)


@functools.cache
def _icon() -> bytes:
    return (Path(current_app.static_folder or "") / "favicon.ico").read_bytes()


@blueprint.get("/.well-known/jwks.json")
def jwks() -> Response:
    """The public keys that verify tokens: every key whose tokens may be valid, and the next."""
    body = json.dumps(authorisations.public_jwks(), sort_keys=True).encode()
    return _cacheable(body, JWKS_MEDIA_TYPE, JWKS_MAX_AGE)


@blueprint.get("/api/v1/revocations")
def revocations() -> Response:
    """The signed revocation list: a compact JWS, typ eta-revocations+jwt (SPEC §4)."""
    body = authorisations.revocation_list_jws(db.session).encode("ascii")
    return _cacheable(body, "application/jwt", REVOCATIONS_MAX_AGE)


# --- signed downloads ---------------------------------------------------------------------


def _private(response: Response, filename: str | None = None) -> Response:
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    if filename:
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@blueprint.get("/authorisation/<link>/eta.pdf")
def authorisation_pdf(link: str) -> Response:
    """The printable authorisation, for whoever holds a valid signed link."""
    authorisation = authorisations.authorisation_for_link(db.session, link, "pdf")
    if authorisation is None:
        abort(404)
    body = authorisations.authorisation_document_pdf(authorisation)
    filename = f"{authorisation.application.reference}.pdf"
    return _private(Response(body, mimetype="application/pdf"), filename)


@blueprint.get("/authorisation/<link>/qr.png")
def authorisation_png(link: str) -> Response:
    """The authorisation's QR code as a PNG, for whoever holds a valid signed link."""
    authorisation = authorisations.authorisation_for_link(db.session, link, "png")
    if authorisation is None:
        abort(404)
    return _private(Response(qr_png(authorisation.token), mimetype="image/png"))


@blueprint.get("/authorisation/<link>/qr.svg")
def authorisation_svg(link: str) -> Response:
    """The authorisation's QR code as an SVG, for whoever holds a valid signed link."""
    authorisation = authorisations.authorisation_for_link(db.session, link, "svg")
    if authorisation is None:
        abort(404)
    return _private(Response(qr_svg(authorisation.token), mimetype="image/svg+xml"))


# --- the verify page ----------------------------------------------------------------------


def _outcome_words(result: VerificationResult) -> tuple[str, str]:
    """The headline and the explanation a member of the public reads."""
    if result.detail == "ok":
        return _("Valid"), _("This is a genuine authorisation and it is valid now.")
    if result.detail == "not_yet_valid":
        return _("Not valid yet"), _("This authorisation is genuine but it is not valid yet.")
    if result.detail == "expired":
        return _("Expired"), _("This authorisation is genuine but it has expired.")
    if result.detail == "revoked":
        return _("Cancelled"), _("This authorisation is genuine but it has been cancelled.")
    if result.detail == "malformed":
        return _("Not an authorisation"), _(
            "What you gave us is not an authorisation from this service."
        )
    return _("Not genuine"), _(
        "This authorisation was not issued by this service, or it has been changed."
    )


def _shown_claims(claims: dict[str, Any]) -> list[tuple[str, str]]:
    """The token's own content, as rows; nothing is looked up beyond what it carries."""

    def when(seconds: int) -> str:
        return localise_digits(
            format_datetime(dt.datetime.fromtimestamp(seconds, tz=dt.UTC), "long")
        )

    try:
        born = localise_digits(format_date(dt.date.fromisoformat(claims["dob"]), "long"))
    except ValueError:
        born = claims["dob"]
    country = claims["doc"]["cty"]
    return [
        (_("Reference"), claims["sub"]),
        (_("Surname (as in passport)"), claims["nam"]["fn"]),
        (_("Given names (as in passport)"), claims["nam"]["gn"] or _("None")),
        (_("Date of birth"), born),
        (_("Passport number"), claims["doc"]["num"]),
        (_("Issuing country"), f"{country_name_in(country, str(get_locale()))} ({country})"),
        (_("Valid from"), when(claims["nbf"])),
        (_("Valid until"), when(claims["exp"])),
    ]


@blueprint.route("/verify", methods=["GET", "POST"])
@limiter.limit(configured_limit("ETA_VERIFY_RATE_LIMIT"), methods=["POST"])
def verify() -> str:
    """Check an authorisation: paste its token or upload a picture of its QR code."""
    form = VerifyForm()
    result: VerificationResult | None = None
    if form.validate_on_submit() and form.found is not None:
        result = authorisations.verify_token(form.found)
    headline, explanation = _outcome_words(result) if result else ("", "")
    claims = (
        _shown_claims(result.claims)
        if result is not None and result.claims is not None and result.detail in _GENUINE
        else []
    )
    return render_template(
        "public/verify.html",
        form=form,
        errors=form.errors_by_field(),
        pasted=form.pasted(),
        result=result,
        headline=headline,
        explanation=explanation,
        claims=claims,
    )


@blueprint.get("/statistics")
def statistics_page() -> str:
    """Public statistics: applications and decisions per month and nationality, small cells
    suppressed (ETA_STATS_MIN_COUNT)."""
    minimum = int(current_app.config["ETA_STATS_MIN_COUNT"])
    language = str(get_locale() or "en")
    rows = statistics.monthly_by_nationality(db.session, minimum)
    return render_template(
        "public/statistics.html",
        rows=rows,
        minimum=minimum,
        country=lambda code: country_name_in(code, language),
        month=lambda day: format_date(day, "MMMM y"),
    )
