"""Checks of an applicant's passport: validity dates, MRZ check digits and MRZ-to-form agreement."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from anyascii import anyascii

from eta.countries import to_alpha3
from eta.documents import normalise_document_number
from eta.screening.mrz import (
    MRZ,
    icao_transliterate,
    parse_td3,
    split_mrz_field,
    to_mrz_field,
    validate_td3,
)

PASSPORT_EXPIRED = "passport_expired"
PASSPORT_EXPIRES_BEFORE_ARRIVAL = "passport_expires_before_arrival"
PASSPORT_ISSUED_IN_FUTURE = "passport_issue_date_in_future"
PASSPORT_EXPIRY_BEFORE_ISSUE = "passport_expiry_before_issue"
PASSPORT_VALIDITY_TOO_LONG = "passport_validity_too_long"
MRZ_UNREADABLE = "mrz_unreadable"
MRZ_INVALID = "mrz_invalid"
MRZ_CHECK_DIGIT = "mrz_check_digit"
MRZ_MISMATCH = "mrz_mismatch"

MAX_VALIDITY_YEARS = 10


@dataclass(slots=True)
class DocumentFacts:
    """What the applicant typed about themselves and their passport, plus the MRZ if given."""

    given_names: str
    surname: str
    sex: str | None
    date_of_birth: dt.date
    nationality: str
    passport_number: str
    issuing_country: str
    issue_date: dt.date | None
    expiry_date: dt.date
    intended_arrival: dt.date | None = None
    mrz: str | None = None


@dataclass(frozen=True, slots=True)
class DocumentFinding:
    """One problem with the document: a stable code, the field concerned, a sentence for people."""

    code: str
    field: str
    message: str


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _date_checks(facts: DocumentFacts, today: dt.date) -> list[DocumentFinding]:
    findings: list[DocumentFinding] = []
    expiry = facts.expiry_date
    if expiry < today:
        findings.append(
            DocumentFinding(
                PASSPORT_EXPIRED, "expiry_date", f"The passport expired on {expiry.isoformat()}"
            )
        )
    elif facts.intended_arrival is not None and expiry < facts.intended_arrival:
        findings.append(
            DocumentFinding(
                PASSPORT_EXPIRES_BEFORE_ARRIVAL,
                "expiry_date",
                f"The passport expires on {expiry.isoformat()}, before the intended arrival "
                f"on {facts.intended_arrival.isoformat()}",
            )
        )
    issue = facts.issue_date
    if issue is not None:
        if issue > today:
            findings.append(
                DocumentFinding(
                    PASSPORT_ISSUED_IN_FUTURE,
                    "issue_date",
                    f"The passport issue date {issue.isoformat()} is in the future",
                )
            )
        if expiry <= issue:
            findings.append(
                DocumentFinding(
                    PASSPORT_EXPIRY_BEFORE_ISSUE,
                    "expiry_date",
                    f"The passport expiry date {expiry.isoformat()} is not after its issue "
                    f"date {issue.isoformat()}",
                )
            )
        elif expiry > _add_years(issue, MAX_VALIDITY_YEARS):
            findings.append(
                DocumentFinding(
                    PASSPORT_VALIDITY_TOO_LONG,
                    "expiry_date",
                    f"The passport is valid from {issue.isoformat()} to {expiry.isoformat()}, "
                    f"more than {MAX_VALIDITY_YEARS} years",
                )
            )
    return findings


def _name_forms(typed: str) -> set[str]:
    # Doc 9303 lets a state write Ä as AE or A, Ñ as N; accept either spelling in the MRZ.
    return {icao_transliterate(typed), " ".join(anyascii(typed).upper().replace("-", " ").split())}


def _field_forms(surname: str, given_names: str) -> tuple[set[str], set[str]]:
    """The (surnames, given names) an MRZ may show for the typed name, each spelling as typed
    and as Doc 9303 Part 4 4.2.3 truncates it to the 39-character name field.

    Only the truncation :func:`to_mrz_field` makes counts: a surname cut shorter than the
    rules cut it, or cut although the name fits the field, is still a mismatch.
    """
    surnames, given = _name_forms(surname), _name_forms(given_names)
    shown_surnames, shown_given = set(surnames), set(given)
    for surname_form in surnames:
        for given_form in given:
            shown = split_mrz_field(to_mrz_field(surname_form, given_form))
            shown_surnames.add(shown[0])
            shown_given.add(shown[1])
    return shown_surnames, shown_given


def _mismatch(field: str, what: str, mrz_value: str, typed: str) -> DocumentFinding:
    return DocumentFinding(
        MRZ_MISMATCH,
        field,
        f"MRZ {what} {mrz_value or '(empty)'} differs from the application {typed or '(empty)'}",
    )


def _consistency(mrz: MRZ, facts: DocumentFacts) -> list[DocumentFinding]:
    findings: list[DocumentFinding] = []
    if mrz.document_number != normalise_document_number(facts.passport_number):
        findings.append(
            _mismatch(
                "passport_number", "document number", mrz.document_number, facts.passport_number
            )
        )
    for field, what, mrz_code, typed in (
        ("issuing_country", "issuing state", mrz.issuing_state, facts.issuing_country),
        ("nationality", "nationality", mrz.nationality, facts.nationality),
    ):
        if to_alpha3(mrz_code) != to_alpha3(typed):
            findings.append(_mismatch(field, what, mrz_code, typed))
    if mrz.birth_date_raw != facts.date_of_birth.strftime("%y%m%d"):
        findings.append(
            _mismatch(
                "date_of_birth",
                "date of birth",
                mrz.birth_date_raw,
                facts.date_of_birth.isoformat(),
            )
        )
    typed_sex = (facts.sex or "X").upper()
    if mrz.sex is not None and mrz.sex != typed_sex:
        findings.append(_mismatch("sex", "sex", mrz.sex, typed_sex))
    if mrz.expiry_date_raw != facts.expiry_date.strftime("%y%m%d"):
        findings.append(
            _mismatch(
                "expiry_date", "expiry date", mrz.expiry_date_raw, facts.expiry_date.isoformat()
            )
        )
    surname_forms, given_forms = _field_forms(facts.surname, facts.given_names)
    if mrz.surname not in surname_forms:
        findings.append(_mismatch("surname", "surname", mrz.surname, facts.surname))
    # A full name field (no filler at the end) may hold given names cut short per Doc 9303.
    truncated = not mrz.line1.endswith("<")
    given_ok = mrz.given_names in given_forms or (
        truncated
        and any(form.startswith(mrz.given_names.split(" ")[0]) for form in given_forms)
        and mrz.given_names != ""
    )
    if not given_ok:
        findings.append(_mismatch("given_names", "given names", mrz.given_names, facts.given_names))
    return findings


def _mrz_checks(text: str, facts: DocumentFacts, today: dt.date) -> list[DocumentFinding]:
    errors = validate_td3(text, today=today)
    structural = [e for e in errors if e.field in ("line length", "characters")]
    if structural:
        return [DocumentFinding(MRZ_UNREADABLE, "mrz", e.message) for e in structural]
    findings = [
        DocumentFinding(
            MRZ_CHECK_DIGIT if e.field.endswith("check digit") else MRZ_INVALID, "mrz", e.message
        )
        for e in errors
    ]
    findings.extend(_consistency(parse_td3(text, today=today), facts))
    return findings


def check_document(facts: DocumentFacts, today: dt.date) -> list[DocumentFinding]:
    """Every problem with the passport as the applicant described it; [] when there is none.

    Dates: expired, expiring before the intended arrival, issued in the future, valid for more
    than ten years. With an MRZ: each check digit, and that the MRZ agrees with what was typed.
    """
    findings = _date_checks(facts, today)
    if facts.mrz and facts.mrz.strip():
        findings.extend(_mrz_checks(facts.mrz, facts, today))
    return findings
