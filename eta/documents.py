"""Travel-document numbers in the one form every part of eta compares them in."""

from __future__ import annotations

import unicodedata

# What people and scanners put between the characters of a number: spaces, dashes of every
# kind, dots, slashes, underscores and the MRZ filler `<`.
_SEPARATORS = str.maketrans("", "", " \t\r\n-.<–—_/")


def normalise_document_number(number: str) -> str:
    """A document number as compared: NFKC, upper case, without spaces, dashes, dots or `<`.

    The application's stored number, the token's `doc.num`, the carrier's query and the
    lost/stolen and watchlist look-ups all go through this one function, so a number typed
    `l898-902 c3` matches `L898902C3` everywhere.
    """
    return unicodedata.normalize("NFKC", number).upper().translate(_SEPARATORS)
