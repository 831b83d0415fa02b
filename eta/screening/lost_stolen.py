"""Lost and stolen travel documents: reading the list and matching a passport number against it."""

from __future__ import annotations

import csv
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from eta.countries import to_alpha3
from eta.documents import normalise_document_number
from eta.screening.lists.importers import ImportFormatError

# Characters that OCR, handwriting and hurried typing swap in document numbers, each mapped to the
# digit it is confused with. Digits are the target because passport numbers are mostly digits:
# O/Q/D look like 0, I/L like 1, S like 5, B like 8, Z like 2, G like 6. The map is one-way and
# deliberately broad: a confusable match is only a lead for an officer, never a refusal by itself.
_CONFUSABLES = str.maketrans("OQDILSBZG", "000115826")


def confusable_key(number: str) -> str:
    """The normalised number with look-alike letters folded to digits (O→0, I→1, S→5, B→8...)."""
    return normalise_document_number(number).translate(_CONFUSABLES)


@dataclass(frozen=True, slots=True)
class LostStolenRecord:
    """One reported lost or stolen document (country ISO alpha-3, normalised number)."""

    country: str
    number: str
    reported_on: dt.date | None = None
    reference: str = ""


@dataclass(frozen=True, slots=True)
class LostStolenHit:
    """A lookup result: the record, and whether it matched exactly or only via confusables."""

    record: LostStolenRecord
    exact: bool

    @property
    def how(self) -> str:
        """ "exact" or "confusable", for explanations."""
        return "exact" if self.exact else "confusable"


def parse_lost_stolen_csv(path_or_file: str | Path | IO[str]) -> Iterator[LostStolenRecord]:
    """Stream records from a CSV with header `country,number[,reported_on,reference]`.

    Country may be alpha-2 or alpha-3 (or an ICAO code); reported_on is YYYY-MM-DD. Raises
    ImportFormatError naming the line of the first bad row.
    """
    if isinstance(path_or_file, str | Path):
        with open(path_or_file, encoding="utf-8", newline="") as handle:
            yield from _read(handle)
    else:
        yield from _read(path_or_file)


def _read(handle: IO[str]) -> Iterator[LostStolenRecord]:
    reader = csv.DictReader(handle)
    header = [h.strip().casefold() for h in reader.fieldnames or []]
    missing = [c for c in ("country", "number") if c not in header]
    if missing:
        raise ImportFormatError(1, f"header lacks column(s) {', '.join(missing)}")
    reader.fieldnames = header
    for row in reader:
        line = reader.line_num
        if None in row:
            raise ImportFormatError(line, "more fields than the header has columns")
        country_text = (row.get("country") or "").strip()
        country = to_alpha3(country_text) if country_text else None
        if country is None:
            raise ImportFormatError(line, f"country {country_text!r} is not a known country code")
        number = normalise_document_number(row.get("number") or "")
        if not number:
            raise ImportFormatError(line, "number is empty")
        if not number.isalnum() or not number.isascii():
            raise ImportFormatError(
                line, f"number {row.get('number')!r} has characters other than A-Z and 0-9"
            )
        reported_text = (row.get("reported_on") or "").strip()
        reported_on = None
        if reported_text:
            try:
                reported_on = dt.date.fromisoformat(reported_text)
            except ValueError:
                raise ImportFormatError(
                    line, f"reported_on {reported_text!r} is not a date (YYYY-MM-DD)"
                ) from None
        yield LostStolenRecord(country, number, reported_on, (row.get("reference") or "").strip())


class LostStolenIndex:
    """An in-memory index of lost and stolen documents for exact and confusable lookups."""

    def __init__(self, records: Iterable[LostStolenRecord]) -> None:
        self._exact: dict[tuple[str, str], LostStolenRecord] = {}
        self._confusable: dict[tuple[str, str], list[LostStolenRecord]] = defaultdict(list)
        self._by_number: dict[str, list[LostStolenRecord]] = defaultdict(list)
        for record in records:
            number = normalise_document_number(record.number)
            self._exact.setdefault((record.country, number), record)
            self._confusable[(record.country, confusable_key(number))].append(record)
            self._by_number[confusable_key(number)].append(record)

    def __len__(self) -> int:
        return len(self._exact)

    def lookup(self, country: str | None, number: str) -> LostStolenHit | None:
        """The record for this document, exact match first, else a confusable one; or None.

        The country may be any code or name to_alpha3 understands; when it is None or unknown the
        number is looked up across all countries.
        """
        normalised = normalise_document_number(number)
        if not normalised:
            return None
        key = confusable_key(normalised)
        code = to_alpha3(country) if country else None
        if code is None:
            candidates = self._by_number.get(key, [])
            for record in candidates:
                if record.number == normalised:
                    return LostStolenHit(record, exact=True)
            return LostStolenHit(candidates[0], exact=False) if candidates else None
        exact = self._exact.get((code, normalised))
        if exact is not None:
            return LostStolenHit(exact, exact=True)
        similar = self._confusable.get((code, key))
        if similar:
            return LostStolenHit(similar[0], exact=False)
        return None
