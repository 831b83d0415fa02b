"""UN/EDIFACT passenger manifests: read PAXLST (D02B, D05B), write the CUSRES answer.

A departure control system sends the flight's travellers as a PAXLST interchange, laid out as
in the WCO/IATA/ICAO API guidelines: UNA? UNB (UNG)? [UNH BGM NAD+MS? TDT LOC DTM ... then per
traveller NAD ATT DTM LOC NAT RFF (DOC DTM LOC)* ... CNT? UNT]+ (UNE)? UNZ. This module turns
that into travellers with their passports (:class:`Traveller`), which the carrier API checks
exactly as it checks JSON passengers, and writes the answers back as CUSRES. It is Flask-free:
the view reads the body and renders, :mod:`eta.carrier.service` answers.

The tokenising is pydifact's; the envelope (UNT/UNE/UNZ counts and references) and the
message's content are checked here, because a count that disagrees means segments were lost
in transit and nothing in the message can be trusted. Such faults raise
:class:`ManifestError` (one per message); a traveller whose own data is unusable (no
passport, an unknown document type, a malformed date) carries ``errors`` instead, and the
rest of the manifest is still answered.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydifact.control import Characters
from pydifact.exceptions import EDISyntaxError, ValidationError
from pydifact.parser import Parser
from pydifact.segmentcollection import Interchange as EdifactInterchange
from pydifact.segmentcollection import Message
from pydifact.segments import Segment, SegmentFactory

MIMETYPE = "application/edifact"
VERSIONS = ("D02B", "D05B")  # the directories of the WCO/IATA/ICAO PAXLST guides

# NAD party qualifiers (PAXLST code list 3035) that start a traveller, and their role.
ROLES = {
    "FL": "passenger",
    "FM": "crew",
    "DDU": "transit_passenger",
    "DDT": "transit_crew",
}
REPORTING_PARTY = "MS"  # the header's NAD: who sent the manifest, not a traveller

# Document name codes (1001) of travel documents in the guides. Only passports carry an eta
# authorisation; the others (visas, residence cards, crew certificates) are read and set aside.
PASSPORT_TYPES = frozenset({"P", "PT", "PD", "PS", "PO"})
OTHER_DOCUMENT_TYPES = frozenset(
    {"V", "A", "C", "F", "I", "IN", "IS", "M", "MA", "AC", "L", "T", "ACT", "G", "IP", "N"}
)

# Syntax identifiers (UNB 0001) and the character encodings they allow.
_ENCODINGS = {"UNOA": "ascii", "UNOB": "ascii", "UNOC": "latin-1", "UNOW": "utf-8", "UNOY": "utf-8"}

# DTM qualifiers (2005) and formats (2379) used by the guides.
_DATE_OF_BIRTH = "329"
_DEPARTURE = "189"
_ARRIVAL = "232"
_FORMATS = {"101": "%y%m%d", "102": "%Y%m%d", "201": "%y%m%d%H%M", "203": "%Y%m%d%H%M"}
_FORMAT_BY_LENGTH = {6: "%y%m%d", 8: "%Y%m%d", 10: "%y%m%d%H%M", 12: "%Y%m%d%H%M"}
_ISSUING_COUNTRY = "91"  # LOC qualifier (3227) after a DOC: the issuing state

# CUSRES application error codes (ERC 9321), as the guides' interactive answers use them.
BOARD = "0Z"
DO_NOT_BOARD = "1Z"
DATA_ERROR = "2Z"
_RESPONSE_DOCUMENT = "962"  # BGM 1001 of the answer: the API response


class ManifestError(Exception):
    """The interchange or one of its messages cannot be read; says where and why."""

    def __init__(self, reason: str, *, message: str | None = None, segment: int | None = None):
        parts = []
        if message is not None:
            parts.append(f"message {message}")
        if segment is not None:
            parts.append(f"segment {segment}")
        self.where = ", ".join(parts)  # "message PAX001, segment 12": where a reader looks
        self.reason = reason
        super().__init__(f"{self.where}: {reason}" if self.where else reason)


@dataclass
class Document:
    """A travel document of a traveller (DOC and the DTM/LOC after it)."""

    code: str
    number: str
    issuing_country: str | None = None

    @property
    def is_passport(self) -> bool:
        """Whether eta can check this document (only passports carry an authorisation)."""
        return self.code in PASSPORT_TYPES


@dataclass
class Traveller:
    """One passenger or crew member, with the data the check needs and any fault of theirs."""

    index: int  # position among the message's travellers, from 0
    role: str
    surname: str
    given_names: str
    date_of_birth: dt.date | None = None
    documents: list[Document] = field(default_factory=list)
    booking_reference: str | None = None
    # Faults that make this traveller unanswerable, by segment ("DOC": [...]).
    errors: dict[str, list[str]] = field(default_factory=dict)

    @property
    def passports(self) -> list[Document]:
        """The documents eta can check, in message order."""
        return [document for document in self.documents if document.is_passport]

    def add_error(self, where: str, text: str) -> None:
        """Record a fault of this traveller under the segment it was found in."""
        self.errors.setdefault(where, []).append(text)


@dataclass
class Manifest:
    """One PAXLST message: its flight and travellers."""

    reference: str
    version: str
    flight: str | None = None
    travel_date: dt.date | None = None
    travellers: list[Traveller] = field(default_factory=list)


@dataclass
class ManifestInterchange:
    """A PAXLST interchange: who sent it, under which reference, and its messages."""

    syntax: tuple[str, int]
    sender: str
    recipient: str
    control_reference: str
    messages: list[Manifest]

    @property
    def travellers(self) -> Iterator[tuple[Manifest, Traveller]]:
        """Every traveller with its message, in interchange order."""
        for manifest in self.messages:
            for traveller in manifest.travellers:
                yield manifest, traveller


class _Unvalidated(SegmentFactory):
    """pydifact's factory without its per-segment directory check.

    Its service-segment definitions are not installed with the package (it warns on every
    UNB), and this module checks what the answer depends on itself.
    """

    @staticmethod
    def create_segment(name: str, *elements: Any, **_: Any) -> Segment:
        if not elements:  # pydifact would only warn; a bare tag is a broken segment here
            raise EDISyntaxError(f"segment {name!r} has no data elements")
        return SegmentFactory.create_segment(name, *elements, validate=False)


# --- reading ---------------------------------------------------------------------------------


def parse(data: bytes, *, today: dt.date) -> ManifestInterchange:
    """Read a PAXLST interchange; :class:`ManifestError` says what is wrong with it.

    ``today`` resolves two-digit years: a birth date is never in the future, flight dates
    are in this century.
    """
    segments = _segments(data)
    header, body, trailer = _envelope(segments)
    syntax = _component(header, 0, 0)
    interchange = ManifestInterchange(
        syntax=(syntax, _int(_component(header, 0, 1) or "4", "UNB syntax version", 1)),
        sender=_component(header, 1, 0),
        recipient=_component(header, 2, 0),
        control_reference=_component(header, 4, 0),
        messages=[],
    )
    groups = 0
    messages_outside_groups = 0
    for kind, start, part in _units(body, first=2 if segments[0].tag == "UNA" else 1):
        if kind == "group":
            groups += 1
            interchange.messages.extend(_group(part, start, today))
        else:
            messages_outside_groups += 1
            interchange.messages.append(_message(part, start, today))
    expected = _int(_component(trailer, 0, 0), "UNZ interchange control count", len(segments))
    counted = groups or messages_outside_groups
    if expected != counted:
        raise ManifestError(
            f"UNZ counts {expected} {'groups' if groups else 'messages'}, "
            f"the interchange has {counted}",
            segment=len(segments),
        )
    if _component(trailer, 1, 0) != interchange.control_reference:
        raise ManifestError(
            "UNZ's control reference differs from UNB's: the interchange is incomplete",
            segment=len(segments),
        )
    if not interchange.messages:
        raise ManifestError("the interchange holds no PAXLST message")
    return interchange


def _segments(data: bytes) -> list[Segment]:
    """Tokenise the body with pydifact, in the encoding its UNB declares."""
    if not data.strip():
        raise ManifestError("the body is empty: send a PAXLST interchange")
    try:
        # Latin-1 reads any byte, so the UNB can be read before its encoding is known.
        segments = _tokenise(data.decode("latin-1"))
        syntax = _component(segments[1 if segments[0].tag == "UNA" else 0], 0, 0)
        encoding = _ENCODINGS.get(syntax)
        if encoding is None:
            raise ManifestError(
                f"unknown syntax identifier {syntax!r} in UNB: use UNOA, UNOB, UNOC, UNOW or UNOY"
            )
        if encoding == "ascii":
            data.decode("ascii")  # the check only: ASCII reads the same as Latin-1
        elif encoding == "utf-8" and not data.isascii():
            # Tokenising is most of a manifest's cost: only read again what reads differently.
            segments = _tokenise(data.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise ManifestError(
            f"byte {error.start + 1} is not valid {error.encoding.upper()}, "
            "which the syntax identifier in UNB requires"
        ) from None
    return segments


def _tokenise(text: str) -> list[Segment]:
    try:
        segments = list(Parser(factory=_Unvalidated()).parse(text.strip("\r\n")))
    except (
        EDISyntaxError,
        ValidationError,
        ValueError,
        IndexError,
        TypeError,
        AttributeError,
    ) as error:
        # pydifact raises several kinds for bad syntax (a lower-case tag is a ValueError).
        raise ManifestError(f"not UN/EDIFACT: {error}") from None
    if not segments:
        raise ManifestError("the body holds no segment")
    return segments


def _envelope(segments: list[Segment]) -> tuple[Segment, list[Segment], Segment]:
    """UNB, the segments inside, UNZ; the interchange must start and end with them."""
    first = 1 if segments[0].tag == "UNA" else 0
    if len(segments) < first + 2 or segments[first].tag != "UNB":
        raise ManifestError("an interchange starts with UNB (after an optional UNA)", segment=1)
    if segments[-1].tag != "UNZ":
        raise ManifestError(
            "the interchange does not end with UNZ: it was cut short", segment=len(segments)
        )
    return segments[first], segments[first + 1 : -1], segments[-1]


def _units(body: list[Segment], *, first: int) -> Iterator[tuple[str, int, list[Segment]]]:
    """Split the interchange's body into functional groups (UNG..UNE) or messages (UNH..UNT)."""
    index = 0
    while index < len(body):
        segment = body[index]
        position = first + index + 1  # 1-based, counting UNA and UNB
        closing = {"UNG": "UNE", "UNH": "UNT"}.get(segment.tag)
        if closing is None:
            raise ManifestError(
                f"{segment.tag} found where a message (UNH) or group (UNG) should start",
                segment=position,
            )
        end = index + 1
        while end < len(body) and body[end].tag != closing:
            if body[end].tag == segment.tag or (closing == "UNE" and body[end].tag == "UNZ"):
                break
            end += 1
        if end >= len(body) or body[end].tag != closing:
            raise ManifestError(
                f"{segment.tag} is not closed by {closing}", segment=first + end + 1
            )
        yield ("group" if closing == "UNE" else "message"), position, body[index : end + 1]
        index = end + 1


