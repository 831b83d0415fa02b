"""Country names in the visitor's language, ICAO's own codes included."""

from __future__ import annotations

import pytest

from eta.countries import ICAO_SPECIAL_CODES, country_name, country_name_in

LANGUAGES = ("fr", "es", "de", "ar", "zh")


@pytest.mark.parametrize("language", LANGUAGES)
def test_icao_codes_that_are_not_countries_are_named_in_every_language(language):
    # The ICAO 9303 specimen passport's "UTO" and the codes for stateless people, refugees and
    # UN bodies have no CLDR name: before the catalogues named them, they stayed in English.
    for code, english in ICAO_SPECIAL_CODES.items():
        if code == "RKS" and language in ("fr", "es", "de"):
            continue  # "Kosovo" is the same word in these languages
        if code == "XPO" and language in ("fr", "es", "de"):
            continue  # so is "Interpol"
        name = country_name_in(code, language)
        assert name and name != english, (code, language, name)


def test_english_and_real_countries_keep_their_sources():
    assert country_name_in("UTO", "en") == country_name("UTO") == "Utopia (ICAO specimen state)"
    assert country_name_in("SWE", "fr") == "Suède"
    assert country_name_in("XXA", "zh_Hans") == country_name_in("XXA", "zh") == "无国籍人"
    assert country_name_in("QQQ", "fr") == "QQQ"  # unknown codes stay as they are
