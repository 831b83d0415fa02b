"""Languages come from the catalogues: a third language needs only its catalogue."""

from __future__ import annotations

import re
from pathlib import Path

from eta.web.i18n import available_languages, language_name

STYLESHEETS = Path(__file__).resolve().parents[2] / "eta" / "static" / "css"


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


def test_the_shipped_service_speaks_every_catalogued_language(app):
    assert app.config["ETA_LANGUAGES"] == ("en", "ar", "de", "es", "fr", "zh")


def test_the_switcher_offers_french_and_the_page_follows(client):
    page = client.get("/?lang=fr").get_data(as_text=True)
    assert '<html lang="fr"' in page
    assert 'hreflang="en"' in page and ">English<" in page


def test_arabic_pages_read_right_to_left_with_the_mirror_stylesheet(client):
    arabic = client.get("/?lang=ar").get_data(as_text=True)
    assert '<html lang="ar" dir="rtl"' in arabic
    assert "css/eta-rtl.css" in arabic
    assert "ابدأ الآن" in arabic  # "Start now"
    chinese = client.get("/?lang=zh").get_data(as_text=True)
    assert '<html lang="zh" dir="ltr"' in chinese and "css/eta-rtl.css" not in chinese
    assert "立即开始" in chinese
    assert ">العربية<" in chinese and ">中文<" in chinese  # each named in its own language


def _names_a_side(declarations: str) -> bool:
    """Whether CSS declarations name a left or right side, or set the two differently."""
    if re.search(r"\b(?:left|right)\b", declarations):
        return True
    for values in re.findall(r"(?:margin|padding)\s*:\s*([^;]+)", declarations):
        parts = values.split()
        if len(parts) == 4 and parts[1] != parts[3]:
            return True
    return False


def test_the_mirror_stylesheet_turns_every_side_of_the_main_one():
    """Every eta.css rule that names a side has its mirror in eta-rtl.css."""
    main = (STYLESHEETS / "eta.css").read_text(encoding="utf-8")
    mirror = (STYLESHEETS / "eta-rtl.css").read_text(encoding="utf-8")
    for selectors, declarations in re.findall(r"([^{}]+)\{([^{}]*)\}", main):
        if not _names_a_side(declarations):
            continue
        for selector in selectors.split(","):
            name = selector.strip().split("::")[0].split(":")[0]
            assert f"{name} " in mirror or f"{name}," in mirror, f"{name}: no rtl mirror"


def test_arabic_digits_by_configuration(make_app):
    from flask_babel import force_locale

    from eta.web.i18n import localise_digits

    latin = make_app({"ETA_ARABIC_DIGITS": "latn"})
    with latin.test_request_context("/"), force_locale("ar"):
        assert localise_digits("12 أغسطس 1974") == "12 أغسطس 1974"
    indic = make_app({"ETA_ARABIC_DIGITS": "arab"})
    with indic.test_request_context("/"):
        with force_locale("ar"):
            assert localise_digits("12 أغسطس 1974") == "١٢ أغسطس ١٩٧٤"
        with force_locale("fr"):
            assert localise_digits("12 août 1974") == "12 août 1974"  # only Arabic changes
        assert localise_digits("2026", "ar") == "٢٠٢٦"