def _group(part: list[Segment], start: int, today: dt.date) -> list[Manifest]:
    header, trailer = part[0], part[-1]
    messages = [
        _message(segments, position, today)
        for _, position, segments in _units(part[1:-1], first=start)
    ]
    reference = _component(header, 4, 0)
    count = _int(_component(trailer, 0, 0), "UNE message count", start + len(part) - 1)
    if count != len(messages):
        raise ManifestError(
            f"UNE counts {count} messages, the group has {len(messages)}",
            segment=start + len(part) - 1,
        )
    if _component(trailer, 1, 0) != reference:
        raise ManifestError("UNE's reference differs from UNG's", segment=start + len(part) - 1)
    return messages


def _message(part: list[Segment], start: int, today: dt.date) -> Manifest:
    """One UNH..UNT message: its envelope checked, then its content read."""
    header, trailer = part[0], part[-1]
    reference = _component(header, 0, 0)
    identifier = header.elements[1] if len(header.elements) > 1 else ""
    kind = identifier if isinstance(identifier, str) else identifier[0]
    version = "".join(identifier[1:3]) if isinstance(identifier, list) else ""
    if kind != "PAXLST":
        raise ManifestError(
            f"message type {kind!r} is not PAXLST", message=reference, segment=start
        )
    if version not in VERSIONS:
        raise ManifestError(
            f"PAXLST directory {version or 'missing'} is not one of {', '.join(VERSIONS)}",
            message=reference,
            segment=start,
        )
    count = _int(_component(trailer, 0, 0), "UNT segment count", start + len(part) - 1)
    if count != len(part):
        raise ManifestError(
            f"UNT counts {count} segments, the message has {len(part)} (UNH to UNT)",
            message=reference,
            segment=start + len(part) - 1,
        )
    if _component(trailer, 1, 0) != reference:
        raise ManifestError(
            "UNT's message reference differs from UNH's",
            message=reference,
            segment=start + len(part) - 1,
        )
    manifest = Manifest(reference=reference, version=version)
    _read_content(manifest, part[1:-1], start + 1, today, single_part=_single_part(header))
    return manifest


