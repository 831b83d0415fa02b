"""Plain data shared by the screening checks, the watchlist importers and the matcher.

Nothing here knows about Flask or the database: the models convert to and from these shapes so the
checks stay pure functions that are easy to test and benchmark.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum


class DatePrecision(StrEnum):
    """How much of a date of birth a source actually knows."""

    DAY = "day"  # an exact date
    MONTH = "month"  # year and month
    YEAR = "year"  # year only
    CIRCA = "circa"  # "circa 1970": about that year, give or take a couple of years
    RANGE = "range"  # "between 1965 and 1969"


@dataclass(frozen=True, slots=True)
class BirthDate:
    """A date of birth as a source states it: the earliest and latest possible days, and precision.

    An exact date has earliest == latest; "1974" is 1974-01-01..1974-12-31 with precision YEAR.
    """

    earliest: dt.date
    latest: dt.date
    precision: DatePrecision

    @classmethod
    def exact(cls, day: dt.date) -> BirthDate:
        """An exactly known date of birth."""
        return cls(day, day, DatePrecision.DAY)

    @classmethod
    def year(cls, year: int) -> BirthDate:
        """A date of birth known only to the year."""
        return cls(dt.date(year, 1, 1), dt.date(year, 12, 31), DatePrecision.YEAR)


@dataclass(frozen=True, slots=True)
class TravelDocument:
    """An identity document number with the country that issued it (ISO alpha-3, may be unknown)."""

    number: str
    country: str | None = None


@dataclass(slots=True)
class WatchlistPerson:
    """One listed person as an importer reads it from a source file.

    `names` holds the primary name first, then every alias, each in whatever script the source
    gives (Latin, Arabic, Cyrillic, Han...). `key` is the source's own identifier for the entry.
    """

    key: str
    names: list[str]
    birth_dates: list[BirthDate] = field(default_factory=list)
    nationalities: list[str] = field(default_factory=list)  # ISO 3166-1 alpha-3
    sex: str | None = None  # "F", "M" or None when the source does not say
    documents: list[TravelDocument] = field(default_factory=list)
    remarks: str = ""


@dataclass(slots=True)
class Subject:
    """The person being screened: an applicant, or a row of a bulk-screening file."""

    full_name: str
    birth_date: BirthDate | None = None
    nationality: str | None = None  # ISO alpha-3
    sex: str | None = None  # F, M, X or None
    documents: list[TravelDocument] = field(default_factory=list)
    # The names as printed in the passport's MRZ, when known: surname and given names separately
    # let the matcher weigh the family name.
    surname: str | None = None
    given_names: str | None = None
