"""PAXLST interchanges of any size, laid out as the guides' examples (for tests and bench/)."""

from __future__ import annotations

from collections.abc import Sequence


def paxlst_of(passports: Sequence[tuple[str, str]], *, date_of_birth: str = "740812") -> bytes:
    """A D02B passenger list with one traveller per (passport number, issuing country).

    Written as text, not with eta's writer, so what the reader is tested against is not
    shaped by our own code. The flight lands on 10 December 2026.
    """
    travellers = "".join(
        f"NAD+FL+++TRAVELLER:NUMBER {index}'\nATT+2++F'\nDTM+329:{date_of_birth}'\n"
        f"LOC+178+ARN'\nLOC+179+LHR'\nNAT+2+{country}'\nRFF+AVF:B{index:05d}'\n"
        f"DOC+P:110:111+{number}'\nDTM+36:320415'\nLOC+91+{country}'\n"
        for index, (number, country) in enumerate(passports)
    )
    header = (
        "UNH+PAX1+PAXLST:D:02B:UN:IATA+NA0123/261210/1030+01:F'\nBGM+745'\n"
        "TDT+20+NA123+++NA'\nLOC+125+ARN'\nDTM+189:2612101030:201'\n"
        "LOC+87+LHR'\nDTM+232:2612101215:201'\n"
    )
    message = header + travellers + f"CNT+42:{len(passports)}'\n"
    segments = message.count("'") + 1  # and the UNT itself
    return (
        "UNA:+.? '\nUNB+UNOA:4+NORDICAIR:ZZ+ETA:ZZ+261209:2330+900001'\n"
        f"{message}UNT+{segments}+PAX1'\nUNZ+1+900001'\n"
    ).encode("ascii")