def _single_part(header: Segment) -> bool:
    """Whether the message is the whole list (no "01:C", "02:C", ... "03:F" sequence)."""
    sequence = header.elements[3] if len(header.elements) > 3 else ""
    if not sequence:
        return True
    parts = [sequence] if isinstance(sequence, str) else sequence
    return parts[0].lstrip("0") in ("", "1") and parts[1:2] in ([], ["F"])


def _read_content(
    manifest: Manifest, segments: list[Segment], start: int, today: dt.date, *, single_part: bool
) -> None:
    """The flight (TDT, LOC, DTM) and the travellers (NAD and what follows each)."""
    traveller: Traveller | None = None
    document: Document | None = None
    departure: dt.date | None = None
    arrival: dt.date | None = None
    counts: dict[str, int] = {}
    for offset, segment in enumerate(segments):
        position = start + offset
        tag = segment.tag
        if tag == "NAD":
            qualifier = _component(segment, 0, 0)
            if qualifier == REPORTING_PARTY and traveller is None:
                continue
            role = ROLES.get(qualifier)
            if role is None:
                raise ManifestError(
                    f"NAD qualifier {qualifier!r} is not a traveller "
                    f"({', '.join(ROLES)}) nor the reporting party ({REPORTING_PARTY})",
                    message=manifest.reference,
                    segment=position,
                )
            traveller = Traveller(
                index=len(manifest.travellers),
                role=role,
                surname=_component(segment, 3, 0),
                given_names=" ".join(part for part in _components(segment, 3)[1:] if part),
            )
            manifest.travellers.append(traveller)
            document = None
        elif traveller is None:
            if tag == "TDT" and manifest.flight is None:
                manifest.flight = _component(segment, 1, 0) or None
            elif tag == "DTM" and _component(segment, 0, 0) in (_DEPARTURE, _ARRIVAL):
                try:
                    when = _date(segment, today, past=False)
                except ValueError:
                    raise ManifestError(
                        "the flight's date (DTM) is not a real date",
                        message=manifest.reference,
                        segment=position,
                    ) from None
                if _component(segment, 0, 0) == _DEPARTURE:
                    departure = departure or when
                else:
                    arrival = when  # the last arrival before the list: into this country
        elif tag == "DOC":
            document = Document(
                code=_component(segment, 0, 0).upper(), number=_component(segment, 1, 0)
            )
            traveller.documents.append(document)
            if not document.is_passport and document.code not in OTHER_DOCUMENT_TYPES:
                traveller.add_error(
                    "DOC", f"Unknown document type {document.code!r} (code list 1001)."
                )
        elif tag == "DTM" and _component(segment, 0, 0) == _DATE_OF_BIRTH:
            try:
                traveller.date_of_birth = _date(segment, today, past=True)
            except ValueError:
                traveller.add_error("DTM+329", "The date of birth is not a real date.")
        elif tag == "LOC" and document and _component(segment, 0, 0) == _ISSUING_COUNTRY:
            document.issuing_country = _component(segment, 1, 0) or None
        elif tag == "RFF" and _component(segment, 0, 0) == "AVF":
            traveller.booking_reference = _component(segment, 0, 1) or None
        elif tag == "CNT":
            counts[_component(segment, 0, 0)] = _int(
                _component(segment, 0, 1), "CNT count", position, message=manifest.reference
            )
    if single_part:
        _check_counts(manifest, counts, start + len(segments))
    manifest.travel_date = arrival or departure
    for traveller in manifest.travellers:
        _check_traveller(traveller)


