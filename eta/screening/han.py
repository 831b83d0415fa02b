"""Latin readings of a name written in Han characters: Mandarin, Japanese and Korean.

One Han name reads differently by language: 金正恩 is "Jin Zhengen" in Mandarin and "Kim Jong Un"
in Korean; 山田太郎 is "Shan Tiantailang" in Mandarin and "Yamada Taro" in Japanese. Each reading
here splits the name into family name and given name the way that language does (one character
for Chinese and Korean family names; the dictionary's word boundary for Japanese ones) and spells
the parts as passports do (Hepburn without long vowels; Korean in its common passport spellings).
The matcher scores every reading, or only those of the nationality's language when it is known.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import hanja
from anyascii import anyascii

from eta.screening.readings import latin_letters

MANDARIN = "zh"
JAPANESE = "ja"
KOREAN = "ko"
LANGUAGES = (MANDARIN, JAPANESE, KOREAN)

# Nationalities (ICAO alpha-3 and alpha-2) whose Han names are read in one language.
NATIONALITY_LANGUAGE: dict[str, str] = {
    "CHN": MANDARIN,
    "CN": MANDARIN,
    "TWN": MANDARIN,
    "TW": MANDARIN,
    "HKG": MANDARIN,
    "HK": MANDARIN,
    "MAC": MANDARIN,
    "MO": MANDARIN,
    "SGP": MANDARIN,
    "SG": MANDARIN,
    "JPN": JAPANESE,
    "JP": JAPANESE,
    "KOR": KOREAN,
    "KR": KOREAN,
    "PRK": KOREAN,
    "KP": KOREAN,
}

# Korean family names whose reading as a surname differs from the character's usual reading.
_KOREAN_SURNAMES = {
    "金": "김",
    "李": "이",
    "柳": "유",
    "羅": "나",
    "盧": "노",
    "林": "임",
    "梁": "양",
}

# A reading: the name's parts, each a Latin spelling with other spellings of the same part.
Reading = tuple[tuple[str, tuple[str, ...]], ...]


def is_han(char: str) -> bool:
    """A CJK ideograph (the basic, extension A and compatibility blocks)."""
    code = ord(char)
    return 0x3400 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF or 0x20000 <= code <= 0x2FFFF


def _mandarin(text: str) -> Reading:
    syllables = [latin_letters(anyascii(char)) for char in text if is_han(char)]
    syllables = [s for s in syllables if s]
    if len(syllables) < 2:
        return tuple((s, ()) for s in syllables)
    return ((syllables[0], ()), ("".join(syllables[1:]), ()))


_FINAL_VOICELESS = {"g": "k", "d": "t", "b": "p"}


def korean_spellings(hangul: str) -> tuple[str, tuple[str, ...]]:
    """Revised Romanisation of Hangul syllables and the forms passports commonly use."""
    syllables = [latin_letters(anyascii(char)) for char in hangul]
    revised = "".join(syllables)
    # A final consonant is voiceless in passports and McCune-Reischauer (박 Bak/Pak, not Bag).
    voiceless = "".join(
        s[:-1] + _FINAL_VOICELESS[s[-1]]
        if len(s) > 1 and s[-1] in _FINAL_VOICELESS and s[-2] != "n"
        else s
        for s in syllables
    )
    others = set()
    for base in {revised, voiceless}:
        for folded in (base, base.replace("eo", "o"), base.replace("eo", "u")):
            folded = folded.replace("eu", "u")
            others.add(folded)
            if folded[:1] == "g":
                others.add("k" + folded[1:])
            if folded[:1] == "b":
                others.add("p" + folded[1:])
    others.discard(revised)
    return revised, tuple(sorted(others))


def _korean(text: str) -> Reading:
    chars = [c for c in text if is_han(c)]
    if not chars:
        return ()
    family = _KOREAN_SURNAMES.get(chars[0]) or hanja.translate(chars[0], "substitution")
    parts = [family]
    if len(chars) > 1:
        parts.append(hanja.translate("".join(chars[1:]), "substitution"))
    return tuple(korean_spellings(p) for p in parts if latin_letters(anyascii(p)))


@lru_cache(maxsize=1)
def _kakasi() -> Any:
    import pykakasi  # loaded on first use: its dictionary takes half a second to open

    return pykakasi.kakasi()


def passport_hepburn(hepburn: str) -> str:
    """Hepburn as Japanese passports write it: long vowels not doubled (Tarou → Taro)."""
    return hepburn.replace("ou", "o").replace("oo", "o").replace("uu", "u")


def _japanese(text: str) -> Reading:
    parts = []
    for segment in _kakasi().convert(text):
        hepburn = latin_letters(segment["hepburn"])
        if not hepburn:
            continue
        passport = passport_hepburn(hepburn)
        parts.append((passport, (hepburn,) if hepburn != passport else ()))
    if len(parts) > 2:
        # A family name then given names: keep the first word apart, join the rest.
        rest = "".join(p for p, _ in parts[1:])
        parts = [parts[0], (rest, ())]
    return tuple(parts)


@lru_cache(maxsize=20_000)
def han_readings(text: str) -> dict[str, Reading]:
    """The readings of one Han name part by language, each split into family and given name."""
    if any(0x3040 <= ord(c) <= 0x30FF for c in text):
        return {JAPANESE: _japanese(text)}  # kana among the characters: a Japanese name
    readings = {MANDARIN: _mandarin(text), JAPANESE: _japanese(text), KOREAN: _korean(text)}
    return {language: reading for language, reading in readings.items() if reading}
