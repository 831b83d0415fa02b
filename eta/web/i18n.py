"""Languages: Flask-Babel catalogues, the language switcher, and Accept-Language negotiation."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from babel import Locale
from flask import Flask, current_app, request, session
from flask_babel import get_locale
from flask_babel import gettext as _

from eta.extensions import babel

SOURCE_LANGUAGE = "en"  # the language the templates and code are written in
# ETA_ARABIC_DIGITS="arab" writes ٠-٩ (Arabic-Indic) on Arabic pages instead of 0-9.
_ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
SHIPPED_SERVICE_NAME = "Electronic Travel Authorisation"  # ETA_SERVICE_NAME's default


def available_languages(translations: Path) -> tuple[str, ...]:
    """The source language, then every language with a catalogue: adding one needs no code."""
    found = sorted(
        path.parent.parent.name.lower()
        for path in translations.glob("*/LC_MESSAGES/messages.po")
        if path.parent.parent.name.lower() != SOURCE_LANGUAGE
    )
    return (SOURCE_LANGUAGE, *found)


def language_name(code: str) -> str:
    """A language's name in that language ("Français"), for the switcher."""
    try:
        name = Locale.parse(code).get_display_name(code)
    except (ValueError, LookupError):
        return code
    return name[:1].upper() + name[1:] if name else code


def text_direction(code: object) -> str:
    """The `dir` of a language's pages: "rtl" for a right-to-left one (Arabic), else "ltr"."""
    try:
        order = Locale.parse(str(code).replace("-", "_")).character_order
    except (ValueError, LookupError, TypeError):
        return "ltr"
    return "rtl" if order == "right-to-left" else "ltr"


def localise_digits(text: object, language: object = None) -> str:
    """``text`` with Arabic-Indic digits when it is for Arabic and ETA_ARABIC_DIGITS is "arab".

    Only formatted values (dates, counts) go through this: references, passport numbers and
    codes stay in Latin digits, as printed on the passport and typed at check-in.
    """
    from flask import current_app

    value = str(text)
    code = str(language if language is not None else get_locale() or SOURCE_LANGUAGE)
    if code.split("_")[0].split("-")[0].lower() != "ar":
        return value
    if current_app.config.get("ETA_ARABIC_DIGITS", "latn") != "arab":
        return value
    return value.translate(_ARABIC_INDIC)


def service_name() -> str:
    """The service's name for people: ETA_SERVICE_NAME as configured, the default translated.

    Authenticator apps (TOTP issuer) keep the configured text: it must not change with the
    language of whoever looks.
    """
    name = str(current_app.config["ETA_SERVICE_NAME"])
    return _("Electronic Travel Authorisation") if name == SHIPPED_SERVICE_NAME else name


def select_locale() -> str:
    """Pick the language: an explicit ?lang= choice (kept in the session), else Accept-Language."""
    supported = [code.lower() for code in current_app.config["ETA_LANGUAGES"]]
    chosen = request.args.get("lang", "").lower()
    if chosen in supported:
        session["lang"] = chosen
        return chosen
    if session.get("lang") in supported:
        return str(session["lang"])
    return negotiate(request.accept_languages, supported)


def negotiate(accepted: Iterable[tuple[str, float]], supported: Sequence[str]) -> str:
    """The visitor's most wanted language that the service speaks; "de-CH" is German.

    Not werkzeug's best_match: it prefers any exact match, so "de-CH, fr;q=0.5" got French.
    """
    for tag, quality in accepted:  # werkzeug keeps them best first
        code = tag.lower().replace("_", "-")
        for candidate in (code, code.split("-")[0]):
            if quality > 0 and candidate in supported:
                return candidate
    return supported[0]


def init_app(app: Flask) -> None:
    """Bind Flask-Babel with eta's catalogues and expose the language list to templates."""
    if not app.config.get("ETA_LANGUAGES"):
        app.config["ETA_LANGUAGES"] = available_languages(Path(app.root_path) / "translations")
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_translation_directories=str(app.root_path + "/translations"),
    )

    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.globals["text_direction"] = text_direction
    app.jinja_env.filters["digits"] = localise_digits
    app.jinja_env.globals["localised_service_name"] = service_name

    @app.context_processor
    def languages() -> dict[str, object]:
        supported = [code.lower() for code in app.config["ETA_LANGUAGES"]]
        return {
            "languages": [(code, language_name(code)) for code in supported],
            "page_direction": text_direction(get_locale() or SOURCE_LANGUAGE),
        }
