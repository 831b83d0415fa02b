"""Issuance throughput on one core: tokens signed, verified, QR PNGs, PDFs, signed PDFs a second.

Run: `.venv/bin/python bench/issuance.py [--seconds 2]`. Each QR and PDF uses a fresh token so
the QR encoder's small cache does not flatter the numbers.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

# Runnable from a checkout without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import qrcode
import qrcode.util

from eta.issuance.keys import Keyring
from eta.issuance.pdf import AuthorisationDocument, authorisation_pdf
from eta.issuance.pdfsign import load_identity, make_development_chain, sign_pdf
from eta.issuance.qr import encode, qr_png
from eta.issuance.revocations import revocation_hash
from eta.issuance.tokens import (
    AuthorisationClaims,
    issue,
    new_jti,
    validity_end,
    verify,
)

ISSUER = "https://eta.travel-authorisation.example.gov"


def _rate(operation: Callable[[int], object], seconds: float) -> tuple[int, float]:
    done, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        operation(done)
        done += 1
    return done, done / elapsed


def _library_default_symbol(token: str) -> object:
    """The symbol as qrcode makes it by default (version search, eight masks tried): the
    baseline that eta.issuance.qr's computed version and fixed mask are measured against."""
    code = qrcode.QRCode(version=None, error_correction=qrcode.ERROR_CORRECT_M, border=4)
    code.add_data(qrcode.util.QRData(token.encode(), mode=qrcode.util.MODE_8BIT_BYTE), optimize=0)
    code.make(fit=True)
    return code.get_matrix()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    seconds = parser.parse_args().seconds
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, as stated

    with tempfile.TemporaryDirectory() as directory:
        keyring = Keyring.load(Path(directory) / "keys")
        keyring.generate()
        signing_key = keyring.active()
        keys = keyring.key_set()
        now = datetime.now(UTC)

        def claims(number: int) -> AuthorisationClaims:
            return AuthorisationClaims(
                reference=f"ETA-{number:04X}-EFGH-JKLM",
                jti=new_jti(),
                issued_at=now,
                valid_from=now,
                valid_until=validity_end(now, date(2032, 4, 15)),
                passport_number="L898902C3",
                issuing_country="SWE",
                surname_mrz="WOLFESCHLEGELSTEINHAUSEN",
                given_names_mrz="HUBERT BLAINE",
                date_of_birth=date(1974, 8, 12),
            )

        token = issue(claims(0), signing_key, ISSUER)
        revoked = {revocation_hash(new_jti()) for _ in range(50_000)}

        def document(number: int) -> AuthorisationDocument:
            return AuthorisationDocument(
                service_name="Example Border Agency",
                reference=f"ETA-{number:04X}-EFGH-JKLM",
                surname_mrz="WOLFESCHLEGELSTEINHAUSEN",
                given_names_mrz="HUBERT BLAINE",
                surname="Вольфешлегельштайнхаузен",
                given_names="Χούμπερτ Μπλέιν",
                date_of_birth=date(1974, 8, 12),
                passport_number="L898902C3",
                issuing_country="Sweden",
                valid_from=now,
                valid_until=now,
                token=issue(claims(number), signing_key, ISSUER),
                verify_url=f"{ISSUER}/verify",
            )

        authorisation_pdf(document(0))  # font registration is a one-off cost
        chain = make_development_chain(Path(directory) / "pdf", "Example Border Agency")
        identity = load_identity(chain.certificate, chain.key, chain.chain)
        rendered = authorisation_pdf(document(1))
        rows = [
            ("tokens signed", *_rate(lambda n: issue(claims(n), signing_key, ISSUER), seconds)),
            (
                "verifications (50k revoked)",
                *_rate(lambda n: verify(token, keys, revoked, now, ISSUER), seconds),
            ),
            ("QR PNGs", *_rate(lambda n: qr_png(issue(claims(n), signing_key, ISSUER)), seconds)),
            ("PDFs", *_rate(lambda n: authorisation_pdf(document(n)), seconds)),
            (
                "PAdES signatures (ECDSA P-256)",
                *_rate(lambda n: sign_pdf(rendered, identity), seconds),
            ),
            (
                "signed PDFs (render + sign)",
                *_rate(lambda n: sign_pdf(authorisation_pdf(document(n)), identity), seconds),
            ),
            (
                "QR symbols, library mask search",
                *_rate(
                    lambda n: _library_default_symbol(issue(claims(n), signing_key, ISSUER)),
                    seconds,
                ),
            ),
        ]
        version = encode(token).version

    print(f"token: {len(token)} characters, QR version {version}; one core, {seconds:g} s each")
    print(f"{'operation':<30} {'count':>8} {'per second':>12}")
    for name, count, rate in rows:
        print(f"{name:<30} {count:>8} {rate:>12.1f}")


if __name__ == "__main__":
    main()
