"""Readers that stream watchlist files (UN XML, OFAC SDN CSV, simple CSV) into WatchlistPerson."""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from eta.countries import to_alpha3
from eta.screening.types import BirthDate, DatePrecision, TravelDocument, WatchlistPerson

Source = str | Path | IO[str]

_CIRCA_YEARS = 2  # "circa 1962": OFAC and UN mean give or take a couple of years
_NOT_A_COUNTRY = frozenset({"", "na", "n/a", "unknown", "none"})


class ImportFormatError(ValueError):
    """A watchlist file row that cannot be read; the message names the line."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line


def _country(text: str | None) -> str | None:
    if text is None:
        return None
    cleaned = text.strip().rstrip(".").strip()
    if cleaned.casefold() in _NOT_A_COUNTRY:
        return None
    return to_alpha3(cleaned)


def _add_unique(items: list[str], value: str | None) -> None:
    if value and value not in items:
        items.append(value)


def _year_range(first: int, last: int, precision: DatePrecision) -> BirthDate:
    return BirthDate(dt.date(first, 1, 1), dt.date(last, 12, 31), precision)


def _circa(year: int) -> BirthDate:
    return _year_range(year - _CIRCA_YEARS, year + _CIRCA_YEARS, DatePrecision.CIRCA)


def _month(year: int, month: int) -> BirthDate:
    last_day = calendar.monthrange(year, month)[1]
    return BirthDate(dt.date(year, month, 1), dt.date(year, month, last_day), DatePrecision.MONTH)


# --- UN consolidated list ------------------------------------------------------------------------


def _text(element: ET.Element | None) -> str:
    if element is None or element.text is None:
        return ""
    return " ".join(element.text.split())


def _un_birth_date(element: ET.Element) -> BirthDate | None:
    kind = _text(element.find("TYPE_OF_DATE")).upper()
    date_text = _text(element.find("DATE"))
    year_text = _text(element.find("YEAR"))
    from_year = _text(element.find("FROM_YEAR"))
    to_year = _text(element.find("TO_YEAR"))
    try:
        if kind == "BETWEEN" and from_year:
            return _year_range(int(from_year), int(to_year or from_year), DatePrecision.RANGE)
        if date_text:
            day = dt.date.fromisoformat(date_text[:10])
            if kind == "APPROXIMATELY":
                return _circa(day.year)
            return BirthDate.exact(day)
        if year_text:
            if kind == "APPROXIMATELY":
                return _circa(int(year_text))
            return BirthDate.year(int(year_text))
    except ValueError:
        return None
    return None


def _un_person(element: ET.Element) -> WatchlistPerson:
    parts = [
        _text(element.find(tag))
        for tag in ("FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME")
    ]
    names: list[str] = []
    _add_unique(names, " ".join(p for p in parts if p))
    _add_unique(names, _text(element.find("NAME_ORIGINAL_SCRIPT")))
    for alias in element.iter("INDIVIDUAL_ALIAS"):
        # Both "Good" and "Low" quality aliases are kept: a low-quality alias is still how
        # the person may travel, and the matcher weighs names, not the list's confidence.
        for alias_name in _text(alias.find("ALIAS_NAME")).split(";"):
            # Aliases are often "Surname, Given" ("Ul-Haq, Dr. Amin"); store natural order.
            _add_unique(
                names,
                natural_order(alias_name) if alias_name.count(",") == 1 else alias_name.strip(),
            )
    birth_dates: list[BirthDate] = []
    for dob in element.iter("INDIVIDUAL_DATE_OF_BIRTH"):
        parsed = _un_birth_date(dob)
        if parsed is not None and parsed not in birth_dates:
            birth_dates.append(parsed)
    nationalities: list[str] = []
    for value in element.findall("NATIONALITY/VALUE"):
        _add_unique(nationalities, _country(_text(value)))
    documents: list[TravelDocument] = []
    for document in element.iter("INDIVIDUAL_DOCUMENT"):
        kind = _text(document.find("TYPE_OF_DOCUMENT")).casefold()
        number = _text(document.find("NUMBER"))
        if number and ("passport" in kind or "pasaporte" in kind or "passeport" in kind):
            country = _country(_text(document.find("ISSUING_COUNTRY"))) or _country(
                _text(document.find("COUNTRY_OF_ISSUE"))
            )
            documents.append(TravelDocument(number, country))
    gender = _text(element.find("GENDER")).casefold()
    key = _text(element.find("REFERENCE_NUMBER")) or _text(element.find("DATAID"))
    return WatchlistPerson(
        key=key,
        names=names,
        birth_dates=birth_dates,
        nationalities=nationalities,
        sex={"male": "M", "female": "F"}.get(gender),
        documents=documents,
        remarks=_text(element.find("COMMENTS1")),
    )


def parse_un_xml(path: Source) -> Iterator[WatchlistPerson]:
    """Stream the individuals of the UN Security Council consolidated list XML.

    Keys are the UN reference numbers (e.g. "CDi.001"), the DATAID when one is missing. Entities
    are skipped. Memory stays flat: each INDIVIDUAL element is cleared once read.
    """
    source = path if not isinstance(path, Path) else str(path)
    # ElementTree's parser (expat) never fetches external entities or DTDs.
    for _event, element in ET.iterparse(source, events=("end",)):  # noqa: S314
        if element.tag == "INDIVIDUAL":
            yield _un_person(element)
            element.clear()
        elif element.tag == "ENTITY":
            element.clear()


# --- OFAC SDN legacy CSV -------------------------------------------------------------------------

_OFAC_EMPTY = "-0-"
_MONTHS = {name.casefold(): index for index, name in enumerate(calendar.month_abbr) if name}
_DAY_MONTH_YEAR = re.compile(r"(\d{1,2}) ([A-Za-z]{3})[a-z]* (\d{4})")
_MONTH_YEAR = re.compile(r"([A-Za-z]{3})[a-z]* (\d{4})")
_YEAR = re.compile(r"(\d{4})")
_DOCUMENT = re.compile(
    r"^(?:alt\. )?(?:[A-Z][\w.]* )*Passport "
    r"(?P<number>(?!issued|expires)[A-Z0-9][A-Za-z0-9\-/ ]*?)\s*"
    r"(?:\((?P<country>[^)]*)\))?(?:\s+(?:issued|expires|in)\b.*)?$"
)
_YEAR_SPAN = re.compile(r"(\d{4})\s*-\s*(\d{4})")
_ALIAS = re.compile(r"^(?P<kind>[afn])\.k\.a\. '(?P<name>.*)'$")


def _clean(value: str) -> str:
    value = value.strip()
    return "" if value == _OFAC_EMPTY else value


def natural_order(name: str) -> str:
    """ "SURNAME, Given Names" as "Given Names SURNAME"; a suffix after a second comma is kept last.

    "DELOS REYES, Feliciano Semborio, Jr." → "Feliciano Semborio DELOS REYES Jr.".
    """
    parts = [p.strip() for p in name.split(",")]
    if len(parts) < 2 or not parts[1]:
        return name.strip()
    return " ".join(p for p in (parts[1], parts[0], *parts[2:]) if p)


def _ofac_single_date(text: str) -> BirthDate | None:
    text = text.strip()
    try:
        if match := _DAY_MONTH_YEAR.fullmatch(text):
            month = _MONTHS.get(match.group(2).casefold())
            if month is None:
                return None
            day = dt.date(int(match.group(3)), month, int(match.group(1)))
            return BirthDate.exact(day)
        if match := _MONTH_YEAR.fullmatch(text):
            month = _MONTHS.get(match.group(1).casefold())
            return _month(int(match.group(2)), month) if month else None
        if match := _YEAR.fullmatch(text):
            return BirthDate.year(int(match.group(1)))
    except ValueError:
        return None
    return None


def parse_ofac_date_of_birth(text: str) -> BirthDate | None:
    """An OFAC remark DOB: "12 Aug 1974", "Aug 1974", "1974", "circa 1962", "1955 to 1960"."""
    text = text.strip().rstrip(".").strip()
    if text.casefold().startswith("circa "):
        inner = parse_ofac_date_of_birth(text[6:])
        if inner is None:
            return None
        if inner.precision is DatePrecision.RANGE:
            return _year_range(
                inner.earliest.year - _CIRCA_YEARS,
                inner.latest.year + _CIRCA_YEARS,
                DatePrecision.CIRCA,
            )
        return _circa(inner.earliest.year)
    if span := _YEAR_SPAN.fullmatch(text):
        first_year, last_year = int(span.group(1)), int(span.group(2))
        if first_year <= last_year:
            return _year_range(first_year, last_year, DatePrecision.RANGE)
        return None
    if " to " in text:
        first_text, _, last_text = text.partition(" to ")
        first = _ofac_single_date(first_text)
        last = _ofac_single_date(last_text)
        if first is None or last is None or last.latest < first.earliest:
            return None
        return BirthDate(first.earliest, last.latest, DatePrecision.RANGE)
    return _ofac_single_date(text)


def _ofac_person(row: list[str]) -> WatchlistPerson:
    key = row[0].strip()
    names = [natural_order(row[1])]
    remarks = _clean(row[11]) if len(row) > 11 else ""
    person = WatchlistPerson(key=key, names=names, remarks=remarks)
    for raw_part in remarks.split(";"):
        part = raw_part.strip()
        bare = part.rstrip(".").strip()
        if alias := _ALIAS.match(bare.rstrip(")").strip()):
            # "n.k.a." (now known as) is the current name, as strong as any a.k.a.; OFAC
            # individuals in this file only use a.k.a., but keep all three forms.
            _add_unique(person.names, natural_order(alias.group("name").strip("'").strip()))
        elif bare.startswith(("DOB ", "alt. DOB ")):
            birth_date = parse_ofac_date_of_birth(bare.split("DOB ", 1)[1])
            if birth_date is not None and birth_date not in person.birth_dates:
                person.birth_dates.append(birth_date)
        elif bare.startswith(("nationality ", "citizen ")):
            _add_unique(person.nationalities, _country(bare.split(" ", 1)[1]))
        elif "Passport " in bare:
            document = _DOCUMENT.match(bare)
            if document and any(c.isdigit() for c in document.group("number")):
                country = _country(document.group("country"))
                number = document.group("number").strip()
                if number:
                    person.documents.append(TravelDocument(number, country))
        elif bare.startswith("Gender "):
            person.sex = {"male": "M", "female": "F"}.get(bare[7:].strip().casefold())
    return person


def _open_text(path: Source) -> tuple[IO[str], bool]:
    if isinstance(path, str | Path):
        return open(path, encoding="utf-8", newline=""), True
    return path, False


def parse_ofac_csv(path: Source) -> Iterator[WatchlistPerson]:
    """Stream the individuals of OFAC's SDN legacy CSV (sdn.csv, no header row).

    DOBs, nationalities ("nationality", "citizen"), passports, gender and a.k.a. aliases come
    from the remarks column. Keys are the ent_num. Vessels, aircraft and entities are skipped.
    """
    handle, owned = _open_text(path)
    try:
        for row in csv.reader(handle):
            if len(row) < 3 or row[2].strip().casefold() != "individual":
                # The legacy file ends with a DOS end-of-file byte on a row of its own.
                continue
            yield _ofac_person(row)
    finally:
        if owned:
            handle.close()


# --- Simple national-list CSV --------------------------------------------------------------------

SIMPLE_CSV_COLUMNS = (
    "id",
    "full_name",
    "aliases",
    "date_of_birth",
    "nationality",
    "sex",
    "passport_number",
)


def parse_date_of_birth(text: str) -> BirthDate:
    """A date of birth typed as YYYY or YYYY-MM-DD; raises ValueError otherwise."""
    text = text.strip()
    if re.fullmatch(r"\d{4}", text):
        return BirthDate.year(int(text))
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return BirthDate.exact(dt.date.fromisoformat(text))
    raise ValueError(f"date of birth {text!r} is not YYYY or YYYY-MM-DD")


def parse_simple_csv(path: Source) -> Iterator[WatchlistPerson]:
    """Stream a national list in the simple CSV layout (see SIMPLE_CSV_COLUMNS; header required).

    Only id and full_name are required. Raises ImportFormatError naming the line of a bad row.
    """
    handle, owned = _open_text(path)
    try:
        reader = csv.DictReader(handle)
        header = [h.strip() for h in reader.fieldnames or []]
        missing = [c for c in ("id", "full_name") if c not in header]
        if missing:
            raise ImportFormatError(1, f"header lacks column(s) {', '.join(missing)}")
        reader.fieldnames = header
        for row in reader:
            line = reader.line_num
            yield _simple_person(row, line)
    finally:
        if owned:
            handle.close()


def _simple_person(row: dict[str | None, str | None], line: int) -> WatchlistPerson:
    if None in row:
        raise ImportFormatError(line, "more fields than the header has columns")

    def value(column: str) -> str:
        return (row.get(column) or "").strip()

    key, full_name = value("id"), value("full_name")
    if not key:
        raise ImportFormatError(line, "id is empty")
    if not full_name:
        raise ImportFormatError(line, "full_name is empty")
    names = [full_name]
    for alias in value("aliases").split(";"):
        _add_unique(names, alias.strip())
    person = WatchlistPerson(key=key, names=names)
    if dob := value("date_of_birth"):
        try:
            person.birth_dates.append(parse_date_of_birth(dob))
        except ValueError as error:
            raise ImportFormatError(line, str(error)) from None
    if nationality := value("nationality"):
        code = _country(nationality)
        if code is None:
            raise ImportFormatError(line, f"nationality {nationality!r} is not a known country")
        person.nationalities.append(code)
    if sex := value("sex").upper():
        if sex not in ("F", "M", "X"):
            raise ImportFormatError(line, f"sex {sex!r} is not F, M or X")
        person.sex = sex if sex != "X" else None
    if passport := value("passport_number"):
        person.documents.append(
            TravelDocument(passport, person.nationalities[0] if person.nationalities else None)
        )
    return person