def _check_counts(manifest: Manifest, counts: dict[str, int], position: int) -> None:
    """CNT+42 (passengers) and CNT+41 (crew) must match the list when they are given."""
    crew = sum(1 for traveller in manifest.travellers if traveller.role.endswith("crew"))
    actual = {"41": crew, "42": len(manifest.travellers) - crew}
    for qualifier, expected in counts.items():
        if qualifier in actual and expected != actual[qualifier]:
            who = "crew members" if qualifier == "41" else "passengers"
            raise ManifestError(
                f"CNT+{qualifier} counts {expected} {who}, the message lists {actual[qualifier]}",
                message=manifest.reference,
                segment=position,
            )


def _check_traveller(traveller: Traveller) -> None:
    """Faults that leave a traveller unanswerable: no passport, or a passport missing a part."""
    if not traveller.passports and "DOC" not in traveller.errors:
        traveller.add_error("DOC", "No passport (DOC+P): eta authorisations go with passports.")
    for passport in traveller.passports:
        if not passport.number:
            traveller.add_error("DOC", "The passport has no number.")
        if passport.issuing_country is None:
            traveller.add_error("LOC+91", "The passport has no issuing country (LOC+91).")


def _date(segment: Segment, today: dt.date, *, past: bool) -> dt.date:
    """A DTM's date; two-digit years in this century, or the last for a ``past`` date."""
    text = _component(segment, 0, 1)
    pattern = _FORMATS.get(_component(segment, 0, 2)) or _FORMAT_BY_LENGTH.get(len(text))
    if pattern is None or not text.isdigit():
        raise ValueError(text)
    moment = dt.datetime.strptime(text, pattern).date()  # %y maps 00-68 to 20xx, 69-99 to 19xx
    if "%y" in pattern:
        moment = moment.replace(year=2000 + moment.year % 100)
        if past and moment > today:
            moment = moment.replace(year=moment.year - 100)
    return moment


