"""Korean and Chinese names written in Latin letters: the given name is one part, not two.

A Korean or Chinese given name is most often two syllables, and Latin spellings cut it at will:
KU JA YOUNG, Ku Ja-young, Ku Jayoung. The same name written in Hangul or Han characters is read
as a family name and one joined given name (eta.screening.names), so a Latin name of that shape
is joined the same way before two names are scored: KU JA YOUNG and KU JA HYONG then differ in
one letter or two of one given name (jayoung / jahyong) rather than in a whole part, while
KIM SONG MIN and KIM SONG CHOL still differ in a whole one (songmin / songchol).

A name is taken for one of that shape when it has three parts, the first a common Korean or
Chinese family name and the other two syllables that Korean or Mandarin romanisations write.
"""

from __future__ import annotations

from functools import lru_cache

from anyascii import anyascii

from eta.screening.han import korean_spellings
from eta.screening.readings import latin_letters

# Common family names in the Latin spellings passports and the lists use: Korean (Revised,
# McCune-Reischauer and passport forms) and Chinese (pinyin and Wade-Giles). A family name
# outside these leaves the name as it is written, which is how every name was scored before.
_KOREAN_FAMILY_NAMES = (
    "kim gim lee yi ri rhee i park pak bak choi choe jung jong chung jeong kang gang cho jo yoon "
    "yun jang chang lim im rim han oh o seo so shin sin kwon hwang ahn an song ryu yu yoo hong "
    "jeon jon chon ko go moon mun yang son bae pae baek paek heo ho huh nam shim sim noh no ro ha "
    "kwak sung cha joo chu ju woo u ku koo gu min na ra jin chin ji chi um eom chae won cheon bang "
    "pang kong hyun hyon ham pyon byun byeon yeom yeo choo do to seok sok sun sul seol ma kil gil "
    "yeon wi pyo myung myong ki gi ban pan wang geum kum ok yuk maeng je mo tak kuk guk"
)
_CHINESE_FAMILY_NAMES = (
    "wang li zhang liu chen yang huang zhao wu zhou xu sun ma zhu hu guo he lin gao luo zheng "
    "liang xie song tang han feng deng cao peng zeng xiao tian dong pan yuan cai jiang yu du ye "
    "cheng wei su lu ding ren shen yao jin fu zhong cui tan qin mao xi hsi lee chan cheung wong "
    "leung lau ng ho tse chow lam kwok yip mak tsang"
)
FAMILY_NAMES: frozenset[str] = frozenset(f"{_KOREAN_FAMILY_NAMES} {_CHINESE_FAMILY_NAMES}".split())


@lru_cache(maxsize=1)
def syllables() -> frozenset[str]:
    """Latin spellings of one Korean or Mandarin syllable.

    Every Hangul syllable in Revised Romanisation and the passport forms of
    eta.screening.han.korean_spellings, with eo also as ou (영 Young); every Han character's pinyin
    without tones. Built once, in about a quarter of a second.
    """
    spellings: set[str] = set()
    for code in range(0xAC00, 0xD7A4):
        revised, others = korean_spellings(chr(code))
        for spelling in (revised, *others):
            spellings.add(spelling)
        if "eo" in revised:
            spellings.add(revised.replace("eo", "ou"))
    for code in range(0x4E00, 0x9FA6):
        pinyin = latin_letters(anyascii(chr(code)))
        if pinyin:
            spellings.add(pinyin)
    spellings.discard("")
    return frozenset(spellings)


def is_syllabic_name(parts: tuple[str, ...]) -> bool:
    """Three Latin parts: a Korean or Chinese family name, then a given name in two syllables."""
    if len(parts) != 3 or parts[0] not in FAMILY_NAMES:
        return False
    known = syllables()
    return parts[1] in known and parts[2] in known
