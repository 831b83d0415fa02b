"""Country codes and names: alpha-3 from ISO codes, ICAO passport codes and list spellings."""

from __future__ import annotations

import gettext
import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import pycountry
from babel import Locale

_CATALOGUES = str(Path(__file__).resolve().parent / "translations")


def N_(message: str) -> str:
    """Mark ``message`` for the catalogues without translating it here (pybabel's N_ keyword)."""
    return message


# ICAO Doc 9303 Part 3 codes that are not ISO 3166-1 countries but appear in passports. They are
# kept as they are (an applicant may really be stateless, or hold a UN laissez-passer), except the
# British nationality variants, which all denote a British passport and so compare as GBR.
ICAO_SPECIAL_CODES: dict[str, str] = {
    "UTO": N_("Utopia (ICAO specimen state)"),
    "UNO": N_("United Nations Organization"),
    "UNA": N_("Specialized agency of the United Nations"),
    "UNK": N_("Kosovo (UNMIK travel document)"),
    "RKS": N_("Kosovo"),
    "XXA": N_("Stateless person"),
    "XXB": N_("Refugee (1951 Convention)"),
    "XXC": N_("Refugee (other)"),
    "XXX": N_("Unspecified nationality"),
    "EUE": N_("European Union"),
    "XOM": N_("Sovereign Military Order of Malta"),
    "XPO": N_("Interpol"),
    "XCC": N_("Caribbean Community"),
    "XBA": N_("African Development Bank"),
    "XIM": N_("African Export-Import Bank"),
    "XCE": N_("Council of Europe"),
    "XEC": N_("Economic Community of West African States"),
    "XES": N_("Organisation of Eastern Caribbean States"),
    "XMP": N_("International Organization for Migration"),
}

_ICAO_TO_ISO: dict[str, str] = {
    "D": "DEU",  # Germany writes a single D in the MRZ
    "GBD": "GBR",  # British Overseas Territories Citizen
    "GBN": "GBR",  # British National (Overseas)
    "GBO": "GBR",  # British Overseas Citizen
    "GBP": "GBR",  # British Protected Person
    "GBS": "GBR",  # British Subject
}

# Spellings used by sanctions lists (OFAC, UN) and people that pycountry's names do not cover.
_NAME_ALIASES: dict[str, str] = {
    "russia": "RUS",
    "iran": "IRN",
    "syria": "SYR",
    "north korea": "PRK",
    "korea north": "PRK",
    "dprk": "PRK",
    "south korea": "KOR",
    "korea south": "KOR",
    "korea": "KOR",
    "united kingdom": "GBR",
    "great britain": "GBR",
    "uk": "GBR",
    "britain": "GBR",
    "england": "GBR",
    "scotland": "GBR",
    "wales": "GBR",
    "northern ireland": "GBR",
    "united states": "USA",
    "us": "USA",
    "usa": "USA",
    "america": "USA",
    "burma": "MMR",
    "macau": "MAC",
    "macao": "MAC",
    "taiwan": "TWN",
    "gambia": "GMB",
    "turkey": "TUR",
    "turkiye": "TUR",
    "palestinian": "PSE",
    "palestine": "PSE",
    "gaza": "PSE",
    "region gaza": "PSE",
    "west bank": "PSE",
    "czech republic": "CZE",
    "cape verde": "CPV",
    "cabo verde": "CPV",
    "ivory coast": "CIV",
    "vatican": "VAT",
    "vatican city": "VAT",
    "holy see": "VAT",
    "laos": "LAO",
    "vietnam": "VNM",
    "brunei": "BRN",
    "moldova": "MDA",
    "tanzania": "TZA",
    "bolivia": "BOL",
    "venezuela": "VEN",
    "micronesia": "FSM",
    "congo": "COG",
    "republic of the congo": "COG",
    "congo brazzaville": "COG",
    "congo kinshasa": "COD",
    "drc": "COD",
    "democratic republic of the congo": "COD",
    "democratic republic of congo": "COD",
    "swaziland": "SWZ",
    "macedonia": "MKD",
    "north macedonia": "MKD",
    "the republic of north macedonia": "MKD",
    "east timor": "TLS",
    "kosovo": "RKS",
    "soviet union": "SUN",
    "former soviet union": "SUN",
    "ussr": "SUN",
    "yugoslavia": "YUG",
    "former yugoslavia": "YUG",
    "serbia and montenegro": "SCG",
    "czechoslovakia": "CSK",
    "netherlands antilles": "ANT",
    "stateless": "XXA",
}

_PUNCTUATION = re.compile(r"[^a-z0-9 ]+")


