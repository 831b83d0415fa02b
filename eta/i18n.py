"""Languages: Flask-Babel catalogues, the language switcher, and Accept-Language negotiation."""

from __future__ import annotations

from flask import Flask, request, session
from flask_babel import get_locale

from eta.extensions import babel

LANGUAGE_NAMES = {"en": "English", "fr": "Français"}


def select_locale() -> str:
    """Pick the language: an explicit ?lang= choice (kept in the session), else Accept-Language."""
    from flask import current_app

    supported = [code.lower() for code in current_app.config["ETA_LANGUAGES"]]
    chosen = request.args.get("lang", "").lower()
    if chosen in supported:
        session["lang"] = chosen
        return chosen
    if session.get("lang") in supported:
        return str(session["lang"])
    return request.accept_languages.best_match(supported) or supported[0]


def init_app(app: Flask) -> None:
    """Bind Flask-Babel with eta's catalogues and expose the language list to templates."""
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_translation_directories=str(app.root_path + "/translations"),
    )

    app.jinja_env.globals["get_locale"] = get_locale

    @app.context_processor
    def languages() -> dict[str, object]:
        supported = [code.lower() for code in app.config["ETA_LANGUAGES"]]
        return {
            "languages": [(code, LANGUAGE_NAMES.get(code, code)) for code in supported],
        }
