"""Languages come from the catalogues: a third language needs only its catalogue."""

from __future__ import annotations

from pathlib import Path

from eta.web.i18n import available_languages, language_name


def test_languages_are_discovered_from_catalogues(tmp_path: Path):
    for code in ("fr", "de"):
        folder = tmp_path / code / "LC_MESSAGES"
        folder.mkdir(parents=True)
        (folder / "messages.po").write_text("")
    assert available_languages(tmp_path) == ("en", "de", "fr")


def test_language_names_are_in_their_own_language():
    assert language_name("fr") == "Français"
    assert language_name("de") == "Deutsch"
    assert language_name("en") == "English"


def test_the_shipped_service_speaks_english_and_french(app):
    assert app.config["ETA_LANGUAGES"] == ("en", "de", "es", "fr")


def test_the_switcher_offers_french_and_the_page_follows(client):
    page = client.get("/?lang=fr").get_data(as_text=True)
    assert '<html lang="fr"' in page
    assert 'hreflang="en"' in page and ">English<" in page