def _normalise_name(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    words = _PUNCTUATION.sub(" ", letters).split()
    if words and words[0] == "the":
        words = words[1:]
    return " ".join(words)


def _name_forms(name: str) -> list[str]:
    """The ways a name is written: as is, and "Korea, Republic of" turned to "Republic of Korea"."""
    forms = [_normalise_name(name)]
    if "," in name:
        head, _, tail = name.partition(",")
        forms.append(_normalise_name(f"{tail} {head}"))
    return forms


@lru_cache(maxsize=1)
def _name_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for historic in pycountry.historic_countries:
        alpha3 = getattr(historic, "alpha_3", None)
        if alpha3:
            for form in _name_forms(historic.name):
                index.setdefault(form, alpha3)
    for country in pycountry.countries:
        for attribute in ("name", "official_name", "common_name"):
            value = getattr(country, attribute, None)
            if value:
                for form in _name_forms(value):
                    index[form] = country.alpha_3
    for alias, alpha3 in _NAME_ALIASES.items():
        index[alias] = alpha3
    for code, name in ICAO_SPECIAL_CODES.items():
        index.setdefault(_normalise_name(name), code)
    return index


@lru_cache(maxsize=1)
def _codes() -> tuple[frozenset[str], dict[str, str]]:
    alpha3 = frozenset(c.alpha_3 for c in pycountry.countries)
    alpha2 = {c.alpha_2: c.alpha_3 for c in pycountry.countries}
    return alpha3, alpha2


@lru_cache(maxsize=4096)
def to_alpha3(code_or_name: str) -> str | None:
    """The ISO 3166-1 alpha-3 code for an alpha-2/alpha-3 code, ICAO passport code or country name.

    ICAO codes that are not countries (UTO, XXA, UNO...) are returned as they are; the British
    variants (GBD, GBN, GBO, GBP, GBS) and Germany's "D" become GBR and DEU. Unknown input gives
    None, never an exception.
    """
    text = code_or_name.strip().strip("<").strip()
    if not text:
        return None
    upper = text.upper()
    alpha3_codes, alpha2_codes = _codes()
    if len(upper) <= 3 and upper.isascii() and upper.isalpha():
        if upper in _ICAO_TO_ISO:
            return _ICAO_TO_ISO[upper]
        if upper in alpha3_codes or upper in ICAO_SPECIAL_CODES:
            return upper
        if upper in alpha2_codes:
            return alpha2_codes[upper]
        if len(upper) == 3 and upper in _historic_codes():
            return upper
    index = _name_index()
    for form in _name_forms(text):
        if form in index:
            return index[form]
    return None


def document_country_codes() -> list[str]:
    """Every code `document_country` takes, upper case, sorted (for a schema's enum)."""
    alpha3_codes, _alpha2 = _codes()
    return sorted({*alpha3_codes, *ICAO_SPECIAL_CODES, *_ICAO_TO_ISO})


def document_country(code: str) -> str | None:
    """The country of an ICAO 9303 code as a passport prints it, as eta keeps it; None if none.

    The one mapping for every field where a document's country or a nationality is entered
    (the application, the carrier API, PAXLST): ISO 3166-1 alpha-3 codes, Germany's single
    "D" (kept as DEU), the British variants (kept as GBR) and the codes that are no country
    (UNO, XXA, ...). Anything else, such as "GER", is not a code any passport prints.
    """
    upper = code.strip().upper()
    if not (upper == "D" or (len(upper) == 3 and upper.isascii() and upper.isalpha())):
        return None
    if upper in _ICAO_TO_ISO:
        return _ICAO_TO_ISO[upper]
    alpha3_codes, _alpha2 = _codes()
    if upper in alpha3_codes or upper in ICAO_SPECIAL_CODES:
        return upper
    return None


@lru_cache(maxsize=1)
def _historic_codes() -> dict[str, str]:
    return {h.alpha_3: h.name for h in pycountry.historic_countries if getattr(h, "alpha_3", None)}


@lru_cache(maxsize=1024)
def country_name(alpha3: str) -> str:
    """A short English name for an alpha-3 (or ICAO special) code; the code itself if unknown."""
    code = alpha3.strip().upper()
    country = pycountry.countries.get(alpha_3=code) if len(code) == 3 else None
    if country is not None:
        return str(getattr(country, "common_name", None) or country.name)
    if code in ICAO_SPECIAL_CODES:
        return ICAO_SPECIAL_CODES[code]
    return _historic_codes().get(code, code)


@lru_cache(maxsize=4096)
def country_name_in(alpha3: str, language: str) -> str:
    """A country's name in a language ("es", "de", "zh-Hans"): CLDR's, through Babel.

    pycountry's ISO 3166 catalogues are the second source. Codes neither knows (ICAO's XXA,
    UNO...) come from our own catalogues; English keeps :func:`country_name`.
    """
    english = country_name(alpha3)
    tag = language.replace("-", "_")
    code = alpha3.strip().upper()
    country = pycountry.countries.get(alpha_3=code) if len(code) == 3 else None
    if tag.split("_")[0].lower() in ("", "en"):
        return english
    if country is None:
        if code not in ICAO_SPECIAL_CODES:
            return english
        # No locale data names ICAO's own codes (a specimen state, UN bodies): our catalogues do.
        ours = gettext.translation(
            "messages", _CATALOGUES, languages=[tag, tag.split("_")[0]], fallback=True
        )
        return ours.gettext(english)
    try:
        name = Locale.parse(tag).territories.get(country.alpha_2)
    except (ValueError, LookupError):  # a tag Babel does not know
        name = None
    if name:
        return str(name)
    translations = gettext.translation(
        "iso3166-1", pycountry.LOCALES_DIR, languages=[tag], fallback=True
    )
    return translations.gettext(getattr(country, "common_name", None) or country.name)


@lru_cache(maxsize=1)
def _all_countries() -> tuple[tuple[str, str], ...]:
    pairs = [(c.alpha_3, country_name(c.alpha_3)) for c in pycountry.countries]
    return tuple(sorted(pairs, key=lambda pair: _normalise_name(pair[1])))


def all_countries() -> list[tuple[str, str]]:
    """Every current ISO 3166-1 country as (alpha-3, name), sorted by name for choice lists."""
    return list(_all_countries())
