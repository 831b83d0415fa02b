"""Finding a case the way an officer knows it: by reference, passport number or name.

Officers must be able to reach any application, an auto-approved one included (to revoke it
say), without guessing its address. The term decides the kind of search: a reference looks
like ``ETA-XXXX-XXXX``, a passport number mixes letters and digits, anything else is a name,
compared in its MRZ form (ICAO 9303 transliteration) so that any script finds the Latin record.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import or_, select

from eta.applications.lifecycle import REFERENCE_LENGTH, normalise_reference
from eta.documents import normalise_document_number
from eta.models import Application
from eta.models.base import SessionLike
from eta.screening.mrz import icao_transliterate

MAX_RESULTS = 50
MAX_TERM = 100
_PASSPORT = re.compile(r"(?=.*[0-9])[0-9A-Z]{5,20}")


class SearchKind(StrEnum):
    """What the officer's term was taken to be."""

    REFERENCE = "reference"
    PASSPORT = "passport"
    NAME = "name"


@dataclass(frozen=True)
class CaseSearch:
    """The cases found for a term, the kind of search made, and whether the list was cut."""

    kind: SearchKind
    cases: Sequence[Application]
    more: bool


def kind_of(term: str) -> SearchKind:
    """The kind of search a term asks for (see the module docstring)."""
    compact = normalise_document_number(term)
    if compact.startswith("ETA") and len(compact) == len("ETA") + REFERENCE_LENGTH:
        return SearchKind.REFERENCE
    if _PASSPORT.fullmatch(compact):
        return SearchKind.PASSPORT
    return SearchKind.NAME


def find_cases(session: SessionLike, term: str) -> CaseSearch:
    """The applications matching `term`, newest first, at most MAX_RESULTS of them.

    Erased applications (past the retention limit) keep only their reference: a name or
    passport search never finds them, a reference search does.
    """
    term = term.strip()[:MAX_TERM]
    kind = kind_of(term)
    stmt = select(Application)
    if kind is SearchKind.REFERENCE:
        stmt = stmt.where(Application.reference == normalise_reference(term))
    elif kind is SearchKind.PASSPORT:
        stmt = stmt.where(Application.passport_number_normalised == normalise_document_number(term))
    else:
        words = icao_transliterate(term).split()
        if not words:
            return CaseSearch(kind, [], False)
        for word in words:
            stmt = stmt.where(
                or_(
                    Application.surname_mrz.contains(word),
                    Application.given_names_mrz.contains(word),
                )
            )
    found = session.scalars(stmt.order_by(Application.id.desc()).limit(MAX_RESULTS + 1)).all()
    return CaseSearch(kind, found[:MAX_RESULTS], len(found) > MAX_RESULTS)


def term_digest(term: str, secret: str) -> str:
    """A keyed digest of a search term, for the audit log, which must not hold the term itself.

    The audit log is kept for ever and cannot be erased, so it never holds a name or passport
    number; an investigator holding the key can still tell whether someone searched for a
    given person (compute the digest of the term and look for it).
    """
    normal = " ".join(icao_transliterate(term).split()) or term.strip().upper()
    return hmac.new(secret.encode(), normal.encode(), hashlib.sha256).hexdigest()[:32]