def _components(segment: Segment, element: int) -> list[str]:
    value = segment.elements[element] if len(segment.elements) > element else ""
    return [value] if isinstance(value, str) else list(value)


def _component(segment: Segment, element: int, component: int) -> str:
    parts = _components(segment, element)
    return parts[component].strip() if len(parts) > component else ""


def _int(text: str, what: str, position: int | None, *, message: str | None = None) -> int:
    if not text.isdigit():
        raise ManifestError(f"{what} {text!r} is not a number", message=message, segment=position)
    return int(text)


# --- the passengers to check -----------------------------------------------------------------


def passenger_items(manifest: Manifest, traveller: Traveller) -> list[dict[str, str]]:
    """The traveller's passports as JSON-API passengers, so both APIs check them alike."""
    items = []
    for passport in traveller.passports:
        item = {"passport_number": passport.number, "issuing_country": passport.issuing_country}
        if traveller.date_of_birth is not None:
            item["date_of_birth"] = traveller.date_of_birth.isoformat()
        if manifest.travel_date is not None:
            item["travel_date"] = manifest.travel_date.isoformat()
        items.append({key: value for key, value in item.items() if value is not None})
    return items


# The JSON API's field names, as the segments a PAXLST sender would look at.
SEGMENT_OF_FIELD = {
    "passport_number": "DOC",
    "issuing_country": "LOC+91",
    "date_of_birth": "DTM+329",
    "travel_date": "DTM+232",
}
# When a traveller has several passports, the answer that lets them board wins.
_PREFERENCE = {"OK": 0, "NOT_APPLICABLE": 1, "NOT_OK": 2, "ERROR": 3}


