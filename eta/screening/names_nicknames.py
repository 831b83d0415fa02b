"""English given names and their nicknames (Margaret / Peggy, Timothy / Tim), for the name matcher.

The pairs come from the `nicknames` package (a hand-curated table of English names and their
nicknames and short forms). Only a name and one of its own nicknames are taken as the same part;
two nicknames of one name are not (Ron is short for Aaron and for Veronica, which are not the same
name). The matcher's own variant groups (eta.screening.name_variants) take precedence: a spelling
that belongs to one of them (Ali, Omar) is not compared through this table, whose English short
forms would otherwise tie it to unrelated names (Ali / Alison).
"""

from __future__ import annotations

from functools import lru_cache

from nicknames import NickNamer

from eta.screening.name_variants import PARTICLES, TITLES

# A nickname of two letters or less (Al, Ed) says too little once names are romanised: "al" is
# also the Arabic article.
_SHORTEST_NICKNAME = 3


def _usable(spelling: str) -> bool:
    return (
        len(spelling) >= _SHORTEST_NICKNAME
        and spelling.isascii()
        and spelling.isalpha()
        and spelling not in PARTICLES
        and spelling not in TITLES
    )


@lru_cache(maxsize=1)
def _nickname_pairs() -> frozenset[tuple[str, str]]:
    pairs: set[tuple[str, str]] = set()
    for name, nicknames in NickNamer().nickname_lookup.items():
        if not _usable(name):
            continue
        for nickname in nicknames:
            if _usable(nickname) and nickname != name:
                pairs.add((name, nickname))
                pairs.add((nickname, name))
    return frozenset(pairs)


def is_nickname_pair(a: str, b: str) -> bool:
    """True when one lower-case Latin name part is a nickname of the other (tim / timothy)."""
    return (a, b) in _nickname_pairs()
