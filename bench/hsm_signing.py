"""Signing throughput on one core: the file key backend against PKCS#11 (SoftHSM2).

Run: `.venv/bin/python bench/hsm_signing.py [--seconds 2]` (needs Debian's softhsm2). Makes a
SoftHSM2 token in a temporary directory, keyrings of both backends, and measures per second:
ES256 authorisation tokens issued (eta.issuance.tokens.issue, what the issuing job does), bare
ES256 JWS signatures, and Ed25519 audit checkpoints signed as C2SP notes. SoftHSM2 is a
software token in this process: a network HSM adds its round trip to every signature.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

# Runnable from a checkout without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eta.audit.checkpoints import checkpoint_text, sign_note
from eta.issuance.backends import open_keyring
from eta.issuance.keys import KeyPurpose, Keyring, sign_jws
from eta.issuance.tokens import AuthorisationClaims, issue, new_jti, validity_end

ISSUER = "https://eta.travel-authorisation.example.gov"
MODULE = os.environ.get("ETA_PKCS11_MODULE") or "/usr/lib/softhsm/libsofthsm2.so"
ORIGIN = "eta.example.gov/audit"


def _rate(operation: Callable[[int], object], seconds: float) -> float:
    done, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        operation(done)
        done += 1
    return done / elapsed


def _token(directory: Path) -> dict[str, str]:
    util = shutil.which("softhsm2-util")
    if util is None:
        sys.exit("softhsm2-util not found: apt-get install softhsm2")
    (directory / "tokens").mkdir()
    conf = directory / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {directory / 'tokens'}\nlog.level = ERROR\n")
    os.environ["SOFTHSM2_CONF"] = str(conf)  # read when the library is first initialised
    subprocess.run(
        [util, "--init-token", "--free", "--label", "bench", "--pin", "1234", "--so-pin", "5678"],
        check=True,
        capture_output=True,
    )
    return {
        "ETA_KEYS_BACKEND": "pkcs11",
        "ETA_PKCS11_MODULE": MODULE,
        "ETA_PKCS11_TOKEN_LABEL": "bench",
        "ETA_PKCS11_PIN": "1234",
    }


def _measure(tokens: Keyring, audit: Keyring, seconds: float) -> dict[str, float]:
    now = datetime.now(UTC)
    signing_key, audit_key = tokens.active(), audit.active().private_key

    def claims(number: int) -> AuthorisationClaims:
        return AuthorisationClaims(
            reference=f"ETA-{number:04X}-EFGH-JKLM",
            jti=new_jti(),
            issued_at=now,
            valid_from=now,
            valid_until=validity_end(now, date(2032, 4, 15)),
            passport_number="L898902C3",
            issuing_country="SWE",
            surname_mrz="ERIKSSON",
            given_names_mrz="ANNA MARIA",
            date_of_birth=date(1974, 8, 12),
        )

    root = bytes(32)
    return {
        "tokens issued (ES256)": _rate(lambda n: issue(claims(n), signing_key, ISSUER), seconds),
        "bare JWS signed (ES256)": _rate(
            lambda n: sign_jws(b'{"n":%d}' % n, signing_key, "bench+jwt"), seconds
        ),
        "checkpoints signed (Ed25519)": _rate(
            lambda n: sign_note(checkpoint_text(ORIGIN, n + 1, root, now), ORIGIN, audit_key),
            seconds,
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    seconds = parser.parse_args().seconds
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, as stated

    with tempfile.TemporaryDirectory() as name:
        directory = Path(name)
        hsm = _token(directory)
        results = {}
        for backend, config in (("file", {}), ("pkcs11", hsm)):
            rings = [
                open_keyring(config, directory / backend / purpose.value, purpose)
                for purpose in (KeyPurpose.TOKENS, KeyPurpose.AUDIT)
            ]
            for ring in rings:
                ring.generate()
            _measure(*rings, seconds=0.2)  # warm up (first C_Sign finds the key object)
            results[backend] = _measure(*rings, seconds=seconds)

    print(f"{'operation (one core)':<30} {'file /s':>10} {'pkcs11 /s':>10} {'ratio':>7}")
    for operation, rate in results["file"].items():
        hsm_rate = results["pkcs11"][operation]
        print(f"{operation:<30} {rate:>10.0f} {hsm_rate:>10.0f} {hsm_rate / rate:>7.2f}")


if __name__ == "__main__":
    main()