def answer(
    interchange: ManifestInterchange,
    check: Callable[[list[dict[str, str]]], list[dict[str, Any]]],
) -> list[dict[str, Any]]:
    """Every traveller's answer, in interchange order, from one call of ``check``.

    ``check`` answers JSON-API passengers (see :func:`passenger_items`) as verify-batch
    does: an answer, or ``{"result": "ERROR", "errors": {...}}``, for each, in order. Calling
    it once for the whole manifest keeps it to one database read. A traveller with several
    passports gets the best of their answers (a dual national may travel on either).
    """
    items: list[dict[str, str]] = []
    slots: list[tuple[Manifest, Traveller, range]] = []
    for manifest, traveller in interchange.travellers:
        first = len(items)
        if not traveller.errors:
            items.extend(passenger_items(manifest, traveller))
        slots.append((manifest, traveller, range(first, len(items))))
    answers = check(items) if items else []
    results = []
    for manifest, traveller, indexes in slots:
        passports = traveller.passports
        if traveller.errors or not indexes:
            document = passports[0] if passports else None
            body: dict[str, Any] = {"result": "ERROR", "errors": traveller.errors}
        else:
            ranked = sorted(
                zip(passports, (answers[index] for index in indexes), strict=True),
                key=lambda pair: _PREFERENCE.get(pair[1]["result"], 3),
            )
            document, body = ranked[0]
            if body["result"] == "ERROR":
                body = {"result": "ERROR", "errors": _as_segments(body["errors"])}
        results.append(_result(manifest, traveller, document, body))
    return results


def _as_segments(errors: dict[str, list[str]]) -> dict[str, list[str]]:
    return {SEGMENT_OF_FIELD.get(key, key): messages for key, messages in errors.items()}


def _result(
    manifest: Manifest, traveller: Traveller, document: Document | None, body: dict[str, Any]
) -> dict[str, Any]:
    """One entry of the JSON answer: who (by position, surname, document) and the answer.

    The record's names are left out: the carrier compares the manifest's with the passport.
    """
    entry: dict[str, Any] = {
        "message": manifest.reference,
        "passenger": traveller.index,
        "role": traveller.role,
        "surname": traveller.surname,
        "document_number": document.number if document is not None else None,
    }
    entry.update(
        (key, value) for key, value in body.items() if key not in ("surname", "given_names")
    )
    return entry


# --- writing the answer ----------------------------------------------------------------------


def write_cusres(
    interchange: ManifestInterchange, results: Sequence[dict[str, Any]], *, now: dt.datetime
) -> str:
    """The answers as a CUSRES interchange: one message per PAXLST message, one ERP a traveller.

    Addressed back to the sender, under the manifest's control reference. Per traveller:
    ``ERP+2``, ``RFF+TN:<message>:<passenger index>``, ``ERC+<0Z board | 1Z do not board |
    2Z data error>`` and ``FTX+AAP+++<RESULT>:<reason>`` (the same words as the JSON).
    """
    answer = EdifactInterchange(
        sender=interchange.recipient or "ETA",
        recipient=interchange.sender,
        control_reference=interchange.control_reference,
        # UNOC (Latin-1): the reasons have underscores, which UNOA and UNOB lack.
        syntax_identifier=("UNOC", 4),
        timestamp=now,
        characters=Characters(),
    )
    answer.has_una_segment = True
    by_message: dict[str, list[dict[str, Any]]] = {}
    for entry in results:
        by_message.setdefault(entry["message"], []).append(entry)
    for number, manifest in enumerate(interchange.messages, start=1):
        message = Message(str(number), ["CUSRES", "D", "05B", "UN", "IATA"])
        message.add_segment(Segment("BGM", _RESPONSE_DOCUMENT))
        message.add_segment(Segment("RFF", ["TN", manifest.reference]))
        if manifest.flight:
            message.add_segment(Segment("TDT", "20", manifest.flight))
        for entry in by_message.get(manifest.reference, []):
            message.add_segment(Segment("ERP", "2"))
            message.add_segment(Segment("RFF", ["TN", manifest.reference, str(entry["passenger"])]))
            message.add_segment(Segment("ERC", _error_code(entry["result"])))
            reason = entry.get("reason") or _first_error(entry.get("errors") or {})
            message.add_segment(Segment("FTX", "AAP", "", "", [entry["result"], _text(reason)]))
        answer.add_message(message)
    return answer.serialize()


def _error_code(result_word: str) -> str:
    if result_word in ("OK", "NOT_APPLICABLE"):
        return BOARD
    if result_word == "NOT_OK":
        return DO_NOT_BOARD
    return DATA_ERROR


def _first_error(errors: dict[str, list[str]]) -> str:
    for where, messages in sorted(errors.items()):
        return f"{where} {messages[0]}"
    return ""


def _text(text: str) -> str:
    """Free text as UNOC can carry it (Latin-1, printable), at most one FTX component long."""
    return "".join(c for c in text if c.isprintable() and ord(c) < 256)[:512]
