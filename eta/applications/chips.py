"""An application's passport chip at submission: readable files, and DG1 agreeing with the form.

The API's `chip` object carries EF.SOD, DG1 and DG2 in base64 (SPEC §6). Here they are only
read: each must be the file it claims to be, and the MRZ in DG1 must say what the application
says (a typo the traveller can fix is a field error under `errors["chip.dg1"]`, before anything
is saved). Whether the state signed them is screening's question (eta/screening/chip.py): a
failed signature refers the application to an officer, it is never a form error.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _

from eta.chip import lds
from eta.chip.settings import ChipSettings
from eta.chip.store import ChipFiles, save_chip
from eta.countries import to_alpha3
from eta.identity.sealing import parse_key
from eta.models.base import SessionLike
from eta.screening.mrz import is_mrz_form_of, parse_td3, split_td3_lines, validate_td3

FIELD = "chip"
FILES = ("sod", "dg1", "dg2")


@dataclass(frozen=True, slots=True)
class Chip:
    """Chip files that were read, and the key to seal them with."""

    files: ChipFiles
    key: bytes


def _decode(sent: object, max_bytes: int) -> bytes | None:
    """The bytes of one base64 file, or None when it is not base64 or too large."""
    if not isinstance(sent, str) or not sent.strip():
        return None
    compact = "".join(sent.split())
    if len(compact) > (max_bytes + 2) // 3 * 4:
        return None
    try:
        raw = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if 0 < len(raw) <= max_bytes else None


_UNREADABLE = {
    "sod": _("The chip's EF.SOD could not be read: read the passport's chip again"),
    "dg1": _("The chip's DG1 could not be read: read the passport's chip again"),
    "dg2": _("The chip's DG2 could not be read: read the passport's chip again"),
}


def _read(files: dict[str, bytes], errors: dict[str, list[Any]]) -> str | None:
    """Each file read as what it claims to be; the MRZ of DG1 (None if it failed)."""
    readers = {"sod": lds.read_sod, "dg1": lds.read_mrz, "dg2": lds.read_face}
    mrz = None
    for name, reader in readers.items():
        try:
            value = reader(files[name])
        except lds.ChipDataError:
            errors.setdefault(f"{FIELD}.{name}", []).append(_UNREADABLE[name])
            continue
        if name == "dg1":
            mrz = str(value)
    return mrz


def _mismatches(text: str, data: dict[str, Any]) -> list[Any]:
    """What the chip's MRZ says otherwise than the application (labels in the user's words)."""
    lines = "\n".join(split_td3_lines(text))
    if validate_td3(lines):
        return [None]  # not a valid MRZ at all
    mrz = parse_td3(lines)
    comparisons: list[tuple[Any, Any, Any]] = [
        (_("passport number"), mrz.document_number, data.get("passport_number")),
        (_("issuing country"), to_alpha3(mrz.issuing_state), data.get("passport_issuing_country")),
        (_("nationality"), to_alpha3(mrz.nationality), data.get("nationality")),
        (_("date of birth"), mrz.birth_date, data.get("date_of_birth")),
        (_("sex"), mrz.sex, data.get("sex")),
        (_("expiry date"), mrz.expiry_date, data.get("passport_expiry_date")),
    ]
    wrong = [label for label, on_chip, typed in comparisons if on_chip != typed]
    surname, given = data.get("surname_mrz") or "", data.get("given_names_mrz") or ""
    # Each name on its own, the other taken as typed; a long name may be cut short on the chip
    # as in the printed MRZ (ICAO 9303 Part 4 4.2.3).
    if not is_mrz_form_of((mrz.surname, given), surname, given):
        wrong.append(_("surname"))
    if not is_mrz_form_of((surname, mrz.given_names), surname, given):
        wrong.append(_("given names"))
    return wrong


def accept(
    document: dict[str, Any], data: dict[str, Any], errors: dict[str, list[Any]]
) -> Chip | None:
    """The document's `chip`, read and compared with the validated `data`; errors otherwise.

    None when there is no chip or it has errors (then in `errors["chip..."]`). The comparison
    with the application runs only once the rest of it validates (`data` is then complete).
    """
    sent = document.get(FIELD)
    if sent is None:
        return None
    config = current_app.config
    if not config.get("ETA_PHOTO_KEY"):
        errors.setdefault(FIELD, []).append(
            _("This service does not take passport chip data: send the application without it")
        )
        return None
    if not isinstance(sent, dict):
        errors.setdefault(FIELD, []).append(
            _("Send the passport chip as an object with sod, dg1 and dg2 in base64")
        )
        return None
    settings = ChipSettings.from_config(config)
    files: dict[str, bytes] = {}
    for name in FILES:
        raw = _decode(sent.get(name), settings.max_bytes)
        if raw is None:
            errors.setdefault(f"{FIELD}.{name}", []).append(
                _(
                    "Send the chip's %(file)s in base64, at most %(kilobytes)s KB",
                    file=name.upper(),
                    kilobytes=settings.max_bytes // 1024,
                )
            )
        else:
            files[name] = raw
    if len(files) < len(FILES):
        return None
    mrz = _read(files, errors)
    if mrz is None or errors:
        return None
    for label in _mismatches(mrz, data):
        errors.setdefault(f"{FIELD}.dg1", []).append(
            _("The passport chip's machine-readable zone is not valid: read the chip again")
            if label is None
            else _(
                "The %(field)s on the passport chip does not match the one you entered",
                field=label,
            )
        )
    if errors:
        return None
    key = parse_key(config["ETA_PHOTO_KEY"])
    return Chip(ChipFiles(files["sod"], files["dg1"], files["dg2"]), key)


def save(session: SessionLike, application_id: int, chip: Chip) -> None:
    """Store the chip files of a new application in the caller's transaction."""
    save_chip(session, application_id, chip.files, chip.key)
